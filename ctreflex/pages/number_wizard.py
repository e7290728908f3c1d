"""/numbers' "Connect WhatsApp number" wizard: its state (NumberWizardState) and dialog."""

from __future__ import annotations

import reflex as rx

from ctreflex import db
from ctreflex.pages.admin import admin_user
from ctreflex.pages.numbers_state import NumbersState
from ctreflex.services import numbers
from ctreflex.services.numbers import NumberError, WabaNumber
from ctreflex.state.auth import AuthState

STEPS = ["Account", "Number", "Code", "Register"]
_FAILED = object()  # a Graph step that failed (its error is shown)


class NumberWizardState(AuthState):
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
    async def open_wizard(self):
        user = admin_user(self)
        if user is None:
            return
        self._reset_wizard()
        page = await self.get_state(NumbersState)
        page.page_error = ""
        with db.session_scope() as session:
            try:
                numbers.require_can_connect(session=session, account_id=user.account_id)
            except NumberError as exc:
                page.page_error = exc.message
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

    async def _graph_step(self, call) -> object:
        """Await one Graph step of the wizard (the tab already shows it busy); a NumberError is
        shown in the wizard in plain words and gives ``_FAILED``. The tab is not busy after."""
        try:
            return await call
        except NumberError as exc:
            self._show(exc)
            return _FAILED
        finally:
            self.busy = False

    def _picked(self) -> str:
        picked = next((r for r in self.waba_numbers if r.phone_number_id == self.pnid), None)
        return picked.display if picked else ""

    @rx.event
    async def submit_account(self, form: dict | None = None):
        user = admin_user(self)
        if user is None:
            return
        self._clear_error()
        self.busy = True
        yield
        rows = await self._graph_step(
            numbers.list_waba_numbers(
                account_id=user.account_id, waba_id=self.waba_id, token=self.token
            )
        )
        if rows is _FAILED:
            return
        self._sealed = numbers.sealed(self.token)
        self._waba = self.waba_id
        self.token = ""  # never kept in the browser's state, never shown again
        self.waba_numbers = rows
        free = [r for r in rows if not r.connected_here]
        self.pnid = free[0].phone_number_id if free else ""
        self.step = 2

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
        sent = await self._graph_step(
            numbers.request_code(
                account_id=user.account_id,
                token=numbers.unsealed(self._sealed),
                phone_number_id=self.pnid,
                method=self.method,
            )
        )
        if sent is _FAILED:
            return
        how = "a voice call" if self.method == "VOICE" else "SMS"
        self.code_sent_to = f"Meta sent a 6-digit code by {how} to " + (
            self._picked() or "the number"
        )
        self.step = 3

    @rx.event
    async def submit_code(self, form: dict | None = None):
        user = admin_user(self)
        if user is None or not self._sealed:
            return
        self._clear_error()
        self.busy = True
        yield
        verified = await self._graph_step(
            numbers.verify_code(
                account_id=user.account_id,
                token=numbers.unsealed(self._sealed),
                phone_number_id=self.pnid,
                code=self.code,
            )
        )
        if verified is not _FAILED:
            self.step = 4

    @rx.event
    async def submit_pin(self, form: dict | None = None):
        user = admin_user(self)
        if user is None or not self._sealed:
            return
        self._clear_error()
        self.busy = True
        yield
        registered = await self._graph_step(
            numbers.register_and_enable(
                account_id=user.account_id,
                waba_id=self._waba,
                token=numbers.unsealed(self._sealed),
                phone_number_id=self.pnid,
                pin=self.pin,
            )
        )
        if registered is _FAILED:
            return
        picked = self._picked()
        self.wizard_open = False
        self._reset_wizard()
        page = await self.get_state(NumbersState)
        page.notice = f"{picked or 'The number'} is connected and enabled for WhatsApp."
        page._refresh(user)


# ----------------------------------------------------------------------------- components


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
        NumberWizardState.err_text != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.text(NumberWizardState.err_title, weight="bold"),
                rx.text(NumberWizardState.err_text),
                rx.cond(
                    NumberWizardState.err_todo != "",
                    rx.text("What to do: ", NumberWizardState.err_todo),
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
                    variant=rx.cond(NumberWizardState.step == i, "solid", "soft"),
                    color_scheme=rx.cond(NumberWizardState.step >= i, "green", "gray"),
                ),
                aria_current=rx.cond(NumberWizardState.step == i, "step", "false"),
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
                on_click=NumberWizardState.back,
            ),
        ),
        rx.spacer(),
        rx.dialog.close(
            rx.button("Cancel", type="button", variant="soft", color_scheme="gray"),
        ),
        rx.button(primary, type="submit", loading=NumberWizardState.busy),
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
                    value=NumberWizardState.waba_id,
                    on_change=NumberWizardState.set_waba_id,
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
                    value=NumberWizardState.token,
                    on_change=NumberWizardState.set_token,
                    auto_complete="off",
                    width="100%",
                ),
                "A system-user token with whatsapp_business_management and "
                "whatsapp_business_messaging. It is stored encrypted and never shown again.",
            ),
            _buttons("Find numbers", back=False),
            spacing="3",
        ),
        on_submit=NumberWizardState.submit_account,
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
                            NumberWizardState.waba_numbers,
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
                    value=NumberWizardState.pnid,
                    on_change=NumberWizardState.set_pnid,
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
                    value=NumberWizardState.method,
                    on_change=NumberWizardState.set_method,
                    name="method",
                ),
                style={"border": "none", "padding": 0, "margin": 0},
            ),
            _buttons("Send code"),
            spacing="3",
        ),
        on_submit=NumberWizardState.send_code,
        reset_on_submit=False,
    )


def _step_code() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(NumberWizardState.code_sent_to, size="2"),
            _field(
                "Verification code",
                "verification-code",
                rx.input(
                    id="verification-code",
                    name="verification-code",
                    value=NumberWizardState.code,
                    on_change=NumberWizardState.set_code,
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
        on_submit=NumberWizardState.submit_code,
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
                    value=NumberWizardState.pin,
                    on_change=NumberWizardState.set_pin,
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
        on_submit=NumberWizardState.submit_pin,
        reset_on_submit=False,
    )


def wizard() -> rx.Component:
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
                    NumberWizardState.step,
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
        open=NumberWizardState.wizard_open,
        on_open_change=NumberWizardState.set_wizard_open,
    )
