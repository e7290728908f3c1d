"""The contact panel's edit (issue 14): the open conversation's contact's name and phone
number, validated by services/contact_edit.py (E.164; a number another contact has is
refused with a clear error)."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services import contact_edit
from ctreflex.services.contact_edit import ContactCard
from ctreflex.services.new_conversation import InvalidRecipient


class ContactPanelState(InboxState):
    contact_editing: bool = False
    contact_card: ContactCard = ContactCard()
    contact_error: str = ""
    contact_error_field: str = ""  # name | number
    contact_saved: str = ""

    def _reset_draft(self) -> None:
        self.contact_editing, self.contact_card = False, ContactCard()
        self.contact_error = self.contact_error_field = self.contact_saved = ""

    @rx.event
    def start_edit(self):
        if self._current_user() is None:
            return rx.redirect(routes.LOGIN, replace=True)
        with db.session_scope() as session:
            card = contact_edit.card(
                session=session, account_id=self._account_id, conversation_id=self.open_id
            )
        if card is None:
            return
        self._reset_draft()
        self.contact_card, self.contact_editing = card, True
        return rx.set_focus("contact-name")

    @rx.event
    def cancel_edit(self):
        self._reset_draft()

    @rx.event
    def save_contact(self, form: dict):
        if self._current_user() is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not self.contact_editing or not self.has_conversation:
            return
        form = form or {}
        try:
            with db.session_scope() as session:
                card = contact_edit.save(
                    session=session,
                    account_id=self._account_id,
                    conversation_id=self.open_id,
                    name=str(form.get("name") or "")[:200],
                    number=str(form.get("number") or "")[:40],
                    region=str(form.get("region") or "")[:2],
                )
        except InvalidRecipient as exc:
            self.contact_error, self.contact_error_field = exc.message, exc.field
            return rx.set_focus("contact-" + exc.field)
        self._reset_draft()
        self.contact_saved = (
            f"Saved: {card.name or card.profile_name or card.number}, {card.number}."
        )
        self._reload()
