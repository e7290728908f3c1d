"""/numbers (admins): the account's numbers, the prerequisites, and the "Connect WhatsApp
number" wizard (account and token, pick the number, request a code, enter it, register)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.pages.admin import admin_user, error_callout, notice_callout, page_body
from ctreflex.services import admin, numbers
from ctreflex.services.numbers import NumberError, Prerequisite, WabaNumber
from ctreflex.services.timefmt import format_local
from ctreflex.state.auth import AuthState


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


STEPS = ["Account", "Number", "Code", "Register"]


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

    # the wizard
    wizard_open: bool = False
    step: int = 1
    waba_id: str = ""
    token: str = ""
    waba_numbers: list[WabaNumber] = []
    pnid: str = ""
    method: str = "SMS"
    code: str = ""
    pin: str = ""
    busy: bool = False
    code_sent_to: str = ""
    err_title: str = ""
    err_text: str = ""
    err_todo: str = ""
    _sealed: str = ""
    _waba: str = ""

    def _refresh(self, account_id: int) -> None:
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
                n.id: numbers.limit_use(session=session, number_id=n.id)
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
        self._refresh(user.account_id)

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
        user = admin_user(self)
        if user is None:
            return
        self.notice = self.page_error = ""
        with db.session_scope() as session:
            try:
                row = numbers.disable(
                    session=session, account_id=user.account_id, number_id=int(number_id)
                )
                self.notice = f"{row.e164} is disabled. It stays in your account in Meta."
            except NumberError as exc:
                self.page_error = exc.plain_words
        self._refresh(user.account_id)

    @rx.event
    def enable(self, number_id: int):
        user = admin_user(self)
        if user is None:
            return
        self.notice = self.page_error = ""
        with db.session_scope() as session:
            try:
                row = numbers.enable(
                    session=session, account_id=user.account_id, number_id=int(number_id)
                )
                self.notice = f"{row.e164} is enabled again."
            except NumberError as exc:
                self.page_error = exc.plain_words
        self._refresh(user.account_id)

    # ------------------------------------------------------------------------------ wizard

    def _clear_error(self) -> None:
        self.err_title = self.err_text = self.err_todo = ""

    def _show(self, exc: NumberError) -> None:
        self.err_title, self.err_text, self.err_todo = exc.title, exc.plain_words, exc.what_to_do

    def _reset_wizard(self) -> None:
        self.step = 1
        self.waba_id = self.token = self.pnid = self.code = self.pin = ""
        self.method = "SMS"
        self.waba_numbers = []
        self.code_sent_to = ""
        self._sealed = self._waba = ""
        self.busy = False
        self._clear_error()

    @rx.event
    def open_wizard(self):
        user = admin_user(self)
        if user is None:
            return
        self._reset_wizard()
        with db.session_scope() as session:
            try:
                numbers.require_can_connect(session=session, account_id=user.account_id)
            except NumberError as exc:
                self.page_error = exc.plain_words
                return
        self.wizard_open = True

    @rx.event
    def set_wizard_open(self, value: bool):
        self.wizard_open = bool(value)
        if not value:
            self._reset_wizard()

    @rx.event
    def set_waba_id(self, value: str):
        self.waba_id = value.strip()[:40]

    @rx.event
    def set_token(self, value: str):
        self.token = value[:1024]

    @rx.event
    def set_pnid(self, value: str):
        self.pnid = value

    @rx.event
    def set_method(self, value: str):
        self.method = "VOICE" if value == "VOICE" else "SMS"

    @rx.event
    def set_code(self, value: str):
        self.code = value[:12]

    @rx.event
    def set_pin(self, value: str):
        self.pin = value[:12]

    @rx.event
    def back(self):
        self._clear_error()
        self.step = max(1, self.step - 1)

    @rx.event
    async def submit_account(self, form: dict | None = None):
        user = admin_user(self)
        if user is None:
            return
        self._clear_error()
        self.busy = True
        yield
        try:
            rows = await numbers.list_waba_numbers(
                account_id=user.account_id, waba_id=self.waba_id, token=self.token
            )
        except NumberError as exc:
            self._show(exc)
            self.busy = False
            return
        self._sealed = numbers.sealed(self.token)
        self._waba = self.waba_id
        self.token = ""  # never kept in the browser's state, never shown again
        self.waba_numbers = rows
        free = [r for r in rows if not r.connected_here]
        self.pnid = free[0].phone_number_id if free else ""
        self.step = 2
        self.busy = False

    @rx.event
    async def send_code(self, form: dict | None = None):
        user = admin_user(self)
        if user is None or not self._sealed:
            return
        self._clear_error()
        if not self.pnid:
            self.err_title, self.err_text = "Pick a number", "Choose the number to connect."
            return
        self.busy = True
        yield
        try:
            await numbers.request_code(
                account_id=user.account_id,
                token=numbers.unsealed(self._sealed),
                phone_number_id=self.pnid,
                method=self.method,
            )
        except NumberError as exc:
            self._show(exc)
            self.busy = False
            return
        picked = next((r for r in self.waba_numbers if r.phone_number_id == self.pnid), None)
        how = "a voice call" if self.method == "VOICE" else "SMS"
        self.code_sent_to = f"Meta sent a 6-digit code by {how} to " + (
            picked.display if picked else "the number"
        )
        self.step = 3
        self.busy = False

    @rx.event
    async def submit_code(self, form: dict | None = None):
        user = admin_user(self)
        if user is None or not self._sealed:
            return
        self._clear_error()
        self.busy = True
        yield
        try:
            await numbers.verify_code(
                account_id=user.account_id,
                token=numbers.unsealed(self._sealed),
                phone_number_id=self.pnid,
                code=self.code,
            )
        except NumberError as exc:
            self._show(exc)
            self.busy = False
            return
        self.step = 4
        self.busy = False

    @rx.event
    async def submit_pin(self, form: dict | None = None):
        user = admin_user(self)
        if user is None or not self._sealed:
            return
        self._clear_error()
        self.busy = True
        yield
        try:
            await numbers.register_and_enable(
                account_id=user.account_id,
                waba_id=self._waba,
                token=numbers.unsealed(self._sealed),
                phone_number_id=self.pnid,
                pin=self.pin,
            )
        except NumberError as exc:
            self._show(exc)
            self.busy = False
            return
        picked = next((r for r in self.waba_numbers if r.phone_number_id == self.pnid), None)
        self.wizard_open = False
        self._reset_wizard()
        self.notice = (
            f"{picked.display if picked else 'The number'} is connected and enabled for WhatsApp."
        )
        self._refresh(user.account_id)


# ---------------------------------------------------------------------------------- the table


def _status_badge(n: rx.Var[NumberView]) -> rx.Component:
    return rx.badge(
        n.status_label,
        color_scheme=rx.match(n.status, ("connected", "green"), ("disabled", "gray"), "amber"),
    )


def _confirm_disable() -> rx.Component:
    """Disabling stops every send from the number: ask first, naming it."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Disable " + NumbersState.confirm_number + "?"),
            rx.alert_dialog.description(
                "No messages can be sent or received here from "
                + NumbersState.confirm_number
                + " until you enable it again. It stays in your WhatsApp Business Account "
                "in Meta.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Disable",
                        color_scheme="red",
                        on_click=NumbersState.confirm_disable,
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
            max_width="440px",
        ),
        open=NumbersState.confirm_id != 0,
        on_open_change=NumbersState.set_confirm_open,
    )


