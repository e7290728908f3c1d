"""Sending: free-form text and media inside the 24-hour window, reactions, read receipts.

A message is stored as "pending" (the agent sees it as sending) before the Graph API call,
with a callback id that goes out as ``biz_opaque_callback_data`` (Meta echoes it in every
status webhook). The answer decides what happens next -- Meta de-duplicates nothing, so a
send that may have reached Meta is never repeated on its own:

* 200 with a wamid: "accepted"; status webhooks move it on from there;
* a timeout or a dropped connection after the request was written (or a 504): "unconfirmed"
  -- shown as such, no Retry. A later status webhook carrying its callback id reconciles it
  to the wamid (:func:`reconcile_status`, called by ingest) and moves it forward; after
  ``UNCONFIRMED_CHECK_AFTER`` the thread says to check with the customer before resending;
* Meta certainly did not take it and a later try can work (130429, 131000, 131016, 131057,
  429/5xx, a connect failure): "queued" in the durable outbox (the message row: attempts,
  ``next_attempt_at``, ``last_error``). :func:`run_outbox` (a scheduled job, and a timer in
  the process that queued it) sends due ones with exponential backoff, at most
  ``MAX_ATTEMPTS`` sends in all, then "failed" with the reason. Each try first claims the row
  with a conditional UPDATE, so several workers never send one message twice;
* any other refusal: "failed" with Meta's code and reason (the only state with Retry).

Live events are published after every commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlmodel import Session, select

from ctreflex import db
from ctreflex.inbound.rows import record_usage
from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    MediaFile,
    Message,
    Plan,
    utc_now,
)
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import assignment, graph, media, reach
from ctreflex.services.errors import UserFacingError
from ctreflex.whatsapp import (
    GraphAPIError,
    GraphError,
    GraphTransportError,
    SendResult,
    Status,
    TextTooLongError,
    check_text,
)
from ctreflex.whatsapp.errors import send_disposition

log = logging.getLogger("ctreflex.outbound")

MEDIA_ID_TTL = dt.timedelta(days=29)  # Meta keeps uploaded media 30 days

#: Sends of one message at most (the first one included); then it fails with the reason.
MAX_ATTEMPTS = 5
#: Wait before try n+1 after try n failed with a retryable error (a longer Retry-After wins).
BACKOFF = (
    dt.timedelta(seconds=30),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=4),
)
BACKOFF_MAX = dt.timedelta(minutes=15)
#: An unconfirmed send nobody reconciled for this long: "check with the customer".
UNCONFIRMED_CHECK_AFTER = dt.timedelta(hours=24)
#: A send still "pending" after this long lost its process (killed mid-call): it may be out.
STALE_PENDING_AFTER = dt.timedelta(minutes=10)
#: The outbox timer in the process that queued a message (tests switch it off).
AUTO_WAKE = True
CALLBACK_PREFIX = "ctreflex:m"


class SendRefused(UserFacingError):
    """A send refused before any Graph API call; the message is safe to show."""


@dataclasses.dataclass
class _Target:
    account: Account
    plan: Plan
    conversation: Conversation
    contact: Contact
    number: BusinessNumber


def _target(session: Session, account_id: int, conversation_id: int) -> _Target:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != account_id:
        raise SendRefused("This conversation does not exist in your account.", "conversation")
    account = session.get(Account, account_id)
    plan = session.get(Plan, account.plan_id)
    refusal = reach.whatsapp_account(account, plan)  # plan, early access, payment method
    if refusal:
        raise SendRefused(refusal.message, refusal.field)
    number = (
        session.get(BusinessNumber, conv.business_number_id) if conv.business_number_id else None
    )
    if number is None or number.channel != "whatsapp":
        number = session.exec(
            select(BusinessNumber).where(
                BusinessNumber.account_id == account_id,
                BusinessNumber.channel == "whatsapp",
                BusinessNumber.status == "connected",
            )
        ).first()
    if number is None or number.status != "connected":
        raise SendRefused("No connected WhatsApp number can send this message.", "number")
    contact = session.get(Contact, conv.contact_id)
    return _Target(account, plan, conv, contact, number)


window_open = reach.window_open  # the one rule (services/reach.py); pages and API use it here


def _require_window(t: _Target) -> None:
    refusal = reach.whatsapp_window(t.conversation)
    if refusal:
        raise SendRefused(refusal.message, refusal.field)


def _reply_target(session: Session, t: _Target, reply_to_id: int | None) -> Message | None:
    if reply_to_id is None:
        return None
    quoted = session.get(Message, reply_to_id)
    if quoted is None or quoted.conversation_id != t.conversation.id:
        raise SendRefused("The message you are replying to is not in this conversation.", "reply")
    return quoted


def _pending(
    session: Session,
    t: _Target,
    *,
    user_id: int,
    kind: str,
    body: str,
    media_id: int | None = None,
    reply: Message | None = None,
    payload: dict | None = None,
    switch_channel: bool = True,
) -> Message:
    """The outbound message, stored "pending" before the call to Meta. `switch_channel`: the
    conversation's next sends go on WhatsApp too (an API send, a template); False from the
    inbox composer, whose sends go on the channel the agent picked, and the agent may pick
    another one while this send is still on its way."""
    now = utc_now()
    message = Message(
        account_id=t.account.id,
        conversation_id=t.conversation.id,
        business_number_id=t.number.id,
        direction="outbound",
        channel="whatsapp",
        kind=kind,
        body=body,
        media_id=media_id,
        status="pending",
        sender_user_id=user_id,
        reply_to_id=reply.id if reply else None,
        reply_to_provider_id=reply.provider_message_id if reply else None,
        payload=payload,
        created_at=now,
        send_attempts=1,  # the send starts right after this commit
        last_attempt_at=now,
    )
    session.add(message)
    session.flush()
    message.callback_id = f"{CALLBACK_PREFIX}{message.id}.{secrets.token_hex(6)}"
    conv = t.conversation
    conv.last_message_at = now
    conv.last_preview = (body or kind.title())[:200]
    if switch_channel:
        conv.channel = "whatsapp"
    conv.business_number_id = t.number.id
    session.add(conv)
    assignment.claim_on_reply(session, conv, user_id, kind)  # team inbox: auto-assign on reply
    session.commit()
    return message


async def _publish(account_id: int, conversation_id: int, message_id: int) -> None:
    await broker.publish(
        account_id,
        LiveEvent.message(conversation_id, message_id),
    )


def _accept(session: Session, message: Message, wamid: str) -> bool:
    """Meta took the message as `wamid`; True when this is the first we hear of it."""
    if message.provider_message_id is not None:
        return False
    message.provider_message_id = wamid
    if message.status in ("pending", "queued", "unconfirmed"):
        message.status = "accepted"
    message.next_attempt_at = None
    message.last_error = ""
    plan = session.exec(
        select(Plan)
        .join(Account, Account.plan_id == Plan.id)
        .where(Account.id == message.account_id)
    ).one()
    session.add(message)
    session.flush()
    record_usage(session, message, plan, message.created_at)
    return True


def _error_text(error: BaseException) -> str:
    if isinstance(error, GraphAPIError):
        help_ = error.help
        title = help_.title if error.code is not None else (error.title or help_.title)
        code = f" ({error.code})" if error.code is not None else ""
        return f"{title}{code}"
    if isinstance(error, GraphTransportError):
        return "Could not reach WhatsApp" if error.request_sent is False else "No answer in time"
    return str(error) or error.__class__.__name__


def backoff(attempts: int, retry_after: float | None = None) -> dt.timedelta:
    """The wait after the `attempts`-th try failed with a retryable error."""
    wait = BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]
    if retry_after is not None and retry_after > wait.total_seconds():
        wait = dt.timedelta(seconds=retry_after)
    return min(wait, BACKOFF_MAX)


def _fail(message: Message, now: dt.datetime, error: BaseException | None, title: str = "") -> None:
    message.status = "failed"
    message.failed_at = now
    message.next_attempt_at = None
    message.last_error = ""  # set again by the caller when the outbox gave up on it
    if isinstance(error, GraphAPIError):
        message.error_code = error.code
        message.error_title = (error.title or title)[:255]
        message.error_detail = error.details or str(error)
    else:
        message.error_code = None
        message.error_title = (title or "Could not reach WhatsApp")[:255]
        message.error_detail = str(error) if error is not None else ""


def _settle(
    message_id: int,
    result: SendResult | None,
    error: BaseException | None,
    now: dt.datetime | None = None,
) -> Message:
    now = now or utc_now()
    with db.session_scope() as session:
        message = session.get(Message, message_id)
        if result is not None:
            _accept(session, message, result.wamid)
            return message
        if message.provider_message_id is not None or message.status not in (
            "pending",
            "unconfirmed",  # the stale sweep's guess, while this call was still under way
        ):
            return message  # a status webhook reconciled it meanwhile: Meta has it
        disposition = send_disposition(error)
        if disposition == "unconfirmed":
            message.status = "unconfirmed"
            message.last_error = _error_text(error)[:2000]
            log.warning("send of message %s unconfirmed: %s", message_id, error)
        elif disposition == "retry" and message.send_attempts < MAX_ATTEMPTS:
            message.status = "queued"
            message.last_error = _error_text(error)[:2000]
            wait = backoff(message.send_attempts, getattr(error, "retry_after", None))
            message.next_attempt_at = now + wait
        else:
            _fail(message, now, error)
            if disposition == "retry":
                message.last_error = _error_text(error)[:2000]
        session.add(message)
        return message


async def _deliver(
    message_id: int,
    call: Callable[[], Awaitable[SendResult]],
    now: dt.datetime | None = None,
) -> int:
    result: SendResult | None = None
    error: BaseException | None = None
    try:
        result = await call()
    except Exception as exc:  # noqa: BLE001 - any failure is settled on the message
        error = exc
        if not isinstance(exc, GraphError):
            log.exception("send of message %s raised", message_id)
    message = _settle(message_id, result, error, now)
    await _publish(message.account_id, message.conversation_id, message.id)
    if message.status == "queued" and message.next_attempt_at is not None:
        _wake_at(message.next_attempt_at)
    return message.id


async def send_text(
    *,
    account_id: int,
    user_id: int,
    conversation_id: int,
    body: str,
    reply_to_id: int | None = None,
    switch_channel: bool = True,
) -> int:
    text = (body or "").strip("\n")
    if not text.strip():
        raise SendRefused("Type a message first.", "body")
    try:
        check_text(text)
    except TextTooLongError as exc:
        raise SendRefused(str(exc), "body") from exc
    with db.session_scope() as session:
        t = _target(session, account_id, conversation_id)
        _require_window(t)
        reply = _reply_target(session, t, reply_to_id)
        client = _client(t.number)
        message = _pending(
            session, t, user_id=user_id, kind="text", body=text, reply=reply,
            switch_channel=switch_channel,
        )
        ids = (message.id, t.number.phone_number_id, t.contact.wa_id or t.contact.e164)
        quoted = reply.provider_message_id if reply else None
        callback = message.callback_id
    await _publish(account_id, conversation_id, ids[0])
    return await _deliver(
        ids[0],
        lambda: client.send_text(
            ids[1],
            ids[2],
            text,
            reply_to=quoted,
            preview_url="http" in text,
            biz_opaque_callback_data=callback,
        ),
    )


def _client(number: BusinessNumber):
    try:
        return graph.client_for(number)
    except graph.NoAccessToken as exc:
        raise SendRefused(
            f"{exc} An admin must reconnect the WhatsApp number before sending.", "number"
        ) from exc


class UploadNotSent(GraphTransportError):
    """The media upload before a send did not get an answer: the message itself is not out."""


async def _provider_media_id(client, number: BusinessNumber, mf: MediaFile) -> str:
    fresh = mf.provider_media_id and mf.created_at > utc_now() - MEDIA_ID_TTL
    if fresh:
        return mf.provider_media_id
    path: Path = media.absolute_path(mf)
    try:
        media_id = await client.upload_media(
            number.phone_number_id, path, mf.mime_type, mf.filename or path.name
        )
    except GraphTransportError as exc:  # an upload twice is harmless; the message is not out
        raise UploadNotSent(f"Uploading the attachment failed: {exc}", request_sent=False) from exc
    except OSError as exc:
        raise GraphError(f"The attachment's file is not available: {exc}") from exc
    with db.session_scope() as session:
        row = session.get(MediaFile, mf.id)
        row.provider_media_id = media_id
        session.add(row)
    return media_id


async def send_media(
    *,
    account_id: int,
    user_id: int,
    conversation_id: int,
    media_file_id: int,
    caption: str = "",
    reply_to_id: int | None = None,
    switch_channel: bool = True,
) -> int:
    caption = (caption or "").strip()
    if len(caption) > 1024:
        raise SendRefused("A caption can be at most 1,024 characters.", "body")
    with db.session_scope() as session:
        t = _target(session, account_id, conversation_id)
        _require_window(t)
        mf = session.get(MediaFile, media_file_id)
        if mf is None or mf.account_id != account_id or mf.state != "ready":
            raise SendRefused("The attachment is not available; attach it again.", "attachment")
        reply = _reply_target(session, t, reply_to_id)
        client = _client(t.number)
        message = _pending(
            session, t, user_id=user_id, kind=mf.kind, body=caption, media_id=mf.id, reply=reply,
            switch_channel=switch_channel,
        )
        message_id = message.id
        number, contact_to = t.number, t.contact.wa_id or t.contact.e164
        quoted = reply.provider_message_id if reply else None
        callback = message.callback_id
    await _publish(account_id, conversation_id, message_id)
    return await _deliver(
        message_id, _media_call(client, number, contact_to, mf, caption, quoted, callback)
    )


def _media_call(client, number, to, mf: MediaFile, caption: str, quoted, callback):
    async def call() -> SendResult:
        provider_id = await _provider_media_id(client, number, mf)
        return await client.send_media(
            number.phone_number_id,
            to,
            mf.kind,
            media_id=provider_id,
            caption=caption or None,
            filename=mf.filename if mf.kind == "document" else None,
            reply_to=quoted,
            biz_opaque_callback_data=callback,
        )

    return call


async def retry(*, account_id: int, user_id: int, message_id: int) -> int:
    """Send a failed message again, as a new message (only "failed": Meta refused it, so the
    customer has no copy; never an unconfirmed one, which may already be on their phone)."""
    with db.session_scope() as session:
        old = session.get(Message, message_id)
        if old is None or old.account_id != account_id or old.direction != "outbound":
            raise SendRefused("That message cannot be retried.", "message")
        if old.status == "unconfirmed":
            raise SendRefused(
                "WhatsApp may already have this message; check with the customer before "
                "sending it again.",
                "message",
            )
        if old.status == "queued":
            raise SendRefused("This message is already waiting to be retried.", "message")
        if old.status != "failed":
            raise SendRefused("Only a failed message can be retried.", "message")
        kind, body, media_id, conv_id, reply_id = (
            old.kind,
            old.body,
            old.media_id,
            old.conversation_id,
            old.reply_to_id,
        )
    if kind == "text":
        return await send_text(
            account_id=account_id,
            user_id=user_id,
            conversation_id=conv_id,
            body=body,
            reply_to_id=reply_id,
        )
    if kind in ("image", "video", "document") and media_id:
        return await send_media(
            account_id=account_id,
            user_id=user_id,
            conversation_id=conv_id,
            media_file_id=media_id,
            caption=body,
            reply_to_id=reply_id,
        )
    raise SendRefused("This kind of message cannot be retried from here.", "message")


async def send_read_receipt(*, account_id: int, conversation_id: int) -> bool:
    """Tell WhatsApp the agent has read the conversation (blue ticks on the customer's phone)."""
    with db.session_scope() as session:
        conv = session.get(Conversation, conversation_id)
        if conv is None or conv.account_id != account_id:
            return False
        last = session.exec(
            select(Message, BusinessNumber)
            .join(BusinessNumber, BusinessNumber.id == Message.business_number_id)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "inbound",
                Message.channel == "whatsapp",
                Message.kind != "reaction",
            )
            .order_by(Message.created_at.desc())
        ).first()
        if last is None or not last[0].provider_message_id:
            return False
        message, number = last
        wamid, pnid = message.provider_message_id, number.phone_number_id
        client = graph.client_for(number)
    try:
        return await client.mark_read(pnid, wamid)
    except GraphError as exc:
        log.info("read receipt for %s not sent: %s", wamid, exc)
        return False


