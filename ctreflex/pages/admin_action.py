"""admin_action: the look-up / clear / session / try / refresh shape every admin handler shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlmodel import Session

from ctreflex import db
from ctreflex.pages.admin import admin_user
from ctreflex.services.auth import CurrentUser
from ctreflex.services.errors import UserFacingError
from ctreflex.state.auth import AuthState

Work = Callable[[Session, CurrentUser], str | None]


def admin_action(
    state: AuthState,
    work: Work,
    *,
    clear: Iterable[str] = ("notice", "error"),
    error: str = "error",
    field_errors: str = "",
    not_found: str = "",
    refresh: bool = True,
) -> bool:
    """Run one admin action of a page's state, on the server, for the tab's signed-in admin.

    1. The admin is resolved from the session now; for anyone else nothing runs (False).
    2. The page's messages (the vars named in ``clear``) are emptied.
    3. ``work(session, user)`` runs in one transaction; the text it returns is the notice.
    4. A :class:`UserFacingError` is shown as it is: in ``state.<field_errors>[exc.field]`` when
       the page marks fields and the error names one, else in ``state.<error>``. A bad id
       (``TypeError``/``ValueError`` from ``int(...)``) shows ``not_found`` when given.
    5. The page's rows are reloaded (``state._refresh(user)``) whatever the outcome.

    Returns True when the work went through."""
    user = admin_user(state)
    if user is None:
        return False
    for name in clear:
        setattr(state, name, "")
    ok = False
    try:
        with db.session_scope() as session:
            notice = work(session, user)
    except UserFacingError as exc:
        if field_errors and exc.field:
            setattr(state, field_errors, {exc.field: exc.message})
        else:
            setattr(state, error, exc.message)
    except (TypeError, ValueError):
        if not not_found:
            raise
        setattr(state, error, not_found)
    else:
        ok = True
        if notice:
            state.notice = notice
    if refresh:
        state._refresh(user)
    return ok
