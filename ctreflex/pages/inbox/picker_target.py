"""Who the template picker sends to, and what it knows before Send (issue 14), as a mixin of
TemplatePickerState: the open conversation's customer, or the recipient chosen in "New
conversation" (a contact, or a number that never wrote: created only when the template goes).

Before Send the picker shows, per template, every refusal the send path would give (the plan
and early access, a paused or unapproved template, marketing to a US number, a marketing
opt-out, the messaging limit at 100 %), asked of services/new_conversation.py, which asks
outbound and templates themselves; the sending number's "N of 250 in the last 24 h"; and the
variables filled in advance from what is known (services/template_prefill.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from ctreflex import db, routes
from ctreflex.models import utc_now
from ctreflex.services import conversations as convs
from ctreflex.services import new_conversation as nc
from ctreflex.services import phones, template_prefill, template_send
from ctreflex.services.new_conversation import Recipient
from ctreflex.services.timefmt import zone
from ctreflex.whatsapp.templates import FieldError


async def send(job: dict[str, Any]) -> int:
    """Send one queued template; the conversation it went to (raises SendRefused)."""
    to = job.pop("to", None)
    if to:
        job.pop("reply_to_id", None)
        job.pop("conversation_id", None)
        return await nc.start_with_template(to=Recipient(**to), **job)
    await template_send.send_template(**job)
    return job["conversation_id"]


def local_time(tz: str) -> str:
    """Now, as the customer's phone will show the message's time to the agent ("14:05")."""
    return utc_now().astimezone(zone(tz)).strftime("%H:%M")


class PickerTarget(rx.State, mixin=True):
    picker_to: str = ""  # "Maria Lopez (+1 212-555-0142)" when opened from "New conversation"
    picker_refusals: dict[str, str] = {}  # template id -> why it would be refused now
    picker_limit: str = ""  # "187 of 250 in the last 24 h" on the number it goes from
    picker_limit_level: str = ""  # "" | ok | warn | full
    _to: dict[str, Any] = {}  # the Recipient chosen in "New conversation"

    @rx.var
    def picker_blocked(self) -> str:
        """Why the chosen template can't be sent now ("" when it can): Send is disabled."""
        return self.picker_refusals.get(str(self.picker_id), "")

    def _forget_target(self) -> None:
        self._to, self.picker_to = {}, ""
        self.picker_refusals, self.picker_limit, self.picker_limit_level = {}, "", ""

    def _recipient(self, session) -> Recipient | None:
        if self._to:
            return Recipient(**self._to)
        if not self.has_conversation:
            return None
        return nc.recipient_for_conversation(
            session=session, account_id=self._account_id, conversation_id=self.open_id
        )

    def _target_conversation(self) -> int:
        """The conversation the template goes to (0: a number that has none yet)."""
        return int(self._to.get("conversation_id", 0)) if self._to else self.open_id

    def _target_language(self) -> str:
        if not self._to:
            return convs.language_hint(self.detail.region)
        region = phones.parse(self._to["e164"]).region
        return convs.language_hint(region)

    def _load_checks(self, session) -> None:
        """Each listed template's refusal for this recipient, and the messaging limit."""
        to = self._recipient(session)
        if to is None:
            self.picker_refusals, self.picker_limit, self.picker_limit_level = {}, "", ""
            return
        ids = [r.id for r in self.picker_rows]
        if self.picker_id and self.picker_id not in ids:
            ids.append(self.picker_id)
        found = nc.refusals(account_id=self._account_id, to=to, template_ids=ids)
        self.picker_refusals = {str(k): v for k, v in found.items()}
        view = nc.outlook(account_id=self._account_id, to=to)
        self.picker_limit, self.picker_limit_level = view.limit_text, view.level

    def _prefilled(self, session) -> dict[str, str]:
        to = self._recipient(session)
        if to is None:
            return {}
        return template_prefill.known_values(
            session=session,
            account_id=self._account_id,
            template_id=self.picker_id,
            contact_id=to.contact_id,
            typed_name=to.name,
        )

    def _validate(self, values: dict[str, str], header_media_file_id: int | None) -> list:
        with db.session_scope() as session:
            to = self._recipient(session)
        if to is None:
            return [FieldError("conversation", "Choose who the template goes to first.")]
        return nc.validate(
            account_id=self._account_id,
            to=to,
            template_id=self.picker_id,
            values=values,
            header_media_file_id=header_media_file_id,
        )

    def _open_for(self, to: Recipient) -> None:
        """Open the picker for the recipient chosen in "New conversation"."""
        self._reset_draft()
        self._to = dataclasses.asdict(to)
        self.picker_to = to.label
        self.picker_open = True
        with db.session_scope() as session:
            self._load_picker_rows(session)

    def _sent_to(self, conversation_id: int):
        """After a template from "New conversation" went out: its thread."""
        return rx.redirect(routes.conversation_url(conversation_id))
