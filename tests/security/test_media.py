"""Media (issue 11, Must show 3): a customer's HTML or SVG, whatever type it claims, is never shown
inline from the app's origin; real JPEG/PNG/PDF are; no media URL works for another account,
for nobody, after it expires, for another message, or when forged with the old default key; an
upload over the limit stops being read soon after the limit."""

from __future__ import annotations

import base64
import io
import time

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import Session, select

from ctreflex import db, routes
from ctreflex.api import build_api
from ctreflex.api.media import UploadSizeLimit
from ctreflex.models import Contact, Conversation, MediaFile, Message, User
from ctreflex.services import media, sms
from ctreflex.simulator import samples
from ctreflex.whatsapp.limits import MB, MediaRuleError
from tests.api.conftest import wait_for
from tests.security.conftest import open_session

HTML = b"<!doctype html><html><body><script>fetch('/api/me')</script>hi</body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.cookie)</script></svg>"
)
WA_MARIA = "12125550142"
SMS_MARIA = "+12125550142"
OLD_DEFAULT_KEY = "dev-only-secret-change-me"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sign_in(live_api, email: str = "agent@demo.test", password: str = "demo-agent-1") -> None:
    with Session(db.get_engine()) as s:
        live_api.http.cookies.set(routes.SESSION_COOKIE, open_session(s, email, password))


def _assert_never_a_page(response) -> None:
    """Not served, or served as a download that no browser renders or runs."""
    if response.status_code != 200:
        assert response.status_code in (404, 409, 410), response.status_code
        return
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"
    ctype = response.headers["content-type"]
    assert "html" not in ctype and "svg" not in ctype and "xml" not in ctype


# --------------------------------------------------------------- inbound, end to end over HTTP


def _wa_message(wamid: str) -> Message | None:
    with Session(db.get_engine()) as s:
        return s.exec(select(Message).where(Message.provider_message_id == wamid)).first()


def _settled(message_id: int):
    """(message, its file) once the file is fetched (or the message has no file)."""
    with Session(db.get_engine()) as s:
        message = s.get(Message, message_id)
        if message.media_id is None:
            return message, None
        mf = s.get(MediaFile, message.media_id)
        if mf.state == "pending":
            return None
        # the file and its message change in one commit, but the message was read before the
        # file: read it again so both come from after that commit (PostgreSQL reads committed)
        s.refresh(message)
        return message, mf


HOSTILE_WHATSAPP = [
    ("image", "image/jpeg", HTML),
    ("image", "image/svg+xml", SVG),
    ("image", "text/html", HTML),
    ("image", "image/png", SVG),
    ("video", "video/mp4", HTML),
    ("document", "application/pdf", HTML),
    ("document", "text/html", HTML),
    ("document", "image/svg+xml", SVG),
]


def test_whatsapp_html_and_svg_never_served_inline(live_api):
    _sign_in(live_api)
    results = []
    for kind, declared, data in HOSTILE_WHATSAPP:
        r = live_api.control(
            "POST",
            f"/customers/{WA_MARIA}/messages",
            json={
                "type": kind,
                "media_base64": _b64(data),
                "mime_type": declared,
                "caption": "look",
                "filename": "x.html",
            },
        )
        assert r.status_code == 200, r.text
        message = wait_for(lambda wamid=r.json()["wamid"]: _wa_message(wamid), timeout=15)
        results.append((kind, declared, *wait_for(lambda i=message.id: _settled(i), timeout=15)))
    for kind, declared, message, mf in results:
        # stored as "the customer sent a file (a document type) this channel does not support"
        assert "this channel does not support" in message.body, (kind, declared)
        assert message.body.startswith("Maria sent a ")
        assert message.media_id is None
        if mf is not None:
            assert mf.state == "refused"
    # and whatever id a file got, it is never a page
    with Session(db.get_engine()) as s:
        ids = [m.id for m in s.exec(select(MediaFile)).all()]
    for media_id in ids:
        r = live_api.http.get(f"/media/{media_id}")
        if r.status_code == 200 and r.headers["content-disposition"].startswith("inline"):
            assert r.headers["content-type"] in {"image/jpeg", "image/png", "application/pdf"}
            assert r.content[:4] in (b"\xff\xd8\xff\xe0", b"\x89PNG", b"%PDF") or r.content[
                :3
            ] == b"\xff\xd8\xff"
        else:
            _assert_never_a_page(r)


