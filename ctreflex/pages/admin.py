"""/admin (admins): the admin hub, and the sub-navigation and helpers every admin page shares."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.services import events, numbers, users
from ctreflex.services.auth import CurrentUser
from ctreflex.state.auth import AuthState

ADMIN_EVENTS = "/admin/events"

ADMIN_TABS = [
    # label, href, icon
    ("Overview", routes.ADMIN, "layout-dashboard"),
    ("Users", routes.ADMIN_USERS, "users"),
    ("Plans", routes.ADMIN_PLANS, "badge-dollar-sign"),
    ("Jobs", routes.ADMIN_JOBS, "timer"),
    ("Webhook events", ADMIN_EVENTS, "webhook"),
    ("API & webhooks", routes.ADMIN_API, "key-round"),
    ("Canned replies", routes.ADMIN_REPLIES, "message-square-quote"),
    ("Labels", routes.ADMIN_LABELS, "tags"),
]


def admin_user(state: AuthState) -> CurrentUser | None:
    """The signed-in admin, resolved from the cookie now, role checked; None for anyone else."""
    return state._admin()


def admin_nav() -> rx.Component:
    path = rx.State.router.page.path
    return rx.el.nav(
        rx.hstack(
            *[
                rx.link(
                    rx.hstack(
                        rx.icon(icon, size=16, aria_hidden="true"),
                        rx.text(label, size="2"),
                        align="center",
                        spacing="2",
                    ),
                    href=href,
                    class_name="ct-nav-link",
                    aria_current=rx.cond(path == href, "page", "false"),
                    padding="0.35rem 0.7rem",
                    border_radius="var(--radius-3)",
                    color="var(--gray-12)",
                    underline="none",
                    white_space="nowrap",
                )
                for label, href, icon in ADMIN_TABS
            ],
            spacing="1",
            wrap="wrap",
        ),
        aria_label="Admin",
        style={"width": "100%"},
    )


def page_body(*children: rx.Component, nav: bool = True) -> rx.Component:
    """The scrolling body of an admin page, with the admin sub-navigation on top."""
    return rx.box(
        rx.vstack(
            *([admin_nav()] if nav else []),
            *children,
            spacing="4",
            width="100%",
            max_width="72rem",
        ),
        padding=["1rem", "1rem", "1.5rem"],
        width="100%",
        height="100%",
        overflow_y="auto",
    )


def error_callout(text) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
    )


def notice_callout(text) -> rx.Component:
    return rx.cond(
        text != "",
        rx.callout(text, icon="circle-check", color_scheme="green", role="status", width="100%"),
    )


class AdminState(AuthState):
    users_active: int = 0
    seats: int = 0
    plan: str = ""
    whatsapp: str = ""
    numbers_used: int = 0
    numbers_cap: int = 0
    problem_events: int = 0

    @rx.event
    def load(self):
        user = admin_user(self)
        if user is None:
            return
        with db.session_scope() as session:
            self.users_active, self.seats = users.seats(session=session, account_id=user.account_id)
            gate = numbers.gate(session=session, account_id=user.account_id)
            self.plan = user.plan_name
            self.whatsapp = "Enabled" if gate.allowed else gate.reason
            self.numbers_used, self.numbers_cap = gate.used, gate.cap
            self.problem_events = len(
                events.list_events(session=session, account_id=user.account_id)
            )


def _card(title: str, href: str, icon: str, lines: list) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon(icon, size=18, aria_hidden="true"),
                    rx.heading(title, size="3", as_="h2"),
                    align="center",
                ),
                *[rx.text(line, size="2", color_scheme="gray") for line in lines],
                spacing="2",
                align="start",
            ),
            width="100%",
            height="100%",
        ),
        href=href,
        underline="none",
        color="inherit",
        width="100%",
    )


def admin_body() -> rx.Component:
    return page_body(
        rx.grid(
            _card(
                "Users",
                routes.ADMIN_USERS,
                "users",
                [
                    AdminState.users_active.to_string()
                    + " of "
                    + AdminState.seats.to_string()
                    + " seats in use",
                    "Add agents, change roles, deactivate.",
                ],
            ),
            _card(
                "Plans",
                routes.ADMIN_PLANS,
                "badge-dollar-sign",
                ["Your plan: " + AdminState.plan, "WhatsApp: " + AdminState.whatsapp],
            ),
            _card(
                "Numbers",
                routes.NUMBERS,
                "phone",
                [
                    AdminState.numbers_used.to_string()
                    + " of "
                    + AdminState.numbers_cap.to_string()
                    + " WhatsApp numbers",
                    "Connect a number to your WhatsApp Business Account.",
                ],
            ),
            _card(
                "Usage and fees",
                routes.USAGE,
                "chart-column",
                ["Messages per day, channel and number; the platform fee; CSV export."],
            ),
            _card(
                "Jobs",
                routes.ADMIN_JOBS,
                "timer",
                ["Sync your templates and recompute your usage now; windows closing soon."],
            ),
            _card(
                "Webhook events",
                ADMIN_EVENTS,
                "webhook",
                [AdminState.problem_events.to_string() + " rejected, unhandled or failed"],
            ),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="3",
            width="100%",
        ),
    )


@rx.page(
    route=routes.ADMIN, title="Admin · CT Text", on_load=[AuthState.require_admin, AdminState.load]
)
def admin_page() -> rx.Component:
    return app_page("Admin", admin_body, admin=True)


__all__ = ["ADMIN_EVENTS", "AdminState", "admin_nav", "admin_user", "page_body"]
