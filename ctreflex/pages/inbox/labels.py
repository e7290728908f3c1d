"""Labels in the inbox (LabelsState, a substate of InboxState): the account's labels, those
on the open conversation (added and removed from the thread header), and the list's label
filter. Every change is checked against the signed-in user's account (services/labels.py)
and reaches the account's other tabs live."""

from __future__ import annotations

import reflex as rx

from ctreflex import db
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import labels
from ctreflex.services.labels import LabelChip, LabelError


class LabelsState(InboxState):
    label_options: list[LabelChip] = []  # the account's labels
    open_labels: list[LabelChip] = []  # on the open conversation
    label_error: str = ""

    @rx.var
    def addable_labels(self) -> list[LabelChip]:
        on = {label.id for label in self.open_labels}
        return [label for label in self.label_options if label.id not in on]

    @rx.var
    def label_filter_value(self) -> str:
        return str(self.label_filter) if self.label_filter else "any"

    @rx.var
    def label_filter_name(self) -> str:
        chosen = next((lb for lb in self.label_options if lb.id == self.label_filter), None)
        return chosen.name if chosen is not None else "Any label"

    # ------------------------------------------------------------------ hooks of InboxState

    def _reset_draft(self) -> None:
        self.label_error = ""

    def _on_open(self, session) -> None:
        self._load_labels(session)

    def _on_live(self, session, kinds: set, everything: bool) -> None:
        if everything or "conversation" in kinds:  # labels change with conversation events only
            self._load_labels(session)

    def _load_labels(self, session) -> None:
        if not self._account_id:
            return
        self.label_options = labels.list_labels(session=session, account_id=self._account_id)
        self.open_labels = (
            labels.conversation_labels(
                session=session, account_id=self._account_id, conversation_id=self.open_id
            )
            if self.open_id
            else []
        )
        if self.label_filter and all(lb.id != self.label_filter for lb in self.label_options):
            self.label_filter = 0  # deleted by an admin meanwhile

    # ------------------------------------------------------------------ events

    async def _change(self, label_id: int, add: bool):
        user = self._current_user()
        if user is None or not self.has_conversation:
            return
        with db.session_scope() as session:
            try:
                change = labels.add_to_conversation if add else labels.remove_from_conversation
                changed = change(
                    session=session,
                    account_id=user.account_id,
                    conversation_id=self.open_id,
                    label_id=int(label_id or 0),
                )
                self.label_error = ""
            except LabelError as exc:
                self.label_error = exc.message
                changed = False
        if changed:
            await broker.publish(
                user.account_id,
                LiveEvent.conversation(self.open_id, "labels"),
            )
        with db.session_scope() as session:
            self._load_labels(session)
            self._load_list(session)

    @rx.event
    async def add_label(self, label_id: int):
        await self._change(label_id, add=True)

    @rx.event
    async def remove_label(self, label_id: int):
        await self._change(label_id, add=False)

    @rx.event
    def set_label_filter(self, value: str):
        """The list's label filter: a label id of the account, or "any"."""
        user = self._current_user()
        if user is None:
            return
        chosen = int(value) if str(value or "").isdigit() else 0
        if chosen and all(label.id != chosen for label in self.label_options):
            with db.session_scope() as session:  # the options may be older than the label
                self._load_labels(session)
            if all(label.id != chosen for label in self.label_options):
                chosen = 0
        self.label_filter = chosen
        self._reload_list()
