"""Canned replies in the composer (CannedState, a substate of InboxState): typing "/" at the
start of a reply opens the account's snippets filtered by what follows; choosing one (arrows
and Enter, or a click: /assist.js) puts its text in the composer with the variables filled in
by the server (services/canned.py), which also refuses it outside the 24-hour window."""

from __future__ import annotations

import json
import re

import reflex as rx

from ctreflex import db
from ctreflex.pages.inbox.notes import NotesState
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services import canned
from ctreflex.services.canned import CannedError, CannedRow

_SLASH = re.compile(r"^/([a-z0-9_-]{0,32})$", re.IGNORECASE)
LIST_MAX = 8


def slash_query(text: str) -> str | None:
    """ "hou" for a draft "/hou"; None when the draft is not a lone slash command."""
    found = _SLASH.match((text or "").strip())
    return found.group(1).lower() if found else None


class CannedState(InboxState):
    canned_open: bool = False
    canned_rows: list[CannedRow] = []
    canned_query: str = ""
    canned_error: str = ""

    def _reset_draft(self) -> None:
        self._close()

    def _close(self) -> None:
        self.canned_open, self.canned_rows, self.canned_query = False, [], ""
        self.canned_error = ""

    @rx.var
    def canned_blocked(self) -> str:
        """Why canned replies can't be used now ("" when they can)."""
        if self.detail.channel == "whatsapp" and self.detail.window_state not in (
            "open",
            "closing",
        ):
            return (
                "Outside the 24-hour window canned replies can't be sent: use Choose template "
                "to send an approved template."
            )
        return ""

    @rx.event
    async def draft_changed(self, text: str):
        """The draft changed (debounced): "/…" opens the list; anything else closes it."""
        query = slash_query(str(text or "")[:40])
        notes_state = await self.get_state(NotesState)  # sibling: a note takes no snippet
        user = self._current_user() if query is not None else None
        if query is None or user is None or notes_state.note_mode or not self.has_conversation:
            if self.canned_open:
                self._close()
            return
        with db.session_scope() as session:
            rows = canned.list_replies(session=session, account_id=user.account_id, query=query)
        self.canned_rows, self.canned_query = rows[:LIST_MAX], query
        self.canned_open, self.canned_error = True, ""

    @rx.event
    def close_canned(self):
        self._close()

    @rx.event
    def choose_canned(self, reply_id: int):
        user = self._current_user()
        if user is None or not self.has_conversation:
            return
        with db.session_scope() as session:
            try:
                text = canned.render(
                    session=session,
                    account_id=user.account_id,
                    reply_id=int(reply_id or 0),
                    conversation_id=self.open_id,
                    user_id=user.user_id,
                )
            except CannedError as exc:
                self.canned_error = exc.message
                return
        self._close()
        return rx.call_script(f"window.ctAssist && window.ctAssist.setDraft({json.dumps(text)})")
