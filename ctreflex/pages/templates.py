"""/templates: the synced, read-only copy of the account's WhatsApp templates."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.components.table import data_table
from ctreflex.services import admin
from ctreflex.services.admin import TemplateRow
from ctreflex.state.auth import AuthState


class TemplatesState(AuthState):
    templates: list[TemplateRow] = []

    @rx.event
    def load(self):
        user = self.current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        with db.session_scope() as session:
            self.templates = admin.list_templates(session=session, account_id=user.account_id)


def _row(t: rx.Var[TemplateRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(t.name),
        rx.table.cell(t.language),
        rx.table.cell(t.category),
        rx.table.cell(
            rx.badge(
                t.status,
                color_scheme=rx.match(
                    t.status,
                    ("APPROVED", "green"),
                    ("REJECTED", "red"),
                    ("PAUSED", "amber"),
                    "gray",
                ),
            )
        ),
        rx.table.cell(t.quality),
    )


def templates_body() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Templates are created and edited in Meta's WhatsApp Manager; "
            "here they are a read-only copy you can send.",
            color_scheme="gray",
        ),
        data_table(
            "Templates",
            ["Name", "Language", "Category", "Status", "Quality"],
            TemplatesState.templates,
            _row,
            "No templates synced yet.",
        ),
        padding="1.5rem",
        spacing="4",
        width="100%",
    )


@rx.page(
    route=routes.TEMPLATES,
    title="Templates · CT Text",
    on_load=[AuthState.require_login, TemplatesState.load],
)
def templates_page() -> rx.Component:
    return app_page("Templates", templates_body)