def test_whatsapp_real_jpeg_and_pdf_are_shown_inline(live_api):
    _sign_in(live_api)
    for kind, declared, data in (
        ("image", "image/jpeg", samples.jpeg()),
        ("document", "application/pdf", samples.pdf()),
    ):
        r = live_api.control(
            "POST",
            f"/customers/{WA_MARIA}/messages",
            json={"type": kind, "media_base64": _b64(data), "mime_type": declared},
        )
        message = wait_for(lambda wamid=r.json()["wamid"]: _wa_message(wamid), timeout=15)
        message, mf = wait_for(lambda i=message.id: _settled(i), timeout=15)
        assert mf is not None and mf.state == "ready", (kind, mf and mf.fetch_error)
        got = live_api.http.get(f"/media/{mf.id}")
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"] == declared
        assert got.headers["content-disposition"].startswith("inline")
        assert got.headers["x-content-type-options"] == "nosniff"
        csp = got.headers["content-security-policy"]
        assert csp.startswith("sandbox;") and "default-src 'none'" in csp
        assert "script-src" not in csp
        forced = live_api.http.get(f"/media/{mf.id}?download=1")
        assert forced.headers["content-disposition"].startswith("attachment")


def _sms_inbound(live_api, media_item: dict, body: str = "see this") -> Message:
    r = live_api.http.post(
        f"/sms-simulator/control/customers/{SMS_MARIA}/messages",
        json={"body": body, "media": [media_item]},
    )
    assert r.status_code == 200, r.text
    pid = "sms:" + r.json()["sid"]

    def stored():
        with Session(db.get_engine()) as s:
            return s.exec(select(Message).where(Message.provider_message_id == pid)).first()

    message = wait_for(stored, timeout=15)
    return wait_for(lambda: _settled(message.id), timeout=15)


def test_sms_html_and_svg_never_served_inline_and_the_text_is_kept(live_api):
    _sign_in(live_api)
    for ctype, data in (
        ("image/jpeg", HTML),  # lies about its type: refused once the bytes are seen
        ("image/png", SVG),
        ("text/html", HTML),  # refused from the webhook alone, never fetched
        ("image/svg+xml", SVG),
    ):
        message, mf = _sms_inbound(live_api, {"content_type": ctype, "base64": _b64(data)})
        assert message.kind == "unsupported" and message.media_id is None, ctype
        assert "sent a file this channel does not support" in message.body
        assert message.body.endswith(": see this")  # the customer's words are not lost
        if mf is not None:
            assert mf.state == "refused"
            _assert_never_a_page(live_api.http.get(f"/media/{mf.id}"))

    png = samples.png()
    message, mf = _sms_inbound(live_api, {"content_type": "image/png", "base64": _b64(png)})
    assert message.kind == "mms" and mf.state == "ready"
    got = live_api.http.get(f"/media/{mf.id}")
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("inline")


# ------------------------------------------------------------------------- /media/{id} itself


def _stored(session: Session, account_id: int, data: bytes, mime: str, kind: str) -> MediaFile:
    """A file as an older version of the app may have stored it (type as declared)."""
    relative, digest = media._write(account_id, data)
    row = MediaFile(
        account_id=account_id,
        kind=kind,
        mime_type=mime,
        size=len(data),
        sha256=digest,
        filename="file",
        storage_path=relative,
        state="ready",
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def media_dir(tmp_path, monkeypatch):
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path / "media"))
    reset_settings_cache()
    yield tmp_path / "media"
    reset_settings_cache()


def _agent_client(session: Session) -> TestClient:
    client = TestClient(build_api())
    token = open_session(session, "agent@demo.test", "demo-agent-1")
    client.cookies.set(routes.SESSION_COOKIE, token)
    return client


def _account(session: Session, email: str) -> int:
    return session.exec(select(User).where(User.email == email)).one().account_id


def test_stored_html_or_svg_is_a_sandboxed_download_whatever_its_row_says(seeded, media_dir):
    demo = _account(seeded, "agent@demo.test")
    client = _agent_client(seeded)
    for data, mime, kind in (
        (HTML, "text/html", "document"),
        (SVG, "image/svg+xml", "image"),
        (HTML, "image/jpeg", "image"),
        (SVG, "application/pdf", "document"),
        (samples.png(), "image/jpeg", "image"),  # a real image, but not what the row says
    ):
        row = _stored(seeded, demo, data, mime, kind)
        r = client.get(f"/media/{row.id}")
        assert r.status_code == 200
        _assert_never_a_page(r)
        assert r.headers["content-type"] == "application/octet-stream"


def test_real_files_are_inline_with_their_type(seeded, media_dir):
    demo = _account(seeded, "agent@demo.test")
    client = _agent_client(seeded)
    for data, mime, kind in (
        (samples.jpeg(), "image/jpeg", "image"),
        (samples.png(), "image/png", "image"),
        (samples.pdf(), "application/pdf", "document"),
        (samples.mp4(), "video/mp4", "video"),
    ):
        row = _stored(seeded, demo, data, mime, kind)
        r = client.get(f"/media/{row.id}")
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"] == mime
        assert r.headers["content-disposition"].startswith("inline")
        assert r.headers["x-content-type-options"] == "nosniff"