def _limit_cell(n: rx.Var[NumberView]) -> rx.Component:
    return rx.vstack(
        rx.text(n.messaging_limit, white_space="nowrap"),
        rx.cond(
            n.limit_used != "",
            rx.text(
                n.limit_used,
                size="1",
                weight=rx.cond(n.limit_warn, "bold", "regular"),
                color_scheme=rx.cond(n.limit_full, "red", rx.cond(n.limit_warn, "amber", "gray")),
                class_name="limit-used",
            ),
        ),
        rx.cond(
            n.limit_note != "",
            rx.text(n.limit_note, size="1", color_scheme=rx.cond(n.limit_full, "red", "amber")),
        ),
        rx.cond(n.throughput != "", rx.text(n.throughput, size="1", color_scheme="gray")),
        spacing="1",
        min_width="11em",
    )


def _row(n: rx.Var[NumberView]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(n.number, weight="medium", white_space="nowrap"),
                rx.cond(n.note != "", rx.text(n.note, size="1", color_scheme="amber")),
                rx.cond(  # on a phone the limit column is off to the right: its count here too
                    n.limit_used != "",
                    rx.text(
                        n.limit_used,
                        size="1",
                        color_scheme=rx.cond(
                            n.limit_full, "red", rx.cond(n.limit_warn, "amber", "gray")
                        ),
                        display=rx.breakpoints(initial="block", md="none"),
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(rx.cond(n.channel == "whatsapp", "WhatsApp", "SMS")),
        rx.table.cell(n.display_name),
        rx.table.cell(
            rx.cond(
                n.verified_name != "",
                rx.vstack(
                    rx.text(n.verified_name),
                    rx.cond(
                        n.name_status != "",
                        rx.badge(
                            n.name_status,
                            variant="soft",
                            color_scheme=rx.cond(n.name_ok, "green", "gray"),
                        ),
                    ),
                    spacing="1",
                ),
                rx.text("—", color_scheme="gray"),
            )
        ),
        rx.table.cell(n.quality),
        rx.table.cell(_limit_cell(n)),
        rx.table.cell(_status_badge(n)),
        rx.table.cell(
            rx.cond(
                n.status == "connected",
                rx.button(
                    "Disable",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    aria_label="Disable " + n.number,
                    on_click=NumbersState.ask_disable(n.id, n.number),
                ),
                rx.cond(
                    n.status == "disabled",
                    rx.button(
                        "Enable",
                        size="1",
                        variant="soft",
                        aria_label="Enable " + n.number,
                        on_click=NumbersState.enable(n.id),
                    ),
                ),
            )
        ),
    )


def _table() -> rx.Component:
    headers = [
        "Number",
        "Channel",
        "Display name",
        "Verified name",
        "Quality",
        "Messaging limit",
        "Status",
        "Action",
    ]
    return rx.cond(
        NumbersState.numbers.length() > 0,
        rx.box(
            rx.table.root(
                rx.el.caption("Business numbers", class_name="sr-only"),
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(NumbersState.numbers, _row)),
                variant="surface",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.callout("No numbers connected yet.", icon="info", variant="surface"),
    )


# -------------------------------------------------------------------------- prerequisites


def _prereq(p: rx.Var[Prerequisite]) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.match(
                p.state,
                (
                    "done",
                    rx.icon(
                        "circle-check",
                        color="var(--green-10)",
                        size=18,
                        flex_shrink="0",
                        aria_hidden="true",
                    ),
                ),
                (
                    "missing",
                    rx.icon(
                        "circle-alert",
                        color="var(--red-10)",
                        size=18,
                        flex_shrink="0",
                        aria_hidden="true",
                    ),
                ),
                (
                    "recommended",
                    rx.icon(
                        "star",
                        color="var(--amber-10)",
                        size=18,
                        flex_shrink="0",
                        aria_hidden="true",
                    ),
                ),
                rx.icon(
                    "info", color="var(--gray-10)", size=18, flex_shrink="0", aria_hidden="true"
                ),
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(p.title, weight="medium", size="2"),
                    rx.match(
                        p.state,
                        ("done", rx.badge("Done", color_scheme="green")),
                        ("missing", rx.badge("Missing", color_scheme="red")),
                        ("recommended", rx.badge("Recommended", color_scheme="amber")),
                        rx.fragment(),
                    ),
                    align="center",
                    wrap="wrap",
                ),
                rx.text(p.detail, size="2", color_scheme="gray"),
                spacing="1",
            ),
            align="start",
            spacing="2",
        ),
        style={"listStyle": "none", "padding": "0.35rem 0"},
    )


