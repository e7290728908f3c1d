"""/admin/replies (admins): the account's canned replies, their shortcuts and variables."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.components.table import edit_delete_cell
from ctreflex.pages.admin import admin_user, error_callout, notice_callout, page_body
from ctreflex.services import canned
from ctreflex.services.canned import CannedError, CannedRow
from ctreflex.state.auth import AuthState

VARIABLE_HELP = " ".join(
    "{{" + name + "}} " + what + "." for name, what in canned.VARIABLES.items()
)


class CannedAdminState(AuthState):
    replies: list[CannedRow] = []
    editing_id: int = 0  # 0: a new reply
    form_open: bool = False
    form_shortcut: str = ""
    form_body: str = ""
    field_errors: dict[str, str] = {}
    notice: str = ""
    error: str = ""
    confirm_id: int = 0  # the row whose Delete was clicked once: the second click deletes

    def _refresh(self, account_id: int) -> None:
        with db.session_scope() as session:
            self.replies = canned.list_replies(session=session, account_id=account_id)

    @rx.event
    def load(self):
        self.notice = self.error = ""
        user = admin_user(self)
        if user is None:
            self.replies = []
            return
        self._refresh(user.account_id)

    @rx.event
    def start_new(self):
        self.editing_id, self.form_shortcut, self.form_body = 0, "", ""
        self.form_open, self.field_errors = True, {}

    @rx.event
    def start_edit(self, reply_id: int):
        row = next((r for r in self.replies if r.id == int(reply_id or 0)), None)
        if row is None or admin_user(self) is None:
            return
        self.editing_id, self.form_shortcut, self.form_body = row.id, row.shortcut, row.body
        self.form_open, self.field_errors = True, {}

    @rx.event
    def cancel(self):
        self.form_open, self.field_errors, self.confirm_id = False, {}, 0

    @rx.event
    def save(self, form: dict):
        user = admin_user(self)
        if user is None:
            return
        form = form or {}
        self.form_shortcut = str(form.get("shortcut", ""))[:64]
        self.form_body = str(form.get("body", ""))[: canned.BODY_MAX * 2]
        self.notice = self.error = ""
        with db.session_scope() as session:
            try:
                if self.editing_id:
                    row = canned.update_reply(
                        session=session,
                        account_id=user.account_id,
                        reply_id=self.editing_id,
                        shortcut=self.form_shortcut,
                        body=self.form_body,
                    )
                else:
                    row = canned.create_reply(
                        session=session,
                        account_id=user.account_id,
                        shortcut=self.form_shortcut,
                        body=self.form_body,
                    )
            except CannedError as exc:
                if exc.field:
                    self.field_errors = {exc.field: exc.message}
                else:
                    self.error = exc.message
                return
        self.notice = f"Saved /{row.shortcut}. Agents can use it now by typing /{row.shortcut}."
        self.form_open, self.field_errors = False, {}
        self._refresh(user.account_id)

    @rx.event
    def delete(self, reply_id: int):
        user = admin_user(self)
        if user is None:
            return
        self.notice = self.error = ""
        if self.confirm_id != int(reply_id or 0):  # asks first
            self.confirm_id = int(reply_id or 0)
            return
        self.confirm_id = 0
        with db.session_scope() as session:
            try:
                canned.delete_reply(
                    session=session, account_id=user.account_id, reply_id=int(reply_id or 0)
                )
                self.notice = "Deleted."
            except CannedError as exc:
                self.error = exc.message
        self.form_open = False
        self._refresh(user.account_id)


def _error(key: str):
    err = CannedAdminState.field_errors.get(key, "")
    return rx.cond(err != "", rx.text(err, size="1", color="red", id=f"reply-{key}-error"))


def _form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(
                    rx.cond(
                        CannedAdminState.editing_id > 0, "Edit canned reply", "New canned reply"
                    ),
                    size="3",
                    as_="h2",
                ),
                rx.el.label("Shortcut", html_for="reply-shortcut", class_name="ct-form-label"),
                rx.input(
                    rx.input.slot("/"),
                    id="reply-shortcut",
                    name="shortcut",
                    default_value=CannedAdminState.form_shortcut,
                    placeholder="hours",
                    max_length=canned.SHORTCUT_MAX,
                    aria_describedby="reply-shortcut-error",
                    width="100%",
                    max_width="20rem",
                ),
                _error("shortcut"),
                rx.el.label("Text", html_for="reply-body", class_name="ct-form-label"),
                rx.text_area(
                    id="reply-body",
                    name="body",
                    default_value=CannedAdminState.form_body,
                    placeholder="Hi {{first_name}}, we are open 8:00–18:00, Monday to Saturday.",
                    rows="4",
                    aria_describedby="reply-body-hint reply-body-error",
                    width="100%",
                ),
                rx.text(
                    "Variables: " + VARIABLE_HELP,
                    size="1",
                    color_scheme="gray",
                    id="reply-body-hint",
                ),
                _error("body"),
                rx.hstack(
                    rx.button("Save reply", type="submit"),
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=CannedAdminState.cancel,
                    ),
                    spacing="2",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=CannedAdminState.save,
            reset_on_submit=False,
            key=CannedAdminState.editing_id.to_string()
            + "-"
            + CannedAdminState.form_open.to_string(),
        ),
        width="100%",
    )


def _row(r: rx.Var[CannedRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text("/", r.shortcut, weight="medium"), white_space="nowrap"),
        rx.table.cell(rx.text(r.body, size="2", white_space="pre-wrap"), min_width="14rem"),
        edit_delete_cell(
            name="/" + r.shortcut,
            confirming=CannedAdminState.confirm_id == r.id,
            question=("Delete /", r.shortcut, "?"),
            on_edit=CannedAdminState.start_edit(r.id),
            on_delete=CannedAdminState.delete(r.id),
            on_keep=CannedAdminState.cancel,
        ),
    )


def replies_body() -> rx.Component:
    return page_body(
        rx.hstack(
            rx.text(
                "Agents type / in the composer to insert one. They are free-form text, so they "
                "can only be sent inside the customer's 24-hour window; outside it, templates.",
                size="2",
                color_scheme="gray",
                flex="1",
            ),
            rx.cond(
                ~CannedAdminState.form_open,
                rx.button(
                    rx.icon("plus", size=16, aria_hidden="true"),
                    "New reply",
                    on_click=CannedAdminState.start_new,
                ),
            ),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        notice_callout(CannedAdminState.notice),
        error_callout(CannedAdminState.error),
        rx.cond(CannedAdminState.form_open, _form()),
        rx.cond(
            CannedAdminState.replies.length() > 0,
            rx.box(
                rx.table.root(
                    rx.el.caption("Canned replies", class_name="sr-only"),
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ["Shortcut", "Text", "Action"]
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(CannedAdminState.replies, _row)),
                    variant="surface",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.text("No canned replies yet.", size="2", color_scheme="gray"),
        ),
    )


@rx.page(
    route=routes.ADMIN_REPLIES,
    title="Canned replies · CT Text",
    on_load=[AuthState.require_admin, CannedAdminState.load],
)
def replies_page() -> rx.Component:
    return app_page("Canned replies", replies_body, admin=True)
