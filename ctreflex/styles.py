"""Theme tokens and shared styles."""

import reflex as rx

THEME = rx.theme(accent_color="teal", gray_color="slate", radius="medium", scaling="100%")

SIDEBAR_WIDTH = "14rem"
HEADER_HEIGHT = "3.5rem"

STYLESHEETS = ["/app.css"]