def _prerequisites() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Before you connect WhatsApp", size="3", as_="h2"),
            rx.el.ul(
                rx.foreach(NumbersState.prerequisites, _prereq),
                aria_label="Prerequisites",
                style={"margin": 0, "padding": 0},
            ),
            spacing="2",
        ),
        width="100%",
    )


# ------------------------------------------------------------------------------- the wizard


def _field(label: str, id_: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=id_, style={"fontWeight": 500, "fontSize": "0.9rem"}),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
    )


def _wizard_error() -> rx.Component:
    return rx.cond(
        NumbersState.err_text != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.text(NumbersState.err_title, weight="bold"),
                rx.text(NumbersState.err_text),
                rx.cond(
                    NumbersState.err_todo != "", rx.text("What to do: ", NumbersState.err_todo)
                ),
                spacing="1",
            ),
            color_scheme="red",
            role="alert",
            id="wizard-error",
            width="100%",
        ),
    )


def _steps() -> rx.Component:
    return rx.el.ol(
        *[
            rx.el.li(
                rx.badge(
                    f"{i}. {name}",
                    variant=rx.cond(NumbersState.step == i, "solid", "soft"),
                    color_scheme=rx.cond(NumbersState.step >= i, "green", "gray"),
                ),
                aria_current=rx.cond(NumbersState.step == i, "step", "false"),
                style={"listStyle": "none"},
            )
            for i, name in enumerate(STEPS, start=1)
        ],
        aria_label="Steps",
        style={"display": "flex", "gap": "0.4rem", "flexWrap": "wrap", "margin": 0, "padding": 0},
    )


