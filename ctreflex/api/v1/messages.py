"""/api/v1 sends: POST /messages (text, template with its parameters, media by upload or URL;
over WhatsApp or SMS) and POST /media (an upload). A send goes through the same services as
the inbox's composer and template picker (outbound.send_text / send_media,
template_send.send_template, sms.set_channel / send_sms), so the 24-hour window, the plan and
early access, the US marketing block, opt-outs and the file rules are the same.

`Idempotency-Key` (any POST that sends): the first request with a key is answered and its answer
stored for 24 hours; the same key with the same body gets that answer again (and nothing is
sent again), with another body 422; while the first is still running, 409."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from ctreflex import db
from ctreflex.api.v1 import schemas as S
from ctreflex.api.v1.auth import SendKey
from ctreflex.api.v1.problems import (
    PROBLEM_TYPE,
    Problem,
    ProblemRoute,
    operation_id,
    problem_responses,
)
from ctreflex.models import Conversation, MediaFile, Template
from ctreflex.services import api_keys, public_api
from ctreflex.services.api_keys import ApiPrincipal
from ctreflex.settings import get_settings
from ctreflex.whatsapp.limits import MediaRuleError

log = logging.getLogger("ctreflex.api.v1")

router = APIRouter(
    prefix="/api/v1",
    route_class=ProblemRoute,
    generate_unique_id_function=operation_id,
    responses=problem_responses(401, 403, 404, 409, 413, 422, 429),
)

IdemHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Any unique string per intended send (e.g. a UUID); a retry with the same "
        "key and body never sends twice. Kept 24 hours.",
    ),
]


def refused(exc) -> Problem:
    field = getattr(exc, "field", "") or None
    return Problem(
        422,
        getattr(exc, "message", "") or str(exc),
        field=field,
        kind="send-refused",
        title="Send refused",
    )


def _media_view(mf: MediaFile) -> dict:
    return {
        "id": mf.id,
        "kind": mf.kind,
        "mime_type": mf.mime_type,
        "size": mf.size,
        "filename": mf.filename,
    }


# ------------------------------------------------------------------------------ helpers


def _resolve_conversation(key: ApiPrincipal, body: S.SendMessage) -> int:
    with db.session_scope() as session:
        if body.conversation_id is not None:
            if body.to:
                raise Problem(
                    422,
                    "Give conversation_id or to, not both.",
                    field="to",
                    kind="invalid-request",
                    title="Invalid request",
                )
            try:
                return public_api.own_conversation(session, key.account_id, body.conversation_id).id
            except public_api.NotFound as exc:
                raise Problem(404, str(exc), field="conversation_id", kind="not-found") from exc
        if not body.to:
            raise Problem(
                422,
                "Give conversation_id or to (a phone number).",
                field="conversation_id",
                kind="invalid-request",
                title="Invalid request",
            )
        try:
            view, _ = public_api.create_contact(
                session=session, account_id=key.account_id, phone=body.to
            )
        except public_api.InvalidInput as exc:
            raise Problem(
                422, exc.message, field="to", kind="invalid-request", title="Invalid request"
            ) from exc
        return int(view["conversation_id"])


def _set_channel(account_id: int, conversation_id: int, channel: str | None) -> str:
    from ctreflex.services import sms

    with db.session_scope() as session:
        conv = session.get(Conversation, conversation_id)
        if channel is None or channel == conv.channel:
            return conv.channel
        sms.set_channel(  # the composer's channel switch: the same availability rules
            session=session,
            account_id=account_id,
            conversation_id=conversation_id,
            channel=channel,
        )
        return channel


def _template_id(account_id: int, ref: S.TemplateRef) -> int:
    with db.session_scope() as session:
        if ref.id is not None:
            row = session.get(Template, ref.id)
            if row is None or row.account_id != account_id:
                raise Problem(
                    404, "No such template in your account.", field="template.id", kind="not-found"
                )
            return row.id
        if not ref.name or not ref.language:
            raise Problem(
                422,
                "Name the template by id, or by name and language.",
                field="template.name",
                kind="invalid-request",
                title="Invalid request",
            )
        row = session.exec(
            select(Template).where(
                Template.account_id == account_id,
                Template.name == ref.name,
                Template.language == ref.language,
                Template.status != "DELETED",
            )
        ).first()
        if row is None:
            raise Problem(
                404,
                f"No template {ref.name} ({ref.language}) in your account.",
                field="template.name",
                kind="not-found",
            )
        return row.id


def _own_media(account_id: int, media_id: int, field: str) -> None:
    with db.session_scope() as session:
        mf = session.get(MediaFile, media_id)
        if mf is None or mf.account_id != account_id:
            raise Problem(
                404, "No such uploaded file in your account.", field=field, kind="not-found"
            )


def _message(account_id: int, message_id: int) -> dict:
    with db.session_scope() as session:
        return public_api.get_message(session=session, account_id=account_id, message_id=message_id)


async def _send(key: ApiPrincipal, body: S.SendMessage) -> dict:
    from ctreflex.services import outbound, sms, template_send
    from ctreflex.services.outbound import SendRefused

    conversation_id = await run_in_threadpool(_resolve_conversation, key, body)
    user_id = None  # sent by the API: no agent (the thread shows it without a name)
    try:
        channel = await run_in_threadpool(
            _set_channel, key.account_id, conversation_id, body.channel
        )
        if body.type == "text":
            if body.media is not None or body.template is not None:
                raise Problem(
                    422,
                    "A text message has only `text`.",
                    field="type",
                    kind="invalid-request",
                    title="Invalid request",
                )
            if channel == "sms":
                if body.reply_to_id:
                    raise SendRefused("An SMS can't quote a message.", "reply_to_id")
                message_id = await sms.send_sms(
                    account_id=key.account_id,
                    user_id=user_id,
                    conversation_id=conversation_id,
                    body=body.text or "",
                )
            else:
                message_id = await outbound.send_text(
                    account_id=key.account_id,
                    user_id=user_id,
                    conversation_id=conversation_id,
                    body=body.text or "",
                    reply_to_id=body.reply_to_id,
                )
        elif body.type == "media":
            ref = body.media
            if ref is None or (ref.id is None) == (not ref.url):
                raise Problem(
                    422,
                    "A media message needs media.id (POST /media) or media.url.",
                    field="media",
                    kind="invalid-request",
                    title="Invalid request",
                )
            caption = ref.caption or body.text or ""
            if ref.id is not None:
                await run_in_threadpool(_own_media, key.account_id, ref.id, "media.id")
                media_id = ref.id
            else:
                media_id = (await _fetch(key, ref.url, "media.url")).id
            if channel == "sms":
                message_id = await sms.send_sms(
                    account_id=key.account_id,
                    user_id=user_id,
                    conversation_id=conversation_id,
                    body=caption,
                    media_file_id=media_id,
                )
            else:
                message_id = await outbound.send_media(
                    account_id=key.account_id,
                    user_id=user_id,
                    conversation_id=conversation_id,
                    media_file_id=media_id,
                    caption=caption,
                    reply_to_id=body.reply_to_id,
                )
        else:
            ref = body.template
            if ref is None:
                raise Problem(
                    422,
                    "A template message needs `template`.",
                    field="template",
                    kind="invalid-request",
                    title="Invalid request",
                )
            if channel == "sms":
                raise SendRefused(
                    "Templates are sent on WhatsApp; choose channel whatsapp.", "channel"
                )
            template_id = await run_in_threadpool(_template_id, key.account_id, ref)
            if ref.header_media_id is not None:
                await run_in_threadpool(
                    _own_media, key.account_id, ref.header_media_id, "template.header_media_id"
                )
            values = {str(k): str(v) for k, v in ref.parameters.items()}
            message_id = await template_send.send_template(
                account_id=key.account_id,
                user_id=user_id,
                conversation_id=conversation_id,
                template_id=template_id,
                values=values,
                header_media_file_id=ref.header_media_id,
                reply_to_id=body.reply_to_id,
            )
    except SendRefused as exc:
        raise refused(exc) from exc
    return await run_in_threadpool(_message, key.account_id, message_id)


async def _fetch(key: ApiPrincipal, url: str, field: str) -> MediaFile:
    try:
        return await public_api.fetch_remote_media(
            account_id=key.account_id,
            url=url,
            allow_local=get_settings().webhooks_allow_local,
        )
    except MediaRuleError as exc:
        status = 413 if exc.reason == "too_large" else 422
        raise Problem(
            status, exc.user_message, field=field, kind="media-refused", title="File refused"
        ) from exc
    except public_api.RemoteMediaError as exc:
        raise Problem(
            422, exc.message, field=field, kind="media-refused", title="File refused"
        ) from exc


# ------------------------------------------------------------------------- idempotency


async def idempotent(request: Request, key: ApiPrincipal, idem: str | None, fp_body, run):
    """Answer `run()` once per Idempotency-Key; replays get the stored answer."""
    if idem is None:
        return await _answer(run)
    try:
        idem = api_keys.check_idempotency_key(idem)
    except api_keys.ApiKeyError as exc:
        raise Problem(
            422,
            exc.message,
            field="Idempotency-Key",
            kind="invalid-request",
            title="Invalid request",
        ) from exc
    fp = api_keys.fingerprint(request.method, request.url.path, fp_body)

    def begin():
        with db.session_scope() as session:
            return api_keys.begin(
                session=session, key_id=key.key_id, idem_key=idem, fingerprint_=fp
            )

    try:
        stored = await run_in_threadpool(begin)
    except api_keys.IdempotencyConflict as exc:
        raise Problem(
            exc.status,
            exc.message,
            field="Idempotency-Key",
            kind="idempotency-conflict",
            title="Idempotency-Key conflict",
        ) from exc
    if stored is not None:
        status, payload = stored
        media = PROBLEM_TYPE if status >= 400 else "application/json"
        return JSONResponse(
            payload, status_code=status, media_type=media, headers={"Idempotent-Replayed": "true"}
        )
    try:
        response = await _answer(run, request)
    except BaseException:

        def abandon():
            with db.session_scope() as session:
                api_keys.abandon(session=session, key_id=key.key_id, idem_key=idem)

        await run_in_threadpool(abandon)
        raise
    import json

    def finish():
        with db.session_scope() as session:
            api_keys.finish(
                session=session,
                key_id=key.key_id,
                idem_key=idem,
                status=response.status_code,
                body=json.loads(response.body),
            )

    await run_in_threadpool(finish)
    return response


async def _answer(run, request: Request | None = None) -> JSONResponse:
    try:
        status, payload = await run()
        return JSONResponse(jsonable_encoder(payload), status_code=status)
    except Problem as exc:
        if request is None or exc.status in (401, 429) or exc.status >= 500:
            raise
        return exc.response(request)  # a refusal is the answer to this request: kept


# ------------------------------------------------------------------------------ routes


@router.post("/messages", response_model=S.Message, status_code=201, tags=["messages"])
async def send_message(
    request: Request, body: S.SendMessage, key: SendKey, idempotency_key: IdemHeader = None
):
    """Send a text, a media file or a template, over WhatsApp or SMS, in a conversation (or to
    a phone number). The answer is the stored message ("pending", "accepted", "queued",
    "unconfirmed" or "failed"); follow it with GET /messages/{id} or the message.status
    webhook. Refusals (422) name the rule: window, to, optout, template, channel, number…"""

    async def run():
        return 201, await _send(key, body)

    return await idempotent(request, key, idempotency_key, body.model_dump(mode="json"), run)


#: The largest upload request (the largest file, 100 MB PDF, plus 1 MB of form); tests lower it.
UPLOAD_REQUEST_MAX: int | None = None


@router.post(
    "/media",
    response_model=S.MediaFile,
    status_code=201,
    tags=["messages"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_media(request: Request, key: SendKey):
    """Upload a file (field `file`) to send with POST /messages (media.id) or as a template
    header (template.header_media_id). JPEG/PNG up to 5 MB, MP4/3GPP up to 16 MB, PDF up to
    100 MB; audio is refused (the inbox's rules)."""
    from ctreflex.services import media

    limit = UPLOAD_REQUEST_MAX or media.MAX_UPLOAD_BYTES + 1_000_000
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise Problem(
            413,
            f"Files can be at most {media.MAX_UPLOAD_BYTES // 1_000_000} MB.",
            field="file",
            kind="media-refused",
            title="File refused",
        )
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise Problem(
            422,
            "Send the file as multipart/form-data in the field `file`.",
            field="file",
            kind="invalid-request",
            title="Invalid request",
        )
    too_large = Problem(
        413,
        f"Files can be at most {media.MAX_UPLOAD_BYTES // 1_000_000} MB.",
        field="file",
        kind="media-refused",
        title="File refused",
    )
    received = 0

    async def counted() -> dict:  # a body without (or lying about) its length stops here
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large
        return message

    try:
        form = await Request(request.scope, counted).form(
            max_files=1, max_fields=5, max_part_size=4096
        )
    except Problem:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed multipart, too many parts
        raise Problem(
            422,
            "The multipart body could not be read.",
            field="file",
            kind="invalid-request",
            title="Invalid request",
        ) from exc
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(
                422,
                "Attach the file in the form field `file`.",
                field="file",
                kind="invalid-request",
                title="Invalid request",
            )
        filename = (upload.filename or "attachment").rsplit("/", 1)[-1]
        try:
            stored = await run_in_threadpool(
                lambda: media.save_upload(
                    account_id=key.account_id,
                    filename=filename,
                    file=upload.file,
                    declared_mime=upload.content_type or "",
                    declared_size=upload.size,
                )
            )
        except MediaRuleError as exc:
            status = 413 if exc.reason == "too_large" else 422
            raise Problem(
                status, exc.user_message, field="file", kind="media-refused", title="File refused"
            ) from exc
    finally:
        await form.close()
    return JSONResponse(_media_view(stored), status_code=201)
