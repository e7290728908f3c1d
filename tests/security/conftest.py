"""Shared fixtures for the security tests: one database seeded for the six roles of the
authorization matrix (tests/security/authz_matrix.py).

Roles
-----
anonymous    no session cookie at all
logged_out   a cookie whose session was revoked by services.auth.logout (Demo Bakery's admin)
agent        agent@demo.test (Demo Bakery)
admin        admin@demo.test (Demo Bakery)
other_admin  admin@harbor.test (Harbor Tools: "the admin of another account")
operator     the platform operator (role "operator", in an account of its own)

Every role acts on the Demo Bakery side except other_admin; the "foreign" ids a role is given are
the ids of data it must never reach (Harbor Tools' for the Demo roles, Demo Bakery's
for the others).
Sessions are opened through ctreflex.services.auth and sent as the cookie named
ctreflex.routes.SESSION_COOKIE, whatever the login mechanism of the UI is.

Other slices may add fixtures here with targeted edits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import inspect
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.api.conftest import live_api  # noqa: F401 - the live server, for test_media.py

ROLES = ("anonymous", "logged_out", "agent", "admin", "other_admin", "operator")

OPERATOR_EMAIL = "operator@ctt-platform.test"
OPERATOR_PASSWORD = "op-7f3a-platform-key"
PLATFORM_ACCOUNT = "CT Text Platform"
LOGINS = {
    "logged_out": ("admin@demo.test", "demo-admin-1"),
    "agent": ("agent@demo.test", "demo-agent-1"),
    "admin": ("admin@demo.test", "demo-admin-1"),
    "other_admin": ("admin@harbor.test", "harbor-admin-1"),
    "operator": (OPERATOR_EMAIL, OPERATOR_PASSWORD),
}
# Which tenant's data a role may see ("demo", "harbor", "platform"); None: nobody's.
TENANT_OF = {
    "anonymous": None,
    "logged_out": None,
    "agent": "demo",
    "admin": "demo",
    "other_admin": "harbor",
    "operator": "platform",
}

# Strings that only ever come from one tenant's rows. A response or a websocket delta that shows
# one of them to a role of another tenant (or to nobody's role) is a leak.
HARBOR_CONTACT = "Harriet Quayside"
HARBOR_TEXT = "HARBOR-SECRET-7731 torque wrench order"
HARBOR_TEMPLATE = "harbor_secret_tpl"
HARBOR_FILE = "harbor-invoice-secret.pdf"
DEMO_TEMPLATE = "demo_secret_tpl"
DEMO_FILE = "demo-receipt-secret.pdf"
SENTINELS = {
    "demo": (
        "Demo Bakery",
        "Maria Lopez",
        "+12125550142",
        "sourdough",
        "Ada Baker",
        "Sam Rivers",
        "former@demo.test",
        DEMO_TEMPLATE,
        DEMO_FILE,
    ),
    "harbor": (
        "Harbor Tools",
        "Hal Harbor",
        "Hana Quay",
        "admin@harbor.test",
        HARBOR_CONTACT,
        "+447700900456",
        HARBOR_TEXT,
        HARBOR_TEMPLATE,
        HARBOR_FILE,
    ),
}
ACCOUNT_NAMES = ("Demo Bakery", "Harbor Tools")
# Demo Bakery data that only its admins see (Users page, SMS number settings).
DEMO_ADMIN_ONLY = ("former@demo.test", "Pat Former", "AC5e0d1e2b3a4f5c6d7e8f9a0b1c2d3e4f")

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclasses.dataclass
class RoleSet:
    """Sessions and ids for the matrix. tokens[role] is None for anonymous."""

    cookie_name: str
    tokens: dict[str, str | None]
    ids: dict[str, int]  # "<tenant>_<thing>": id, e.g. harbor_conversation, demo_media
    operator_role_exists: bool

    def cookies(self, role: str) -> dict[str, str]:
        token = self.tokens[role]
        return {self.cookie_name: token} if token else {}

    def tenant(self, role: str) -> str | None:
        return TENANT_OF[role]

    def foreign(self, role: str) -> str:
        """The tenant whose ids this role is given to prove it cannot reach them."""
        return "harbor" if TENANT_OF[role] == "demo" else "demo"

    def foreign_id(self, role: str, thing: str) -> int:
        return self.ids[f"{self.foreign(role)}_{thing}"]

    def own_id(self, role: str, thing: str) -> int | None:
        tenant = TENANT_OF[role]
        return self.ids.get(f"{tenant}_{thing}") if tenant else None

    def forbidden(self, role: str, *, admin_only: bool = False) -> tuple[str, ...]:
        """Strings this role must never receive."""
        tenant = TENANT_OF[role]
        out = [s for t, strings in SENTINELS.items() if t != tenant for s in strings]
        if role == "operator":  # platform staff know the accounts by name, never their customers
            out = [s for s in out if s not in ACCOUNT_NAMES]
        if admin_only and role == "agent":
            out += DEMO_ADMIN_ONLY
        return tuple(out)


def open_session(session: Session, email: str, password: str) -> str:
    """A session token for a user, through whichever entry point services.auth offers."""
    from ctreflex.services import auth

    params = inspect.signature(auth.login).parameters
    kwargs = {"session": session, "email": email, "password": password}
    for name, p in params.items():  # e.g. a client address added for login throttling
        if name not in kwargs and p.default is inspect.Parameter.empty and p.kind == p.KEYWORD_ONLY:
            kwargs[name] = "127.0.0.1"
    token = auth.login(**kwargs)
    return token if isinstance(token, str) else token.token


def _write_media(media_dir: Path, name: str) -> tuple[str, str, int]:
    media_dir.mkdir(parents=True, exist_ok=True)
    body = PDF_BYTES + name.encode()
    rel = f"matrix/{name}"
    (media_dir / "matrix").mkdir(exist_ok=True)
    (media_dir / rel).write_bytes(body)
    return rel, hashlib.sha256(body).hexdigest(), len(body)


def add_matrix_data(session: Session, media_dir: Path) -> dict[str, int]:
    """On top of the demo seed: Harbor Tools gets a customer, a conversation, a message, a
    template and a file; Demo Bakery a template and a file; the operator gets its account."""
    from ctreflex.models import (
        Account,
        BusinessNumber,
        Contact,
        Conversation,
        MediaFile,
        Message,
        Plan,
        Template,
        User,
        WebhookEvent,
    )
    from ctreflex.services.auth import hash_password

    accounts = {a.name: a for a in session.exec(select(Account)).all()}
    demo, harbor = accounts["Demo Bakery"], accounts["Harbor Tools"]
    ids: dict[str, int] = {}
    now = dt.datetime.now(dt.UTC)

    for tenant, account, tpl, filename, waba in (
        ("demo", demo, DEMO_TEMPLATE, DEMO_FILE, "100000000000001"),
        ("harbor", harbor, HARBOR_TEMPLATE, HARBOR_FILE, "100000000000002"),
    ):
        rel, digest, size = _write_media(media_dir, filename)
        media = MediaFile(
            account_id=account.id,
            kind="document",
            mime_type="application/pdf",
            size=size,
            sha256=digest,
            filename=filename,
            storage_path=rel,
            state="ready",
        )
        existing = session.exec(select(Template).where(Template.account_id == account.id)).first()
        template = existing or Template(
            account_id=account.id,
            waba_id=waba,
            provider_template_id=f"matrix-{tenant}-tpl",
            name=tpl,
            language="en_US",
            category="UTILITY",
            status="APPROVED",
            components=[{"type": "BODY", "text": f"{tpl} body"}],
        )
        session.add_all([media, template])
        session.flush()
        ids[f"{tenant}_media"] = media.id
        ids[f"{tenant}_template"] = template.id
        number = session.exec(
            select(BusinessNumber).where(
                BusinessNumber.account_id == account.id, BusinessNumber.channel == "whatsapp"
            )
        ).first()
        ids[f"{tenant}_number"] = number.id

        for suffix in ("event", "event_b"):  # parked webhook events (dead letters)
            body = f'{{"object":"whatsapp_business_account","matrix":"{tenant}-{suffix}"}}'
            event = WebhookEvent(
                provider="whatsapp",
                body=body,
                body_sha256=hashlib.sha256(body.encode()).hexdigest(),
                state="dead",
                kind="messages",
                account_id=account.id,
                attempts=5,
                error="matrix: parked for the authorization matrix",
            )
            session.add(event)
            session.flush()
            ids[f"{tenant}_{suffix}"] = event.id

    harbor_number = session.get(BusinessNumber, ids["harbor_number"])
    contact = Contact(
        account_id=harbor.id,
        e164="+447700900456",
        region="GB",
        wa_id="447700900456",
        profile_name=HARBOR_CONTACT,
        name=HARBOR_CONTACT,
    )
    session.add(contact)
    session.flush()
    conv = Conversation(
        account_id=harbor.id,
        contact_id=contact.id,
        business_number_id=harbor_number.id,
        channel="whatsapp",
        last_message_at=now,
        last_inbound_at=now,
        window_expires_at=now + dt.timedelta(hours=24),
        last_preview=HARBOR_TEXT,
        unread_count=1,
    )
    session.add(conv)
    session.flush()
    msg = Message(
        account_id=harbor.id,
        conversation_id=conv.id,
        business_number_id=harbor_number.id,
        direction="inbound",
        channel="whatsapp",
        kind="text",
        body=HARBOR_TEXT,
        provider_message_id="wamid.MATRIX-HARBOR-IN-1",
        status="received",
        created_at=now,
    )
    session.add(msg)
    session.flush()
    ids["harbor_conversation"], ids["harbor_message"] = conv.id, msg.id
    ids.update(_team_inbox_data(session, demo.id, harbor.id))  # labels, canned replies
    ids["harbor_contact"] = contact.id  # "New conversation" picks a contact by id

    demo_conv = session.exec(
        select(Conversation).where(Conversation.account_id == demo.id).order_by(Conversation.id)
    ).first()
    demo_msg = session.exec(
        select(Message).where(Message.conversation_id == demo_conv.id).order_by(Message.id)
    ).first()
    ids["demo_conversation"], ids["demo_message"] = demo_conv.id, demo_msg.id
    ids["demo_contact"] = demo_conv.contact_id

    users = {u.email: u for u in session.exec(select(User)).all()}
    ids["demo_user"] = users["agent@demo.test"].id
    ids["harbor_user"] = users["agent@harbor.test"].id

    from ctreflex.services import users as users_svc

    if OPERATOR_EMAIL not in users and hasattr(users_svc, "add_operator"):
        session.commit()
        users_svc.add_operator(
            session=session, email=OPERATOR_EMAIL, password=OPERATOR_PASSWORD, name="Platform Op"
        )
    elif OPERATOR_EMAIL not in users:  # before the operator role existed
        basic = session.exec(select(Plan).where(Plan.code == "basic")).one()
        platform = Account(name=PLATFORM_ACCOUNT, plan_id=basic.id, timezone="UTC")
        session.add(platform)
        session.flush()
        session.add(
            User(
                account_id=platform.id,
                email=OPERATOR_EMAIL,
                name="Platform Op",
                password_hash=hash_password(OPERATOR_PASSWORD),
                role="operator",
            )
        )
    session.commit()
    return ids


def _team_inbox_data(session: Session, demo_id: int, harbor_id: int) -> dict[str, int]:
    """A label and a canned reply per tenant (issue 15), Harbor's named with its sentinel."""
    from ctreflex.models import CannedReply, Label

    ids = {}
    for tenant, account_id, text in (
        ("demo", demo_id, "sourdough"),
        ("harbor", harbor_id, HARBOR_TEXT),
    ):
        label = Label(account_id=account_id, name=f"{text[:30]} label", color="red")
        reply = CannedReply(account_id=account_id, shortcut=f"matrix-{tenant}", body=text)
        session.add_all([label, reply])
        session.flush()
        ids[f"{tenant}_label"], ids[f"{tenant}_canned"] = label.id, reply.id
    return ids


def build_roles(session: Session, media_dir: Path) -> RoleSet:
    from ctreflex import routes
    from ctreflex.models import Role
    from ctreflex.services import auth

    ids = add_matrix_data(session, media_dir)
    tokens: dict[str, str | None] = {"anonymous": None}
    for role, (email, password) in LOGINS.items():
        tokens[role] = open_session(session, email, password)
    auth.logout(session=session, token=tokens["logged_out"])
    assert auth.resolve(session=session, token=tokens["logged_out"]) is None
    return RoleSet(
        cookie_name=routes.SESSION_COOKIE,
        tokens=tokens,
        ids=ids,
        operator_role_exists="operator" in {r.value for r in Role},
    )


@pytest.fixture
def roles(seeded, tmp_path, monkeypatch) -> RoleSet:
    """The six roles on the seeded test database (SQLite and PostgreSQL), media under tmp_path."""
    from ctreflex.settings import reset_settings_cache

    media_dir = tmp_path / "media"
    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(media_dir))
    reset_settings_cache()
    yield build_roles(seeded, media_dir)
    reset_settings_cache()