def _buttons(primary: str, back: bool = True) -> rx.Component:
    return rx.hstack(
        rx.cond(
            back,
            rx.button(
                "Back",
                type="button",
                variant="soft",
                color_scheme="gray",
                on_click=NumbersState.back,
            ),
        ),
        rx.spacer(),
        rx.dialog.close(
            rx.button("Cancel", type="button", variant="soft", color_scheme="gray"),
        ),
        rx.button(primary, type="submit", loading=NumbersState.busy),
        width="100%",
        spacing="2",
    )


def _step_account() -> rx.Component:
    return rx.form(
        rx.vstack(
            _field(
                "WhatsApp Business Account ID",
                "waba-id",
                rx.input(
                    id="waba-id",
                    name="waba-id",
                    value=NumbersState.waba_id,
                    on_change=NumbersState.set_waba_id,
                    input_mode="numeric",
                    placeholder="e.g. 100000000000001",
                    width="100%",
                ),
                "WhatsApp Manager → Account tools → Phone numbers shows the account's ID.",
            ),
            _field(
                "Access token",
                "access-token",
                rx.input(
                    id="access-token",
                    name="access-token",
                    type="password",
                    value=NumbersState.token,
                    on_change=NumbersState.set_token,
                    auto_complete="off",
                    width="100%",
                ),
                "A system-user token with whatsapp_business_management and "
                "whatsapp_business_messaging. It is stored encrypted and never shown again.",
            ),
            _buttons("Find numbers", back=False),
            spacing="3",
        ),
        on_submit=NumbersState.submit_account,
        reset_on_submit=False,
    )


def _step_number() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.fieldset(
                rx.el.legend("Number to connect", style={"fontWeight": 500}),
                rx.radio_group.root(
                    rx.vstack(
                        rx.foreach(
                            NumbersState.waba_numbers,
                            lambda w: rx.el.label(
                                rx.hstack(
                                    rx.radio_group.item(
                                        value=w.phone_number_id, disabled=w.connected_here
                                    ),
                                    rx.text(w.label, size="2"),
                                    align="center",
                                    spacing="2",
                                ),
                            ),
                        ),
                        spacing="2",
                    ),
                    value=NumbersState.pnid,
                    on_change=NumbersState.set_pnid,
                    name="pnid",
                ),
                style={"border": "none", "padding": 0, "margin": 0},
            ),
            rx.el.fieldset(
                rx.el.legend("Send the verification code by", style={"fontWeight": 500}),
                rx.radio_group.root(
                    rx.hstack(
                        rx.el.label(
                            rx.hstack(rx.radio_group.item(value="SMS"), rx.text("SMS", size="2"))
                        ),
                        rx.el.label(
                            rx.hstack(
                                rx.radio_group.item(value="VOICE"), rx.text("Voice call", size="2")
                            )
                        ),
                        spacing="4",
                    ),
                    value=NumbersState.method,
                    on_change=NumbersState.set_method,
                    name="method",
                ),
                style={"border": "none", "padding": 0, "margin": 0},
            ),
            _buttons("Send code"),
            spacing="3",
        ),
        on_submit=NumbersState.send_code,
        reset_on_submit=False,
    )


