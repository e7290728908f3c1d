"""UserFacingError: the one base of every refusal a service may show a user as it is."""

from __future__ import annotations


class UserFacingError(Exception):
    """A refusal whose ``message`` is written for the person who asked (plain words, no codes
    or internals) and safe to show; ``field`` names the form field it belongs to ("" for the
    form or the page). Pages show ``exc.message`` (beside ``exc.field`` when they have one);
    API routes turn it into a problem response."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field
