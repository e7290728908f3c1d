"""The team inbox in the inbox page: assign / unassign / resolve / snooze the open conversation
(thread header) or the conversations ticked in the list (the bulk bar), the colleagues to
choose from, the two settings (auto-assign on reply: admins; window reminders: each user for
themselves) and the T-60 reminders shown to the assignee's open tabs.

A substate of InboxState, so the live listener hands it each batch (`_on_live`). Identity and
account come from the session on the server; ids from the browser go through the services,
which refuse anything not of the account.
"""

from __future__ import annotations

import datetime as dt

import reflex as rx

from ctreflex import db
from ctreflex.models import utc_now
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services import assignment
from ctreflex.services import status as team_status
from ctreflex.services.assignment import Actor, Colleague, TeamError
from ctreflex.services.status import Notice
from ctreflex.services.timefmt import zone

SNOOZE_PRESETS = ("1h", "3h", "tomorrow", "monday")


def snooze_end(preset: str, tz: str, now: dt.datetime) -> dt.datetime | None:
    """A preset's end: in 1 or 3 hours, tomorrow 09:00 or next Monday 09:00 (viewer's zone)."""
    if preset == "1h":
        return now + dt.timedelta(hours=1)
    if preset == "3h":
        return now + dt.timedelta(hours=3)
    local = now.astimezone(zone(tz))
    if preset == "tomorrow":
        day = local.date() + dt.timedelta(days=1)
    elif preset == "monday":
        day = local.date() + dt.timedelta(days=(7 - local.weekday()) or 7)
    else:
        return None
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=zone(tz)).astimezone(dt.UTC)


def parse_local(value: str, tz: str) -> dt.datetime | None:
    """A datetime-local input's value ("2026-12-03T09:00", seconds optional) in the viewer's
    zone, as UTC; None when it is not one."""
    try:
        naive = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive.astimezone(dt.UTC)
    return naive.replace(tzinfo=zone(tz)).astimezone(dt.UTC)