# ----------------------------------------------------------------------------- the outbox


def _wake_at(when: dt.datetime) -> None:
    """Run the outbox in this process when `when` comes (the scheduled job is the backstop
    when this process goes away first)."""
    if not AUTO_WAKE:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    delay = max(0.0, (when - utc_now()).total_seconds()) + 0.5

    def wake() -> None:
        task = loop.create_task(_wake())
        _wake_tasks.add(task)
        task.add_done_callback(_wake_tasks.discard)

    loop.call_later(delay, wake)


_wake_tasks: set[asyncio.Task] = set()


async def _wake() -> None:
    from ctreflex.services.outbox import run_outbox  # late: outbox imports this module

    try:
        await run_outbox()
    except Exception:  # noqa: BLE001 - the scheduled job tries again
        log.exception("outbox run failed")


def reconcile_status(session: Session, account_id: int, status: Status) -> Message | None:
    """The message a status webhook is about when its wamid is not stored yet: one whose send
    got no answer (unconfirmed), found by the ``biz_opaque_callback_data`` it was sent with.
    A send still under way ("pending") is left alone: the status is deferred until the answer
    (or the timeout) settles it. It takes the wamid and is moved on by the
    status like any other. None when the callback data is not one of this account's sends."""
    callback = status.biz_opaque_callback_data
    if not callback or not callback.startswith(CALLBACK_PREFIX) or not status.id:
        return None
    message = session.exec(select(Message).where(Message.callback_id == callback)).first()
    if (
        message is None
        or message.account_id != account_id
        or message.direction != "outbound"
        or message.provider_message_id is not None
        or message.status == "pending"  # its answer is on the way: the status waits for it
    ):
        return None
    was = message.status
    if was == "failed":  # a refusal we misread: Meta's word about its own wamid wins
        message.status, message.failed_at = "accepted", None
    _accept(session, message, status.id)
    log.info("message %s (%s) reconciled to %s by a status webhook", message.id, was, status.id)
    return message


# ------------------------------------------------------------------------ what the thread says