def _step_code() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(NumbersState.code_sent_to, size="2"),
            _field(
                "Verification code",
                "verification-code",
                rx.input(
                    id="verification-code",
                    name="verification-code",
                    value=NumbersState.code,
                    on_change=NumbersState.set_code,
                    input_mode="numeric",
                    auto_complete="one-time-code",
                    max_length=12,
                    width="100%",
                ),
                "The code is valid for 10 minutes. No code? Go back and request it again.",
            ),
            _buttons("Verify"),
            spacing="3",
        ),
        on_submit=NumbersState.submit_code,
        reset_on_submit=False,
    )


def _step_register() -> rx.Component:
    return rx.form(
        rx.vstack(
            _field(
                "Two-step verification PIN",
                "register-pin",
                rx.input(
                    id="register-pin",
                    name="register-pin",
                    type="password",
                    value=NumbersState.pin,
                    on_change=NumbersState.set_pin,
                    input_mode="numeric",
                    auto_complete="off",
                    max_length=12,
                    width="100%",
                ),
                "6 digits. If the number has no PIN yet, this one becomes its PIN.",
            ),
            _buttons("Register and enable"),
            spacing="3",
        ),
        on_submit=NumbersState.submit_pin,
        reset_on_submit=False,
    )


def _wizard() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Connect a WhatsApp number"),
            rx.dialog.description(
                "Connect a number of your WhatsApp Business Account and enable it here.",
                size="2",
                color_scheme="gray",
            ),
            rx.vstack(
                _steps(),
                _wizard_error(),
                rx.match(
                    NumbersState.step,
                    (1, _step_account()),
                    (2, _step_number()),
                    (3, _step_code()),
                    _step_register(),
                ),
                spacing="3",
                margin_top="0.75rem",
            ),
            max_width="34rem",
        ),
        open=NumbersState.wizard_open,
        on_open_change=NumbersState.set_wizard_open,
    )


def numbers_body() -> rx.Component:
    return page_body(
        notice_callout(NumbersState.notice),
        error_callout(NumbersState.page_error),
        rx.cond(
            NumbersState.wa_allowed,
            rx.hstack(
                rx.vstack(
                    rx.text(
                        "WhatsApp numbers: "
                        + NumbersState.used.to_string()
                        + " of "
                        + NumbersState.cap.to_string(),
                        weight="medium",
                        id="number-cap",
                    ),
                    rx.cond(
                        NumbersState.cap_reason != "",
                        rx.text(
                            NumbersState.cap_reason, size="2", color_scheme="red", id="cap-reason"
                        ),
                    ),
                    spacing="1",
                    flex="1",
                    min_width="14rem",
                ),
                rx.button(
                    rx.icon("plus", size=16, aria_hidden="true"),
                    "Connect WhatsApp number",
                    on_click=NumbersState.open_wizard,
                    disabled=NumbersState.cap_reason != "",
                ),
                width="100%",
                align="center",
                wrap="wrap",
                spacing="3",
            ),
            rx.callout(
                NumbersState.wa_reason,
                icon="lock",
                color_scheme="amber",
                role="status",
                id="whatsapp-unavailable",
                width="100%",
            ),
        ),
        _table(),
        rx.text(
            "Removing a number from your WhatsApp Business Account is done in Meta "
            "(WhatsApp Manager); here a number can only be disabled.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            NumbersState.wa_allowed,
            rx.text(
                "Messaging limit: how many different customers Meta lets a number start "
                "conversations with (a template while their 24-hour window is closed) in any "
                "24 hours. Customers who write first don't count.",
                size="2",
                color_scheme="gray",
            ),
        ),
        rx.cond(NumbersState.wa_allowed, _prerequisites()),
        _wizard(),
        _confirm_disable(),
        nav=False,
    )


@rx.page(
    route=routes.NUMBERS,
    title="Numbers · CT Text",
    on_load=[AuthState.require_admin, NumbersState.load],
)
def numbers_page() -> rx.Component:
    return app_page("Numbers", numbers_body, admin=True)
