"""Internal notes and @mentions in the open conversation (NotesState, a substate of
InboxState): the composer's Reply / Note mode, the "@" list of the account's users, adding a
note (never a send: services/notes.py stores it apart from messages), and the signed-in
user's Mentions view of the list with its unread count.

The composer's send (ComposerState.send) hands a submitted draft here while the mode is Note,
so a note can never leave through the send path."""

from __future__ import annotations

import json
import re

import reflex as rx

from ctreflex import db, routes
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import notes
from ctreflex.services.notes import MentionOption, NoteError

CLEAR_DRAFT = "window.ctInbox && window.ctInbox.clearComposer()"
_TRAILING_MENTION = re.compile(r"(?:^|\s)@([^\s@]{0,40})$")
MENTION_LIST_MAX = 8


def mention_query(text: str) -> str | None:
    """The partial name after a trailing "@" ("" just after the @), None when not mentioning."""
    found = _TRAILING_MENTION.search(text or "")
    return found.group(1) if found else None


class NotesState(InboxState):
    note_mode: bool = False
    note_error: str = ""
    mention_picking: bool = False
    mention_matches: list[MentionOption] = []
    mention_unread: int = 0  # conversations with a mention of me I have not opened since

    # ------------------------------------------------------------------ hooks of InboxState

    def _reset_draft(self) -> None:
        self.note_mode, self.note_error = False, ""
        self._close_mentions()

    def _on_open(self, session) -> None:
        user_id = self._user_id
        if self.open_id and user_id:
            notes.mark_mentions_read(
                session=session,
                account_id=self._account_id,
                user_id=user_id,
                conversation_id=self.open_id,
            )
        self._count(session)

    def _on_live(self, session, kinds: set, everything: bool) -> None:
        if not (everything or "conversation" in kinds):
            return  # a note is a conversation event: a message or a status changes no mention
        if self.open_id and self._user_id:  # a mention arriving where I am looking is read
            notes.mark_mentions_read(
                session=session,
                account_id=self._account_id,
                user_id=self._user_id,
                conversation_id=self.open_id,
            )
        self._count(session)

    def _count(self, session) -> None:
        self.mention_unread = (
            notes.unread_mentions(
                session=session, account_id=self._account_id, user_id=self._user_id
            )
            if self._account_id and self._user_id
            else 0
        )

    def _close_mentions(self) -> None:
        self.mention_picking, self.mention_matches = False, []

    # ------------------------------------------------------------------ the mode

    @rx.event
    def set_mode(self, mode: str):
        """ "reply" or "note" (the composer's toggle)."""
        self.note_mode = mode == "note"
        self.note_error = ""
        self._close_mentions()
        return rx.set_focus("composer-text")

    # ------------------------------------------------------------------ @mentions

    @rx.event
    def draft_changed(self, text: str):
        """The draft changed (debounced): offer the account's users after a trailing "@"."""
        query = mention_query(str(text or "")[-200:]) if self.note_mode else None
        user = self._current_user() if query is not None else None
        if query is None or user is None:
            if self.mention_picking:
                self._close_mentions()
            return
        with db.session_scope() as session:
            options = notes.mention_options(session=session, account_id=user.account_id)
        q = query.lower()
        matches = [
            o
            for o in options
            if o.id != user.user_id
            and (
                o.name.lower().startswith(q) or any(p.lower().startswith(q) for p in o.name.split())
            )
        ]
        self.mention_matches = matches[:MENTION_LIST_MAX]
        self.mention_picking = True

    @rx.event
    def choose_mention(self, user_id: int):
        option = next((o for o in self.mention_matches if o.id == int(user_id or 0)), None)
        self._close_mentions()
        if option is None:
            return
        return rx.call_script(
            f"window.ctAssist && window.ctAssist.completeMention({json.dumps(option.name)})"
        )

    @rx.event
    def close_mentions(self):
        self._close_mentions()

    # ------------------------------------------------------------------ adding a note

    @rx.event
    async def add_note(self, form: dict):
        body = str((form or {}).get("message", "") or "")
        user = self._current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        if not self.has_conversation:
            return
        with db.session_scope() as session:
            try:
                notes.create_note(
                    session=session,
                    account_id=user.account_id,
                    conversation_id=self.open_id,
                    author_user_id=user.user_id,
                    body=body,
                )
            except NoteError as exc:
                self.note_error = exc.message
                return
        self.note_error = ""
        self._close_mentions()
        await broker.publish(
            user.account_id,
            LiveEvent.conversation(self.open_id, "note"),
        )
        self._reload()
        return rx.call_script(CLEAR_DRAFT)

    # ------------------------------------------------------------------ the Mentions view

    @rx.event
    def toggle_mentions_view(self):
        """The list shows only the conversations whose notes mention me (or all again)."""
        self.mentions_view = not self.mentions_view
        self._reload_list()
