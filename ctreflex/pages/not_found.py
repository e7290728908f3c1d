"""The 404 page: what happened in plain words, and a way back (Reflex's custom 404 route)."""

from __future__ import annotations

import reflex as rx

from ctreflex import routes


def not_found_body() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("message-circle", size=28, color="var(--accent-9)", aria_hidden="true"),
                    rx.heading("Page not found", size="6", as_="h1"),
                    align="center",
                ),
                rx.text(
                    "There is nothing at this address. The link may be old, or the page may "
                    "have moved.",
                    color_scheme="gray",
                ),
                rx.hstack(
                    rx.button(  # a link drawn as a button (Radix asChild): one control
                        rx.link(
                            rx.icon("inbox", size=16, aria_hidden="true"),
                            "Back to the inbox",
                            href=routes.INBOX,
                            underline="none",
                        ),
                        as_child=True,
                    ),
                    rx.link("Sign in", href=routes.LOGIN, size="2"),
                    spacing="4",
                    align="center",
                    wrap="wrap",
                ),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="100%",
            max_width="28rem",
        ),
        min_height="100dvh",
        padding="1rem",
        background="var(--gray-2)",
        role="main",
    )


@rx.page(route="/404", title="Page not found · CT Text")  # Reflex's custom 404
def not_found_page() -> rx.Component:
    return not_found_body()