def test_no_media_url_for_another_account_or_nobody(seeded, media_dir):
    demo = _account(seeded, "agent@demo.test")
    row = _stored(seeded, demo, samples.jpeg(), "image/jpeg", "image")
    anonymous = TestClient(build_api())
    assert anonymous.get(f"/media/{row.id}").status_code == 401
    other = TestClient(build_api())
    other.cookies.set(
        routes.SESSION_COOKIE, open_session(seeded, "admin@harbor.test", "harbor-admin-1")
    )
    assert other.get(f"/media/{row.id}").status_code == 404
    assert other.get(f"/media/{row.id}?download=1").status_code == 404
    # the provider's route gives nothing without a valid token either
    assert anonymous.get(f"/webhooks/sms/media/{row.id}").status_code == 403
    assert anonymous.get(f"/webhooks/sms/media/{row.id}?t=abc").status_code == 403


# ------------------------------------------------------------------- the provider's MMS URL


def _sms_send_row(session: Session, account_id: int, media_id: int, status: str) -> Message:
    """An outbound MMS as send_sms stores it (nonce in the payload)."""
    contact = session.exec(select(Contact).where(Contact.e164 == SMS_MARIA)).one()
    conv = session.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()
    message = Message(
        account_id=account_id,
        conversation_id=conv.id,
        business_number_id=conv.business_number_id,
        direction="outbound",
        channel="sms",
        kind="mms",
        body="photo",
        media_id=media_id,
        payload={"media_nonce": sms.media_nonce()},
        status=status,
    )
    session.add(message)
    session.commit()
    return message


def _token(url: str) -> str:
    return url.split("?t=")[1]


def test_sms_media_url_is_bound_to_one_waiting_message_and_expires(seeded, media_dir, monkeypatch):
    demo = _account(seeded, "agent@demo.test")
    photo = media.store_upload(
        session=seeded,
        account_id=demo,
        filename="cake.png",
        data=samples.png(),
        declared_mime="image/png",
    )
    other_photo = media.store_upload(
        session=seeded,
        account_id=demo,
        filename="other.jpg",
        data=samples.jpeg(),
        declared_mime="image/jpeg",
    )
    waiting = _sms_send_row(seeded, demo, photo.id, "accepted")
    nonce = waiting.payload["media_nonce"]
    client = TestClient(build_api())
    path = f"/webhooks/sms/media/{photo.id}"
    good = _token(sms.media_url(waiting.id, photo.id, nonce))

    r = client.get(path, params={"t": good})
    assert r.status_code == 200 and r.content == samples.png()
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"

    # the same token for another file of the account, and a token naming another message
    elsewhere = f"/webhooks/sms/media/{other_photo.id}"
    assert client.get(elsewhere, params={"t": good}).status_code == 403
    another = _sms_send_row(seeded, demo, other_photo.id, "accepted")
    crossed = _token(sms.media_url(another.id, photo.id, another.payload["media_nonce"]))
    assert client.get(path, params={"t": crossed}).status_code == 403
    # a token with the right ids but without the message's nonce (a known secret key is not enough)
    wrong_nonce = _token(sms.media_url(waiting.id, photo.id, "guessed"))
    assert client.get(path, params={"t": wrong_nonce}).status_code == 403

    # forged with the old public default key (the app's key is not that one)
    forged = URLSafeTimedSerializer(OLD_DEFAULT_KEY, salt=sms._MEDIA_SALT).dumps(
        {"m": waiting.id, "f": photo.id, "n": nonce}
    )
    assert client.get(path, params={"t": forged}).status_code == 403
    legacy = "exp=9999999999&sig=" + "0" * 64  # the old URL form gives nothing
    assert client.get(f"{path}?{legacy}").status_code == 403

    # expired: a few minutes at most
    assert sms.MEDIA_URL_TTL <= 600
    monkeypatch.setattr(sms, "MEDIA_URL_TTL", 0)
    time.sleep(1.1)
    assert client.get(path, params={"t": good}).status_code == 403
    monkeypatch.setattr(sms, "MEDIA_URL_TTL", 300)
    assert client.get(path, params={"t": good}).status_code == 200

    # no longer waiting for the provider: sent, delivered or failed
    for status in ("sent", "delivered", "failed"):
        row = seeded.get(Message, waiting.id)
        row.status = status
        seeded.add(row)
        seeded.commit()
        assert client.get(path, params={"t": good}).status_code == 403, status

    # an inbound SMS or a WhatsApp message with that file is not "an SMS awaiting the provider"
    for direction, channel in (("inbound", "sms"), ("outbound", "whatsapp")):
        row = _sms_send_row(seeded, demo, photo.id, "accepted")
        row.direction, row.channel = direction, channel
        seeded.add(row)
        seeded.commit()
        token = _token(sms.media_url(row.id, photo.id, row.payload["media_nonce"]))
        assert client.get(path, params={"t": token}).status_code == 403, (direction, channel)


