"""/numbers' state: the numbers as view rows, the gate, prerequisites, disable and enable."""

from __future__ import annotations

import dataclasses

import reflex as rx

from ctreflex import db
from ctreflex.pages.admin import admin_user
from ctreflex.pages.admin_action import admin_action
from ctreflex.services import admin, number_limits, numbers
from ctreflex.services.auth import CurrentUser
from ctreflex.services.numbers import NumberError, Prerequisite
from ctreflex.services.timefmt import format_local
from ctreflex.state.auth import AuthState

CLEAR = ("notice", "page_error")  # the page's messages


@dataclasses.dataclass(frozen=True)
class NumberView:
    id: int
    channel: str
    number: str
    display_name: str
    verified_name: str
    name_status: str
    quality: str
    messaging_limit: str  # "2,000 customers / 24 h"
    throughput: str
    status: str  # connected | disabled | … (conditions)
    status_label: str  # "Connected"
    name_ok: bool
    limit_used: str  # "187 of 250 in the last 24 h" ("" for SMS)
    limit_warn: bool  # at 80 % or more
    limit_full: bool
    limit_note: str  # what the warning means
    note: str


class NumbersState(AuthState):
    numbers: list[NumberView] = []
    prerequisites: list[Prerequisite] = []
    wa_allowed: bool = False
    wa_reason: str = ""
    cap: int = 0
    used: int = 0
    cap_reason: str = ""
    notice: str = ""
    page_error: str = ""

    def _refresh(self, user: CurrentUser) -> None:
        account_id = user.account_id
        with db.session_scope() as session:
            gate = numbers.gate(session=session, account_id=account_id)
            self.wa_allowed, self.wa_reason = gate.allowed, gate.reason
            self.cap, self.used = gate.cap, gate.used
            self.cap_reason = ""
            if gate.allowed:
                try:
                    numbers.require_can_connect(session=session, account_id=account_id)
                except NumberError as exc:
                    self.cap_reason = exc.plain_words
            self.prerequisites = numbers.prerequisites(session=session, account_id=account_id)
            rows = admin.list_numbers(session=session, account_id=account_id)
        views = []
        with db.session_scope() as session:
            uses = {
                n.id: number_limits.limit_use(session=session, number_id=n.id)
                for n in rows
                if n.channel == "whatsapp"
            }
        for n in rows:
            note = ""
            if n.channel == "whatsapp" and not gate.allowed:
                continue  # the channel is hidden for this plan
            if n.channel == "whatsapp" and n.status == "connected" and not gate.payment_method:
                note = "Sending disabled: add a payment method to the WhatsApp account in Meta."
            elif n.status == "disabled":
                note = "Disabled here; still in your WhatsApp Business Account in Meta."
            use = uses.get(n.id)
            limit_note = ""
            if use is not None and use.full:
                limit_note = (
                    "Limit reached: templates to new customers are refused until room frees up"
                    + (f" ({format_local(use.frees_at, self.timezone)})." if use.frees_at else ".")
                )
            elif use is not None and use.warn:
                limit_note = "Over 80 % of the limit: new customers may soon be refused."
            is_wa = n.channel == "whatsapp"
            views.append(
                NumberView(
                    id=n.id,
                    channel=n.channel,
                    number=n.number,
                    display_name=n.display_name,
                    verified_name=n.verified_name,
                    name_status=numbers.name_status_label(n.name_status) if n.name_status else "",
                    quality=numbers.quality_label(n.quality) if is_wa else "",
                    messaging_limit=numbers.tier_label(n.messaging_limit) if is_wa else "",
                    throughput=numbers.throughput_label(n.throughput) if is_wa else "",
                    status=n.status,
                    status_label=numbers.status_label(n.status),
                    name_ok=n.name_status.upper() in ("APPROVED", "AVAILABLE_WITHOUT_REVIEW"),
                    limit_used=use.text if use is not None else "",
                    limit_warn=bool(use and use.warn),
                    limit_full=bool(use and use.full),
                    limit_note=limit_note,
                    note=note,
                )
            )
        self.numbers = views

    @rx.event
    def load(self):
        self.notice = ""
        self.page_error = ""
        user = admin_user(self)
        if user is None:
            self.numbers = []
            return
        self._refresh(user)

    # ---------------------------------------------------------------------- disable / enable

    confirm_id: int = 0
    confirm_number: str = ""

    @rx.event
    def ask_disable(self, number_id: int, number: str):
        self.confirm_id, self.confirm_number = int(number_id), str(number)

    @rx.event
    def set_confirm_open(self, value: bool):
        if not value:
            self.confirm_id, self.confirm_number = 0, ""

    @rx.event
    def confirm_disable(self):
        number_id = self.confirm_id
        self.confirm_id, self.confirm_number = 0, ""
        if number_id:
            return NumbersState.disable(number_id)

    @rx.event
    def disable(self, number_id: int):
        def work(session, user) -> str:
            row = numbers.disable(
                session=session, account_id=user.account_id, number_id=int(number_id)
            )
            return f"{row.e164} is disabled. It stays in your account in Meta."

        admin_action(self, work, clear=CLEAR, error="page_error")

    @rx.event
    def enable(self, number_id: int):
        def work(session, user) -> str:
            row = numbers.enable(
                session=session, account_id=user.account_id, number_id=int(number_id)
            )
            return f"{row.e164} is enabled again."

        admin_action(self, work, clear=CLEAR, error="page_error")
