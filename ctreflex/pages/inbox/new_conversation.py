"""'New conversation' (issue 14): find a contact or type a number with its country, see what
it would cost and the sending number's messaging limit, then choose the opening template in the
template picker. Nothing is created here: the contact and its conversation are created by
services/new_conversation.py when the template is sent."""

from __future__ import annotations

import dataclasses

import reflex as rx

from ctreflex import db, routes
from ctreflex.pages.inbox.picker import TemplatePickerState
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services import new_conversation as nc
from ctreflex.services.new_conversation import ContactPick, InvalidRecipient, Recipient


class NewConversationState(InboxState):
    nc_open: bool = False
    nc_query: str = ""
    nc_matches: list[ContactPick] = []
    nc_country: str = "US"
    nc_error: str = ""
    nc_error_field: str = ""  # number | name
    # the chosen recipient and what the number allows for them
    nc_to_name: str = ""
    nc_to_number: str = ""
    nc_to_country: str = ""
    nc_conversation_id: int = 0
    nc_from: str = ""
    nc_limit: str = ""
    nc_level: str = ""  # "" | ok | warn | full
    nc_refusal: str = ""
    nc_cost: str = ""
    _to: dict = {}

    @rx.var
    def nc_chosen(self) -> bool:
        return self.nc_to_number != ""

    def _clear_choice(self) -> None:
        self._to = {}
        self.nc_to_name = self.nc_to_number = self.nc_to_country = ""
        self.nc_conversation_id = 0
        self.nc_from = self.nc_limit = self.nc_level = self.nc_refusal = self.nc_cost = ""

    def _choose(self, to: Recipient) -> None:
        self._to = dataclasses.asdict(to)
        self.nc_to_name, self.nc_to_number = to.name, to.number
        self.nc_to_country, self.nc_conversation_id = to.country, to.conversation_id
        self.nc_error = self.nc_error_field = ""
        view = nc.outlook(account_id=self._account_id, to=to)
        self.nc_from, self.nc_limit, self.nc_level = view.number, view.limit_text, view.level
        self.nc_refusal = view.refusal
        with db.session_scope() as session:
            self.nc_cost = nc.cost_line(session=session, account_id=self._account_id, to=to)

    @rx.event
    def open_new(self):
        user = self._current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        self._remember(user)
        self._clear_choice()
        self.nc_query, self.nc_matches, self.nc_error, self.nc_error_field = "", [], "", ""
        with db.session_scope() as session:
            self.nc_country = nc.default_region(session=session, account_id=self._account_id)
        self.nc_open = True

    @rx.event
    def set_nc_open(self, value: bool):
        if value:
            return NewConversationState.open_new
        self.nc_open = False

    @rx.event
    def set_nc_query(self, value: str):
        if self._current_user() is None:
            return
        self.nc_query = (value or "")[:100]
        with db.session_scope() as session:
            self.nc_matches = nc.find_contacts(
                session=session, account_id=self._account_id, query=self.nc_query
            )

    @rx.event
    def pick_contact(self, contact_id: int):
        if self._current_user() is None:
            return
        try:
            with db.session_scope() as session:
                to = nc.recipient_for_contact(
                    session=session, account_id=self._account_id, contact_id=int(contact_id)
                )
        except (InvalidRecipient, TypeError, ValueError):
            self.nc_error, self.nc_error_field = "This contact does not exist.", "contact"
            return
        self._choose(to)

    @rx.event
    def check_number(self, form: dict):
        """The typed number (with the chosen country) and the optional name."""
        if self._current_user() is None:
            return
        form = form or {}
        self.nc_country = str(form.get("country") or self.nc_country)[:2]
        try:
            with db.session_scope() as session:
                to = nc.recipient_for_number(
                    session=session,
                    account_id=self._account_id,
                    raw=str(form.get("number") or "")[:40],
                    region=self.nc_country,
                    name=str(form.get("name") or "")[:200],
                )
        except InvalidRecipient as exc:
            self.nc_error, self.nc_error_field = exc.message, exc.field
            return rx.set_focus("nc-" + exc.field)
        self._choose(to)

    @rx.event
    def clear_choice(self):
        self._clear_choice()

    @rx.event
    async def choose_template(self):
        """On to the template picker, for this recipient."""
        if self._current_user() is None or not self._to or self.nc_refusal:
            return
        picker = await self.get_state(TemplatePickerState)
        picker._remember(self._current_user())
        picker._open_for(Recipient(**self._to))
        self.nc_open = False
