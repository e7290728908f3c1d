"""The composer's state: the reply being quoted, the attachment (uploaded through
`media.save_upload` in a worker thread), the channel of the next send, the live SMS segment
count, and the send itself (queued in `_outbox`, delivered by a background event so the
agent can type on; a refusal puts the draft back)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import reflex as rx

from ctreflex import db, routes
from ctreflex.pages.inbox.canned import CannedState
from ctreflex.pages.inbox.notes import NotesState
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services import conversations as convs
from ctreflex.services import media, outbound, sms
from ctreflex.services.errors import UserFacingError
from ctreflex.sms import segments
from ctreflex.whatsapp.limits import (
    AUDIO_UNSUPPORTED_REASON,
    MAX_TEXT_CHARS,
    MB,
    MEDIA_RULES,
    MediaRuleError,
    grapheme_count,
)

log = logging.getLogger("ctreflex.inbox")

SMS_MAX_CHARS = 1600  # the provider's limit (ctreflex.services.sms.MAX_BODY)
AUDIO_EXTENSIONS = (".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".amr", ".weba")
CLEAR_COMPOSER = "window.ctInbox && window.ctInbox.clearComposer()"


def _draft_error(channel: str, body: str, *, has_attachment: bool, quoting: bool) -> str:
    """Why this draft can't leave on `channel` ("" when it can)."""
    text = body.strip()
    if channel == "sms":
        if quoting:
            return "An SMS can't quote a message: cancel the reply or switch to WhatsApp."
        if not text and not has_attachment:
            return "Type a message first."
        if len(text) > SMS_MAX_CHARS:
            return (
                f"An SMS can be at most {SMS_MAX_CHARS:,} characters; this one has "
                f"{len(text):,}. Shorten it or split it in two."
            )
    elif not has_attachment:
        if not text:
            return "Type a message first."
        length = grapheme_count(body)
        if length > MAX_TEXT_CHARS:
            return (
                f"This message is {length:,} characters; WhatsApp allows {MAX_TEXT_CHARS:,}."
                " Shorten it or split it in two."
            )
    return ""


def too_large_message(mime: str, size: Any) -> str:
    """The refusal of a file over its kind's limit, said before any byte was uploaded."""
    rule = next((r for r in MEDIA_RULES.values() if mime in r.mime_types), None)
    if rule is None and mime.split("/")[0] in ("image", "video"):
        rule = MEDIA_RULES[mime.split("/")[0]]
    if rule is None:
        return (
            "Files can be at most 100 MB (PDF documents); photos up to 5 MB and videos up to 16 MB."
        )
    noun = {"image": "Photos", "video": "Videos", "document": "PDF documents"}[rule.kind]
    shown = f"; this file is {int(size) / MB:.1f} MB" if isinstance(size, int | float) else ""
    return f"{noun} can be at most {rule.max_mb} MB on WhatsApp{shown}. Nothing was uploaded."


def _rejection_message(item: Any) -> str:
    """What to tell the agent about one file the browser refused (name, type, size, errors)."""
    item = item if isinstance(item, dict) else {}
    name = str(item.get("name") or "").lower()
    mime = str(item.get("type") or "").lower()
    codes = {e.get("code") for e in item.get("errors") or [] if isinstance(e, dict)}
    if mime.startswith("audio/") or name.endswith(AUDIO_EXTENSIONS):
        return AUDIO_UNSUPPORTED_REASON + "."
    if "file-too-large" in codes:
        return too_large_message(mime, item.get("size"))
    if "too-many-files" in codes:
        return "Attach one file at a time."
    return "Only JPEG or PNG photos, MP4 or 3GPP videos and PDF documents can be sent on WhatsApp."


async def _deliver(job: dict[str, Any]) -> str:
    """Send one queued message; the refusal to show the agent ("" when it went out). The
    service stores failures on the message; anything else escaping it is a bug."""
    try:
        if job["channel"] == "sms":
            await sms.send_sms(
                account_id=job["account_id"],
                user_id=job["user_id"],
                conversation_id=job["conversation_id"],
                body=job["body"],
                media_file_id=job["media_file_id"],
                switch_channel=False,
            )
        elif job["media_file_id"]:
            await outbound.send_media(
                account_id=job["account_id"],
                user_id=job["user_id"],
                conversation_id=job["conversation_id"],
                media_file_id=job["media_file_id"],
                caption=job["body"],
                reply_to_id=job["reply_to_id"],
                switch_channel=False,
            )
        else:
            await outbound.send_text(
                account_id=job["account_id"],
                user_id=job["user_id"],
                conversation_id=job["conversation_id"],
                body=job["body"],
                reply_to_id=job["reply_to_id"],
                switch_channel=False,
            )
    except UserFacingError as exc:
        return exc.message
    except Exception:
        log.exception("send failed")
        return "Something went wrong while sending; check the thread before sending again."
    return ""


