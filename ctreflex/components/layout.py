"""The app shell: sidebar, header with account and plan, and the page body."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from ctreflex import routes, styles
from ctreflex.state.auth import AuthState, backend_url

NAV = [
    # label, href, icon, admin only
    ("Inbox", routes.INBOX, "inbox", False),
    ("Templates", routes.TEMPLATES, "layout-template", False),
    ("Numbers", routes.NUMBERS, "phone", True),
    ("Usage", routes.USAGE, "chart-column", True),
    ("Admin", routes.ADMIN, "settings", True),
]


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    path = rx.State.router.page.path
    current = rx.cond(
        (path == href) | path.startswith(href + "/"),
        "page",
        "false",
    )
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=18, aria_hidden="true"),
            rx.text(label, size="3"),
            align="center",
            spacing="3",
        ),
        href=href,
        class_name="ct-nav-link",
        aria_current=current,
        padding="0.5rem 0.75rem",
        border_radius="var(--radius-3)",
        color="var(--gray-12)",
        underline="none",
        width="100%",
    )


# Shown only when the account may use WhatsApp (plan and early access); otherwise the page says
# why in one sentence if it is opened directly.
WHATSAPP_ONLY = {routes.TEMPLATES}


def _nav_items() -> list[rx.Component]:
    items = []
    for label, href, icon, admin_only in NAV:
        link = _nav_link(label, href, icon)
        if href in WHATSAPP_ONLY:
            link = rx.cond(AuthState.whatsapp_enabled, link)
        items.append(rx.cond(AuthState.is_admin, link) if admin_only else link)
    return items


def sidebar() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.icon("message-circle", size=22, color="var(--accent-9)", aria_hidden="true"),
                rx.heading("CT Text", size="4"),
                align="center",
                padding="0.25rem 0.75rem 1rem",
            ),
            rx.el.nav(
                rx.vstack(*_nav_items(), spacing="1", width="100%"),
                aria_label="Main",
                style={"width": "100%"},
            ),
            spacing="2",
            width="100%",
        ),
        class_name="ct-sidebar",
        width=styles.SIDEBAR_WIDTH,
        min_width=styles.SIDEBAR_WIDTH,
        padding="1rem 0.5rem",
        border_right="1px solid var(--gray-5)",
        background="var(--gray-2)",
        height="100dvh",
        position="sticky",
        top="0",
    )


def mobile_menu() -> rx.Component:
    return rx.box(
        rx.menu.root(
            rx.menu.trigger(
                rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Open navigation"),
            ),
            rx.menu.content(
                *[
                    (rx.cond(AuthState.is_admin, item) if admin_only else item)
                    for (label, href, _icon, admin_only) in NAV
                    for item in [rx.menu.item(label, on_click=rx.redirect(href))]
                ]
            ),
        ),
        class_name="ct-mobile-menu",
    )


def logout_form() -> rx.Component:
    """The target of the account menu's "Log out": POST /auth/logout, answered 303 /login."""
    form = rx.el.form(
        action=backend_url("/auth/logout"), method="post", id="logout-form", display="none"
    )
    form.event_triggers.pop("on_submit", None)  # the browser submits it itself
    return form


def header(title: str) -> rx.Component:
    return rx.hstack(
        mobile_menu(),
        rx.heading(title, size="5", as_="h1", white_space="nowrap"),
        rx.spacer(),
        rx.hstack(
            rx.text(AuthState.account_name, weight="medium", size="2", id="account-name",
                    class_name="ct-account-name"),
            rx.badge(AuthState.plan_name, variant="soft", id="plan-badge",
                     class_name="ct-plan-badge"),
            align="center",
            spacing="2",
            min_width="0",
        ),
        rx.color_mode.button(aria_label="Toggle dark mode", variant="ghost"),
        rx.menu.root(
            rx.menu.trigger(
                rx.button(
                    rx.avatar(fallback=AuthState.initials, size="1", radius="full"),
                    # named "<initials> Account menu": the name holds the visible initials
                    rx.el.span("Account menu", class_name="sr-only"),
                    variant="ghost",
                ),
            ),
            rx.menu.content(
                rx.box(
                    rx.text(AuthState.user_email, size="2", weight="medium"),
                    rx.text(
                        rx.cond(AuthState.is_admin, "Admin", "Agent"), size="1", color_scheme="gray"
                    ),
                    padding="0.25rem 0.5rem",
                ),
                rx.menu.separator(),
                # a real POST (the server revokes the session and clears its HttpOnly cookie);
                # the form sits outside the menu, the item is its submit button
                rx.menu.item(
                    rx.el.button("Log out", type="submit", form="logout-form", id="logout"),
                    as_child=True,
                ),
            ),
        ),
        logout_form(),
        align="center",
        spacing="3",
        padding_x="1rem",
        height=styles.HEADER_HEIGHT,
        border_bottom="1px solid var(--gray-5)",
        width="100%",
        background="var(--color-background)",
    )


def forbidden() -> rx.Component:
    return rx.center(
        rx.callout(
            "This page is for admins of the account. Ask an admin if you need access.",
            icon="shield-alert",
            color_scheme="red",
            role="alert",
            id="forbidden",
        ),
        padding="3rem",
    )


def loading() -> rx.Component:
    return rx.center(rx.spinner(size="3"), padding="3rem", aria_label="Loading")


def app_page(title: str, body: Callable[[], rx.Component], *, admin: bool = False) -> rx.Component:
    """Wrap a page body in the shell. Admin pages render a refusal for agents; their data
    handlers refuse on the server too."""
    content = body()
    if admin:
        content = rx.cond(AuthState.is_admin, content, forbidden())
    return rx.hstack(
        sidebar(),
        rx.vstack(
            header(title),
            rx.box(
                rx.cond(AuthState.checked, content, loading()),
                width="100%",
                flex="1",
                min_height="0",
            ),
            spacing="0",
            width="100%",
            min_width="0",
            height="100dvh",
        ),
        spacing="0",
        class_name="ct-shell",
        width="100%",
        align="start",
        # "true" once the page's on_load handlers ran (until then the tab shows the state it
        # had before a reload): browser tests wait for it before acting on what is shown
        custom_attrs={"data-hydrated": rx.State.is_hydrated.to_string()},
    )
