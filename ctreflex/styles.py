"""Theme tokens and shared styles."""

SIDEBAR_WIDTH = "14rem"
HEADER_HEIGHT = "3.5rem"

STYLESHEETS = ["/app.css", "/inbox-start.css", "/team.css"]
