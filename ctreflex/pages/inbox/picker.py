"""The template picker's state: the approved templates (the customer's language first,
search), then one field per variable of the chosen template beside a live preview, the header
file (uploaded through `media.save_upload` in a worker thread), the price line and the send
(pre-flighted field by field, then delivered by a background event)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from typing import Any

import reflex as rx

from ctreflex import db, routes
from ctreflex.pages.inbox import picker_target
from ctreflex.pages.inbox.composer import CLEAR_COMPOSER, ComposerState
from ctreflex.pages.inbox.picker_target import PickerTarget
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services import media, templates
from ctreflex.services.errors import UserFacingError
from ctreflex.services.templates import FormField, PreviewView, TemplateRow
from ctreflex.whatsapp.limits import MediaRuleError

log = logging.getLogger("ctreflex.inbox")

HEADER_MEDIA = "header.media"  # the key of a template's header file field
HEADER_REJECTED = (
    "Choose a JPEG or PNG photo up to 5 MB, an MP4 video up to 16 MB or a PDF up to "
    "100 MB for the header."
)


@dataclasses.dataclass(frozen=True)
class PickerField:
    """One input of the template form, with its error (a FormField plus UI bits)."""

    key: str
    dom_id: str  # "tf-body-1": a safe element id for focus and aria-describedby
    label: str
    kind: str
    example: str
    required: bool
    max_length: int
    is_media: bool
    error: str = ""
    value: str = ""  # filled in advance from what is known (template_prefill)

    @classmethod
    def of(cls, f: FormField, error: str = "", value: str = "") -> PickerField:
        return cls(
            key=f.key,
            dom_id="tf-" + re.sub(r"[^A-Za-z0-9_-]", "-", f.key),
            label=f.label,
            kind=f.kind,
            example=f.example,
            required=f.required,
            max_length=f.max_length,
            is_media=f.is_media,
            error=error,
            value=value,
        )


@dataclasses.dataclass(frozen=True)
class _FieldError:
    field: str
    message: str


def _with_errors(fields: list[PickerField], errors: dict[str, str]) -> list[PickerField]:
    """The fields with these errors (by key); the other fields keep theirs."""
    return [dataclasses.replace(f, error=errors[f.key]) if f.key in errors else f for f in fields]


async def _deliver(job: dict[str, Any]) -> tuple[str, str, int]:
    """Send one queued template: (refusal, its field, 0), ("", "", conversation) when it went
    out."""
    try:
        conversation_id = await picker_target.send(dict(job))
    except UserFacingError as exc:
        return exc.message, exc.field, 0
    except Exception:
        log.exception("template send failed")
        return (
            "Something went wrong while sending the template; check the thread before "
            "sending it again.",
            "",
            0,
        )
    return "", "", conversation_id


class TemplatePickerState(PickerTarget, InboxState):
    picker_open: bool = False
    picker_query: str = ""
    picker_rows: list[TemplateRow] = []
    picker_id: int = 0
    picker_title: str = ""
    picker_fields: list[PickerField] = []
    preview: PreviewView = PreviewView()
    picker_cost: str = ""
    picker_error: str = ""  # about the template as a whole (status, US marketing, opt-out)
    picker_notice: str = ""  # e.g. the chosen template was paused while the picker was open
    header_media_id: int = 0
    header_media_name: str = ""
    header_uploading: bool = False
    picker_sending: bool = False
    _picker_values: dict[str, str] = {}
    _outbox: list[dict[str, Any]] = []

    @rx.var
    def picker_has_errors(self) -> bool:
        return self.picker_error != "" or any(f.error for f in self.picker_fields)

    # ------------------------------------------------------------------ hooks of InboxState

    def _reset_draft(self) -> None:
        self.picker_open = False
        self.picker_query = ""
        self.picker_rows = []
        self._clear_template()
        self._forget_target()

    def _on_live(self, session, kinds: set, everything: bool) -> None:
        if self.picker_open and (everything or "template" in kinds):
            self._load_picker_rows(session)  # paused templates drop out live

    # ------------------------------------------------------------------ loading

    def _clear_template(self) -> None:
        self.picker_id, self.picker_title = 0, ""
        self.picker_fields, self._picker_values = [], {}
        self.preview = PreviewView()
        self.picker_cost = self.picker_error = self.picker_notice = ""
        self.header_media_id, self.header_media_name = 0, ""
        self.header_uploading = self.picker_sending = False

    def _load_picker_rows(self, session) -> None:
        self.picker_rows = templates.list_templates(
            session=session,
            account_id=self._account_id,
            sendable_only=True,
            prefer_language=self._target_language(),
            search=self.picker_query,
        )
        self._load_checks(session)
        if not self.picker_id:
            return
        sendable = templates.list_templates(
            session=session, account_id=self._account_id, sendable_only=True
        )
        if not any(r.id == self.picker_id for r in sendable):
            title = self.picker_title
            self._clear_template()
            self.picker_notice = (
                f"{title} can no longer be sent: its status changed in Meta (paused, disabled "
                "or no longer approved). Choose another template."
            )

    def _refresh_preview(self, session) -> None:
        values = dict(self._picker_values)
        link = values.get(HEADER_MEDIA, "")
        media_url = ""
        if self.header_media_id:
            values.pop(HEADER_MEDIA, None)
            media_url = f"/media/{self.header_media_id}"
        elif link.startswith("https://"):
            media_url = link
        self.preview = templates.preview(
            session=session,
            account_id=self._account_id,
            template_id=self.picker_id,
            values=values,
            media_url=media_url,
        )
        self.preview = dataclasses.replace(self.preview, time=picker_target.local_time(self._tz))

    def _header_error(self, error: str) -> None:
        self.picker_fields = _with_errors(self.picker_fields, {HEADER_MEDIA: error})

    # ------------------------------------------------------------------ choosing

    @rx.event
    def open_picker(self):
        if not self.has_conversation:
            return
        self._reset_draft()
        self.picker_open = True
        with db.session_scope() as session:
            self._load_picker_rows(session)

    @rx.event
    def set_picker_open(self, value: bool):
        if value:
            return TemplatePickerState.open_picker
        if not self.picker_sending:
            self._reset_draft()

    @rx.event
    def close_picker(self):
        if not self.picker_sending:
            self._reset_draft()

    @rx.event
    def set_picker_query(self, value: str):
        self.picker_query = (value or "")[:100]
        with db.session_scope() as session:
            self._load_picker_rows(session)

    @rx.event
    def choose_template(self, template_id: int):
        row = next((r for r in self.picker_rows if r.id == int(template_id)), None)
        if row is None:
            return
        self._clear_template()
        self.picker_id = row.id
        self.picker_title = f"{row.name} ({row.language})"
        with db.session_scope() as session:
            form = templates.template_form(
                session=session, account_id=self._account_id, template_id=self.picker_id
            )
            self._picker_values = self._prefilled(session)
            known = self._picker_values
            self.picker_fields = [PickerField.of(f, value=known.get(f.key, "")) for f in form]
            self._refresh_preview(session)
            self.picker_cost = templates.cost(
                session=session,
                account_id=self._account_id,
                conversation_id=self._target_conversation(),
                template_id=row.id,
            ).summary
        first = next((f for f in self.picker_fields if not f.is_media), None)
        if first is not None:
            return rx.set_focus(first.dom_id)

    @rx.event
    def back_to_templates(self):
        self._clear_template()
        with db.session_scope() as session:
            self._load_picker_rows(session)

    # ------------------------------------------------------------------ the form

    @rx.event
    def set_template_value(self, key: str, value: str):
        if not self.picker_id:
            return
        key, value = str(key), str(value or "")
        self._picker_values[key] = value
        self.picker_fields = _with_errors(self.picker_fields, {key: ""})
        if key == HEADER_MEDIA or self.picker_error:
            self.picker_error = ""
        with db.session_scope() as session:
            self._refresh_preview(session)

    @rx.event
    async def handle_header_upload(self, files: list[rx.UploadFile]):
        self.header_uploading = False
        if not files or not self.picker_id:
            return
        user = self._current_user()
        if user is None:
            return
        upload = files[0]
        filename = (upload.filename or "header").rsplit("/", 1)[-1]
        try:
            stored = await asyncio.to_thread(
                media.save_upload,
                account_id=user.account_id,
                filename=filename,
                file=upload.file,
                declared_mime=getattr(upload, "content_type", None) or "",
                declared_size=upload.size,
            )
        except MediaRuleError as exc:
            self._header_error(exc.user_message)
            return
        self.header_media_id = stored.id
        self.header_media_name = stored.filename or filename
        error = ""
        want = self.preview.header_kind
        if want and stored.kind != want:
            error = f"This template's header is a {want}; this file is a {stored.kind}."
            self.header_media_id, self.header_media_name = 0, ""
        self._header_error(error)
        with db.session_scope() as session:
            self._refresh_preview(session)

    @rx.event
    def header_upload_started(self, progress: dict):
        try:
            self.header_uploading = float((progress or {}).get("progress", 0)) < 1
        except (TypeError, ValueError):
            self.header_uploading = False

    @rx.event
    def header_upload_rejected(self):
        self.header_uploading = False
        self._header_error(HEADER_REJECTED)

    @rx.event
    def remove_header_media(self):
        self.header_media_id, self.header_media_name = 0, ""
        with db.session_scope() as session:
            self._refresh_preview(session)

    def _template_values(self, form: dict) -> dict[str, str]:
        keys = {f.key for f in self.picker_fields}
        values = {k: str(v) for k, v in self._picker_values.items() if k in keys}
        for k, v in (form or {}).items():
            if k in keys:
                values[k] = str(v or "")
        values = {k: v.strip() if k == HEADER_MEDIA else v for k, v in values.items()}
        if self.header_media_id or not values.get(HEADER_MEDIA):
            values.pop(HEADER_MEDIA, None)
        return values

    def _show_errors(self, errors: list) -> None:
        by_field: dict[str, str] = {}
        general: list[str] = []
        keys = {f.key for f in self.picker_fields}
        for e in errors:
            if e.field in keys:
                by_field.setdefault(e.field, e.message)
            else:
                general.append(e.message)
        self.picker_error = " ".join(dict.fromkeys(general))
        self.picker_fields = [
            dataclasses.replace(f, error=by_field.get(f.key, "")) for f in self.picker_fields
        ]

    # ------------------------------------------------------------------ sending

    @rx.event
    async def submit_template(self, form: dict):
        """Pre-flight every field (nothing leaves when one is wrong), then send."""
        user = self._current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not ((self.has_conversation or self._to) and self.picker_id) or self.picker_sending:
            return
        if self.header_uploading:
            self.picker_error = "Wait for the header upload to finish, then send."
            return
        values = self._template_values(form)
        self._picker_values.update(values)
        errors = self._validate(values, self.header_media_id or None)
        with db.session_scope() as session:
            self._refresh_preview(session)
        self._show_errors(errors)
        if errors:
            first = next((f for f in self.picker_fields if f.error), None)
            return rx.set_focus(first.dom_id) if first is not None else None
        composer = await self.get_state(ComposerState)  # the reply being quoted, if any
        self.picker_sending = True
        self._outbox.append(
            {
                "account_id": user.account_id,
                "user_id": user.user_id,
                "conversation_id": self._target_conversation(),
                "to": dict(self._to) or None,
                "template_id": self.picker_id,
                "values": values,
                "header_media_file_id": self.header_media_id or None,
                "reply_to_id": composer.reply_to_id or None,
            }
        )
        return TemplatePickerState.deliver_template

    @rx.event(background=True)
    async def deliver_template(self):
        async with self:
            if not self._outbox:
                return
            job = self._outbox.pop(0)
        refused, field, went_to = await _deliver(job)
        async with self:
            started = bool(job["to"]) and not refused  # from "New conversation": open it
            same = self._target_conversation() == job["conversation_id"]
            if same and refused and self.picker_id == job["template_id"]:
                self.picker_sending = False
                self._show_errors([_FieldError(field, refused)])
            elif same:
                self._reset_draft()
                composer = await self.get_state(ComposerState)
                composer._set_reply(0, "", "")
            self._reload(thread=same)
        if started:
            return self._sent_to(went_to)
        if same and not refused:
            return rx.call_script(CLEAR_COMPOSER)