class TeamState(InboxState):
    colleagues: list[Colleague] = []
    selected: list[int] = []
    auto_assign: bool = True
    reminders: bool = False
    can_admin: bool = False
    notices: list[Notice] = []
    snooze_dialog: bool = False
    snooze_at: str = ""  # the dialog's datetime-local value
    snooze_min: str = ""

    _dismissed: list[int] = []

    @rx.var
    def selected_count(self) -> int:
        return len(self.selected)

    # ------------------------------------------------------------------ loading

    def _load_team(self, session, user) -> None:
        self.colleagues = assignment.colleagues(session=session, account_id=user.account_id)
        found = assignment.settings(
            session=session, account_id=user.account_id, user_id=user.user_id
        )
        self.auto_assign, self.reminders, self.can_admin = (
            found.auto_assign,
            found.reminders,
            found.is_admin,
        )
        self._load_notices(session, user.account_id, user.user_id)

    def _load_notices(self, session, account_id: int, user_id: int) -> None:
        found = team_status.notices_for(session=session, account_id=account_id, user_id=user_id)
        self.notices = [n for n in found if n.id not in self._dismissed]

    @rx.event
    def load(self):
        user = self._current_user()
        if user is None:
            return
        with db.session_scope() as session:
            self._load_team(session, user)

    def _reset_draft(self) -> None:
        self.snooze_dialog, self.snooze_at = False, ""

    def _on_live(self, session, kinds: set, everything: bool) -> None:
        if ("reminder" in kinds or everything) and self._account_id and self._user_id:
            self._load_notices(session, self._account_id, self._user_id)

    # ------------------------------------------------------------------ changes

    async def _change(self, run, ids: list[int], done: str):
        """Run a service change for `ids` as the signed-in user; publish it, reload, tell."""
        user = self._current_user()
        if user is None:
            return
        try:
            with db.session_scope() as session:
                changes = run(session, user, [int(i) for i in ids])
        except TeamError as exc:
            return rx.toast.error(exc.message, id="team-error")
        await assignment.publish(changes)
        self._reload()
        return rx.toast.success(done, id="team-done") if done else None

    def _assign(self, ids: list[int], assignee_id: int | str | None, done: str):
        """`assignee_id` "me": the signed-in user (from the session, never the browser)."""

        def run(session, user, ids):
            return assignment.assign(
                session=session,
                account_id=user.account_id,
                conversation_ids=ids,
                assignee_id=user.user_id if assignee_id == "me" else assignee_id,
                actor=Actor(user_id=user.user_id),
            )

        return self._change(run, ids, done)

    def _status(self, ids: list[int], status: str, until=None, done: str = ""):
        def run(session, user, ids):
            return team_status.set_status(
                session=session,
                account_id=user.account_id,
                conversation_ids=ids,
                status=status,
                until=until,
                actor=Actor(user_id=user.user_id),
            )

        return self._change(run, ids, done)

    def _name(self, user_id: int) -> str:
        return next((c.name for c in self.colleagues if c.id == user_id), "a colleague")

    @rx.event
    async def assign_to(self, user_id: int):
        """The open conversation to a colleague."""
        return await self._assign([self.open_id], int(user_id), "")

    @rx.event
    async def assign_me(self):
        return await self._assign([self.open_id], "me", "")

    @rx.event
    async def unassign(self):
        return await self._assign([self.open_id], None, "")

    @rx.event
    async def resolve(self):
        return await self._status([self.open_id], "resolved")

    @rx.event
    async def reopen(self):
        return await self._status([self.open_id], "open")

    @rx.event
    async def snooze(self, preset: str):
        until = snooze_end(preset, self._tz, utc_now())
        if until is None:
            return rx.toast.error("Choose when the snooze ends.", id="team-error")
        return await self._status([self.open_id], "snoozed", until)

    @rx.event
    def open_snooze_dialog(self):
        local = utc_now().astimezone(zone(self._tz)).replace(microsecond=0)
        self.snooze_min = local.strftime("%Y-%m-%dT%H:%M")
        self.snooze_at = (local + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        self.snooze_dialog = True

    @rx.event
    def set_snooze_dialog(self, open_: bool):
        self.snooze_dialog = bool(open_)

    @rx.event
    def set_snooze_at(self, value: str):
        self.snooze_at = value[:32]

    @rx.event
    async def snooze_custom(self):
        until = parse_local(self.snooze_at, self._tz)
        if until is None:
            return rx.toast.error("Enter a date and time for the snooze's end.", id="team-error")
        result = await self._status([self.open_id], "snoozed", until)
        if self.detail.status == "snoozed":
            self.snooze_dialog = False
        return result

    # ------------------------------------------------------------------ the list's selection

    @rx.event
    def toggle_selected(self, conversation_id: int):
        cid = int(conversation_id)
        self.selected = (
            [i for i in self.selected if i != cid]
            if cid in self.selected
            else [*self.selected, cid]
        )

    @rx.event
    def clear_selection(self):
        self.selected = []

    async def _bulk(self, coro):
        result = await coro
        self.selected = []
        return result

    @rx.event
    async def bulk_assign(self, user_id: int):
        n = len(self.selected)
        done = f"{n} conversation(s) assigned to {self._name(int(user_id))}"
        return await self._bulk(self._assign(self.selected, int(user_id), done))

    @rx.event
    async def bulk_assign_me(self):
        done = f"{len(self.selected)} conversation(s) assigned to you"
        return await self._bulk(self._assign(self.selected, "me", done))

    @rx.event
    async def bulk_unassign(self):
        done = f"{len(self.selected)} conversation(s) unassigned"
        return await self._bulk(self._assign(self.selected, None, done))

    @rx.event
    async def bulk_resolve(self):
        done = f"{len(self.selected)} conversation(s) resolved"
        return await self._bulk(self._status(self.selected, "resolved", done=done))

    # ------------------------------------------------------------------ settings, reminders

    @rx.event
    def set_auto_assign(self, enabled: bool):
        user = self._current_user()
        if user is None:
            return
        try:
            with db.session_scope() as session:
                assignment.set_auto_assign(
                    session=session,
                    account_id=user.account_id,
                    user_id=user.user_id,
                    enabled=bool(enabled),
                )
        except TeamError as exc:
            return rx.toast.error(exc.message, id="team-error")
        self.auto_assign = bool(enabled)

    @rx.event
    def set_reminders(self, enabled: bool):
        user = self._current_user()
        if user is None:
            return
        with db.session_scope() as session:
            assignment.set_window_reminders(
                session=session,
                account_id=user.account_id,
                user_id=user.user_id,
                enabled=bool(enabled),
            )
        self.reminders = bool(enabled)

    @rx.event
    def dismiss_notice(self, notice_id: int):
        self._dismissed = [*self._dismissed[-50:], int(notice_id)]
        self.notices = [n for n in self.notices if n.id != int(notice_id)]