def test_the_app_does_not_sign_with_the_old_default_key():
    from ctreflex.settings import get_settings

    if get_settings().secret_key.get_secret_value() == OLD_DEFAULT_KEY:
        pytest.skip("this run uses the old default key (the secrets slice decides the default)")
    token = _token(sms.media_url(1, 2, "n"))
    old = URLSafeTimedSerializer(OLD_DEFAULT_KEY, salt=sms._MEDIA_SALT)
    with pytest.raises(Exception):  # noqa: B017 - BadSignature
        old.loads(token)


# ---------------------------------------------------------------------------------- uploads


class _Counting:
    """A generator of 1 MB chunks that counts how many were taken."""

    def __init__(self, head: bytes, total_mb: int):
        self.head, self.total_mb, self.taken = head, total_mb, 0

    def __iter__(self):
        for i in range(self.total_mb):
            self.taken += 1
            chunk = b"\0" * MB
            yield (self.head + chunk[len(self.head) :]) if i == 0 else chunk


def _limit_for(head: bytes) -> int:
    from ctreflex.whatsapp.limits import MEDIA_RULES, classify_upload

    kind, _ = classify_upload(head, None, len(head))
    return MEDIA_RULES[kind].max_bytes


@pytest.mark.parametrize(
    ("head", "limit_mb"),
    [(samples.pdf()[:2000], 100), (samples.jpeg()[:2000], 5), (samples.mp4()[:2000], 16)],
)
def test_chunked_copy_stops_reading_right_after_the_limit(head, limit_mb):
    source = _Counting(head, total_mb=250)
    out = io.BytesIO()
    with pytest.raises(MediaRuleError) as info:
        media.copy_capped(iter(source), out, limit_for=_limit_for)
    assert info.value.reason == "too_large"
    assert f"{limit_mb} MB" in info.value.user_message
    # the chunk that crossed the limit was the last one read; nothing past it was kept
    assert source.taken == limit_mb + 1
    assert out.tell() <= limit_mb * MB


def test_chunked_copy_keeps_a_file_within_its_limit():
    data = samples.pdf()
    out = io.BytesIO()
    size, digest, head = media.copy_capped(iter([data[:10], data[10:]]), out, limit_for=_limit_for)
    assert (size, out.getvalue(), head) == (len(data), data, data[: len(head)])


def test_upload_declared_too_large_is_refused_before_reading(seeded, media_dir):
    class Unreadable(io.RawIOBase):
        def read(self, n=-1):
            raise AssertionError("the body was read")

    demo = _account(seeded, "agent@demo.test")
    with pytest.raises(MediaRuleError) as info:
        media.store_upload_file(
            session=seeded,
            account_id=demo,
            filename="big.pdf",
            file=Unreadable(),
            declared_mime="application/pdf",
            declared_size=101 * MB,
        )
    assert info.value.reason == "too_large" and "100 MB" in info.value.user_message
    # a 6 MB photo declared as such stops at its first chunk
    big = samples.jpeg() + b"\0" * (6 * MB)
    with pytest.raises(MediaRuleError) as info:
        media.store_upload_file(
            session=seeded,
            account_id=demo,
            filename="big.jpg",
            file=io.BytesIO(big),
            declared_mime="image/jpeg",
            declared_size=len(big),
        )
    assert "5 MB" in info.value.user_message and "6.0 MB" in info.value.user_message
    assert not list((media_dir / "tmp").iterdir())  # no half-written file left behind
    assert seeded.exec(select(MediaFile).where(MediaFile.filename.like("big%"))).first() is None


def test_upload_endpoint_refuses_an_over_size_body_before_the_framework_reads_it():
    reached = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            reached.append(len(message.get("body", b"")))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    client = TestClient(UploadSizeLimit(app))
    r = client.post("/_upload", content=b"x" * 10, headers={"content-length": str(200 * MB)})
    assert r.status_code == 413 and reached == []

    # no Content-Length (chunked): cut off as the bytes arrive
    reached.clear()
    small = TestClient(UploadSizeLimit(app, max_bytes=3 * MB))
    r = small.post("/_upload", content=(b"\0" * MB for _ in range(20)))
    assert r.status_code == 413
    assert sum(reached) <= 3 * MB
    # an app that raises on the cut-off body (Starlette's ClientDisconnect) still gives a 413
    async def raising(scope, receive, send):
        while (await receive())["type"] == "http.request":
            pass
        raise RuntimeError("client disconnected")

    r = TestClient(UploadSizeLimit(raising, max_bytes=3 * MB)).post(
        "/_upload", content=(b"\0" * MB for _ in range(20))
    )
    assert r.status_code == 413
    # other paths are untouched
    assert client.post("/api/x", content=b"x").status_code == 200