class ComposerState(InboxState):
    composer_error: str = ""
    reply_to_id: int = 0
    reply_author: str = ""
    reply_snippet: str = ""
    attachment_id: int = 0
    attachment_name: str = ""
    attachment_size: str = ""
    attachment_kind: str = ""
    uploading: bool = False
    upload_progress: int = 0
    sms_summary: str = segments.count("").summary

    _outbox: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ computed

    def _option(self, channel: str) -> sms.ChannelOption | None:
        return next((o for o in self.channel_options if o.channel == channel), None)

    @rx.var
    def composer_locked(self) -> bool:
        if self.detail.id == 0:
            return True
        if self.detail.channel == "whatsapp":
            if not self.whatsapp_enabled:
                return True
            return self.detail.window_state not in ("open", "closing")
        option = self._option(self.detail.channel)
        return option is not None and not option.free_form

    @rx.var
    def attach_allowed(self) -> bool:
        option = self._option(self.detail.channel)
        return option is None or option.attachments != ""

    @rx.var
    def attach_hint(self) -> str:
        option = self._option(self.detail.channel)
        if option is None or option.channel == "whatsapp":
            return "Attach a photo (JPEG/PNG, 5 MB), video (MP4/3GPP, 16 MB) or PDF (100 MB)"
        return option.attachments or option.note or "SMS carries text only here"

    @rx.var
    def locked_message(self) -> str:
        if self.detail.channel == "sms":
            option = self._option("sms")
            return (option.reason if option else "") or "SMS can't be sent to this customer."
        if self.detail.channel == "whatsapp" and not self.whatsapp_enabled:
            return "WhatsApp isn't included in your plan, so replies can't be sent here."
        if self.detail.window_state == "none":
            return (
                "The 24-hour window hasn't opened: this customer hasn't written yet. Only an "
                "approved template can reach them."
            )
        return (
            "The 24-hour window is closed. Only an approved template can reach this customer now."
        )

    @rx.var
    def show_template_button(self) -> bool:
        option = self._option("whatsapp")
        if option is not None:
            return option.available
        return self.detail.channel == "whatsapp" and self.whatsapp_enabled

    @rx.var
    def attachment_url(self) -> str:
        return f"/media/{self.attachment_id}" if self.attachment_id else ""

    # ------------------------------------------------------------------ draft

    def _reset_draft(self) -> None:
        self.sms_summary = segments.count("").summary
        self.composer_error = ""
        self._set_reply(0, "", "")
        self._set_attachment(0, "", "", "")
        self.uploading, self.upload_progress = False, 0

    def _set_reply(self, message_id: int, author: str, snippet: str) -> None:
        self.reply_to_id, self.reply_author, self.reply_snippet = message_id, author, snippet

    def _set_attachment(self, file_id: int, name: str, size: str, kind: str) -> None:
        self.attachment_id = file_id
        self.attachment_name, self.attachment_size, self.attachment_kind = name, size, kind

    @rx.event
    def start_reply(self, message_id: int):
        with db.session_scope() as session:
            author, snippet = convs.message_snippet(
                session=session,
                account_id=self._account_id,
                conversation_id=self.open_id,
                message_id=int(message_id),
            )
        if not author:
            return
        self._set_reply(int(message_id), author, snippet)
        return rx.set_focus("composer-text")

    @rx.event
    def cancel_reply(self):
        self._set_reply(0, "", "")

    @rx.event
    def typed(self, text: str):
        """The draft changed (debounced): the live SMS segment count."""
        if self.is_sms:
            self.sms_summary = segments.count((text or "")[: SMS_MAX_CHARS * 2]).summary
        return [NotesState.draft_changed(text), CannedState.draft_changed(text)]  # "@", "/"

    @rx.event
    def choose_channel(self, channel: str):
        """The agent switches the channel of the next send (WhatsApp / SMS)."""
        if not self.has_conversation or channel == self.detail.channel:
            return
        with db.session_scope() as session:
            try:
                sms.set_channel(
                    session=session,
                    account_id=self._account_id,
                    conversation_id=self.open_id,
                    channel=channel,
                )
                self.composer_error = ""
            except UserFacingError as exc:
                self.composer_error = exc.message
            self._load_open(session)
        if channel == "sms" and self.reply_to_id:
            self._set_reply(0, "", "")
        return rx.call_script("window.ctInbox && window.ctInbox.channelChanged()")

    # ------------------------------------------------------------------ sending

    @rx.event
    async def send(self, form: dict):
        if (await self.get_state(NotesState)).note_mode:  # a note is stored, never sent
            return NotesState.add_note(form)
        body = str((form or {}).get("message", "") or "")
        user = self._current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not self.has_conversation:
            return
        if self.composer_locked:
            self.composer_error = self.locked_message
            return
        if self.uploading:
            self.composer_error = "Wait for the upload to finish, then send."
            return
        channel = "sms" if self.is_sms else "whatsapp"
        error = _draft_error(
            channel, body, has_attachment=bool(self.attachment_id), quoting=bool(self.reply_to_id)
        )
        if error:
            self.composer_error = error
            return
        self._outbox.append(
            {
                "account_id": user.account_id,
                "user_id": user.user_id,
                "conversation_id": self.open_id,
                "channel": channel,
                "body": body,
                "reply_to_id": self.reply_to_id or None,
                "reply": (self.reply_author, self.reply_snippet),
                "media_file_id": self.attachment_id or None,
                "attachment": (self.attachment_name, self.attachment_size, self.attachment_kind),
            }
        )
        self._reset_draft()
        return [rx.call_script(CLEAR_COMPOSER), ComposerState.deliver]

    @rx.event(background=True)
    async def deliver(self):
        async with self:
            if not self._outbox:
                return
            job = self._outbox.pop(0)
        refused = await _deliver(job)
        async with self:
            same = self.open_id == job["conversation_id"]
            if refused and same:  # the draft comes back as it was
                self.composer_error = refused
                if job["reply_to_id"]:
                    self._set_reply(job["reply_to_id"], *job["reply"])
                if job["media_file_id"]:
                    self._set_attachment(job["media_file_id"], *job["attachment"])
            self._reload(thread=same)
        if refused and job["body"]:
            return rx.call_script(
                f"window.ctInbox && window.ctInbox.restoreComposer({json.dumps(job['body'])})"
            )

    async def _message_action(self, act, failure: str) -> None:
        """Run a send-like action on a message (retry, resend as SMS) from a background event:
        a refusal shows by the composer, anything else is logged; the thread reloads."""
        async with self:
            user = self._current_user()
            if user is None:
                return
            conversation_id = self.open_id
        error = ""
        try:
            await act(user)
        except UserFacingError as exc:
            error = exc.message
        except Exception:
            log.exception("%s", failure)
            error = f"Something went wrong while {failure}; check the thread before trying again."
        async with self:
            if self.open_id == conversation_id:
                self.composer_error = error
                self._reload()

    @rx.event(background=True)
    async def retry(self, message_id: int):
        await self._message_action(
            lambda user: outbound.retry(
                account_id=user.account_id, user_id=user.user_id, message_id=int(message_id)
            ),
            "retrying",
        )

    @rx.event(background=True)
    async def resend_sms(self, message_id: int):
        """ "Resend as SMS" on a failed WhatsApp message: the same text, linked both ways."""
        await self._message_action(
            lambda user: sms.resend_as_sms(
                account_id=user.account_id, user_id=user.user_id, message_id=int(message_id)
            ),
            "resending by SMS",
        )

    # ------------------------------------------------------------------ attachments

    @rx.event
    def upload_progressed(self, progress: dict):
        try:
            fraction = float((progress or {}).get("progress", 0))
        except (TypeError, ValueError):
            fraction = 0.0
        self.uploading = fraction < 1  # the handler takes over at 100 %
        self.upload_progress = int(fraction * 100)

    @rx.event
    def upload_cancelled(self):
        self.uploading, self.upload_progress = False, 0

    @rx.event
    def upload_rejected(self, rejected: list[dict]):
        self.uploading = False
        messages = [_rejection_message(item) for item in rejected or []]
        self.composer_error = messages[0] if messages else ""

    @rx.event
    async def handle_upload(self, files: list[rx.UploadFile]):
        self.uploading, self.upload_progress = False, 0
        if not files:
            return
        user = self._current_user()
        if user is None or not self.has_conversation:
            return
        upload = files[0]
        filename = (upload.filename or "attachment").rsplit("/", 1)[-1]
        declared = getattr(upload, "content_type", None) or ""
        try:  # copied in chunks from the spooled upload, the size limit checked as it goes
            stored = await asyncio.to_thread(
                media.save_upload,
                account_id=user.account_id,
                filename=filename,
                file=upload.file,
                declared_mime=declared,
                declared_size=upload.size,
            )
        except MediaRuleError as exc:
            self.composer_error = exc.user_message
            return
        self._set_attachment(
            stored.id, stored.filename or filename, convs.human_size(stored.size), stored.kind
        )
        self.composer_error = ""
        return rx.set_focus("composer-text")

    @rx.event
    def remove_attachment(self):
        self._set_attachment(0, "", "", "")
