"""/admin/labels (admins): the account's labels and their colours."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.label_chip import label_chip
from ctreflex.components.layout import app_page
from ctreflex.components.table import edit_delete_cell
from ctreflex.pages.admin import admin_user, error_callout, notice_callout, page_body
from ctreflex.pages.admin_users import SELECT_STYLE
from ctreflex.realtime import LiveEvent, broker
from ctreflex.services import labels
from ctreflex.services.labels import LabelChip, LabelError
from ctreflex.state.auth import AuthState


class LabelsAdminState(AuthState):
    admin_labels: list[LabelChip] = []
    editing_id: int = 0
    form_open: bool = False
    form_name: str = ""
    form_color: str = "teal"
    field_errors: dict[str, str] = {}
    notice: str = ""
    error: str = ""
    confirm_id: int = 0  # the row whose Delete was clicked once: the second click deletes

    def _refresh(self, account_id: int) -> None:
        with db.session_scope() as session:
            self.admin_labels = labels.list_labels(session=session, account_id=account_id)

    @rx.event
    def load(self):
        self.notice = self.error = ""
        user = admin_user(self)
        if user is None:
            self.admin_labels = []
            return
        self._refresh(user.account_id)

    @rx.event
    def start_new(self):
        self.editing_id, self.form_name, self.form_color = 0, "", "teal"
        self.form_open, self.field_errors = True, {}

    @rx.event
    def start_edit(self, label_id: int):
        chip = next((c for c in self.admin_labels if c.id == int(label_id or 0)), None)
        if chip is None or admin_user(self) is None:
            return
        self.editing_id, self.form_name, self.form_color = chip.id, chip.name, chip.color
        self.form_open, self.field_errors = True, {}

    @rx.event
    def cancel(self):
        self.form_open, self.field_errors, self.confirm_id = False, {}, 0

    async def _changed(self, account_id: int) -> None:
        """Open inboxes redraw their chips and filter."""
        self._refresh(account_id)
        await broker.publish(account_id, LiveEvent.conversation(0, "labels"))

    @rx.event
    async def save(self, form: dict):
        user = admin_user(self)
        if user is None:
            return
        form = form or {}
        self.form_name = str(form.get("name", ""))[:80]
        self.form_color = str(form.get("color", ""))[:16]
        self.notice = self.error = ""
        with db.session_scope() as session:
            try:
                if self.editing_id:
                    chip = labels.update_label(
                        session=session,
                        account_id=user.account_id,
                        label_id=self.editing_id,
                        name=self.form_name,
                        color=self.form_color,
                    )
                else:
                    chip = labels.create_label(
                        session=session,
                        account_id=user.account_id,
                        name=self.form_name,
                        color=self.form_color,
                    )
            except LabelError as exc:
                if exc.field:
                    self.field_errors = {exc.field: exc.message}
                else:
                    self.error = exc.message
                return
        self.notice = f"Saved the label “{chip.name}”."
        self.form_open, self.field_errors = False, {}
        await self._changed(user.account_id)

    @rx.event
    async def delete(self, label_id: int):
        user = admin_user(self)
        if user is None:
            return
        self.notice = self.error = ""
        if self.confirm_id != int(label_id or 0):  # asks first
            self.confirm_id = int(label_id or 0)
            return
        self.confirm_id = 0
        with db.session_scope() as session:
            try:
                labels.delete_label(
                    session=session, account_id=user.account_id, label_id=int(label_id or 0)
                )
                self.notice = "Deleted the label; it is off every conversation."
            except LabelError as exc:
                self.error = exc.message
        self.form_open = False
        await self._changed(user.account_id)


def _error(key: str):
    err = LabelsAdminState.field_errors.get(key, "")
    return rx.cond(err != "", rx.text(err, size="1", color="red", id=f"label-{key}-error"))


def _form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(
                    rx.cond(LabelsAdminState.editing_id > 0, "Edit label", "New label"),
                    size="3",
                    as_="h2",
                ),
                rx.flex(
                    rx.vstack(
                        rx.el.label("Name", html_for="label-name"),
                        rx.input(
                            id="label-name",
                            name="name",
                            default_value=LabelsAdminState.form_name,
                            placeholder="VIP",
                            max_length=labels.NAME_MAX,
                            aria_describedby="label-name-error",
                            width="100%",
                        ),
                        _error("name"),
                        spacing="1",
                        flex="1",
                        min_width="12rem",
                    ),
                    rx.vstack(
                        rx.el.label("Colour", html_for="label-color"),
                        rx.el.select(
                            *[rx.el.option(c.capitalize(), value=c) for c in labels.COLORS],
                            id="label-color",
                            name="color",
                            default_value=LabelsAdminState.form_color,
                            style=SELECT_STYLE,
                        ),
                        _error("color"),
                        spacing="1",
                    ),
                    gap="3",
                    wrap="wrap",
                    width="100%",
                ),
                rx.hstack(
                    rx.button("Save label", type="submit"),
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=LabelsAdminState.cancel,
                    ),
                    spacing="2",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=LabelsAdminState.save,
            reset_on_submit=False,
            key=LabelsAdminState.editing_id.to_string()
            + "-"
            + LabelsAdminState.form_open.to_string(),
        ),
        width="100%",
    )


def _row(chip: rx.Var[LabelChip]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(label_chip(chip)),
        rx.table.cell(chip.color),
        edit_delete_cell(
            name=chip.name,
            confirming=LabelsAdminState.confirm_id == chip.id,
            question=("Delete it and take it off every conversation?",),
            on_edit=LabelsAdminState.start_edit(chip.id),
            on_delete=LabelsAdminState.delete(chip.id),
            on_keep=LabelsAdminState.cancel,
        ),
    )


def labels_body() -> rx.Component:
    return page_body(
        rx.hstack(
            rx.text(
                "Agents add labels to conversations from the thread and filter the list by them.",
                size="2",
                color_scheme="gray",
                flex="1",
            ),
            rx.cond(
                ~LabelsAdminState.form_open,
                rx.button(
                    rx.icon("plus", size=16, aria_hidden="true"),
                    "New label",
                    on_click=LabelsAdminState.start_new,
                ),
            ),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        notice_callout(LabelsAdminState.notice),
        error_callout(LabelsAdminState.error),
        rx.cond(LabelsAdminState.form_open, _form()),
        rx.cond(
            LabelsAdminState.admin_labels.length() > 0,
            rx.box(
                rx.table.root(
                    rx.el.caption("Labels", class_name="sr-only"),
                    rx.table.header(
                        rx.table.row(
                            *[rx.table.column_header_cell(h) for h in ["Label", "Colour", "Action"]]
                        )
                    ),
                    rx.table.body(rx.foreach(LabelsAdminState.admin_labels, _row)),
                    variant="surface",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.text("No labels yet.", size="2", color_scheme="gray"),
        ),
    )


@rx.page(
    route=routes.ADMIN_LABELS,
    title="Labels · CT Text",
    on_load=[AuthState.require_admin, LabelsAdminState.load],
)
def labels_page() -> rx.Component:
    return app_page("Labels", labels_body, admin=True)
