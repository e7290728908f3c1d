"""Theme tokens and shared styles."""

SIDEBAR_WIDTH = "14rem"
HEADER_HEIGHT = "3.5rem"

# theme.css (last): colour tokens adjusted for WCAG AA contrast
STYLESHEETS = ["/app.css", "/inbox-start.css", "/team.css", "/team_notes.css", "/theme.css"]
