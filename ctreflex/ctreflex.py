"""Wiring only: pages, API routes, lifespan tasks."""

import reflex as rx

from ctreflex import pages, styles  # noqa: F401  (importing pages registers their routes)
from ctreflex.api import build_api
from ctreflex.lifespan import scheduler_lifespan, startup_checks, webhook_processor
from ctreflex.state.auth import SessionGuard

app = rx.App(
    stylesheets=styles.STYLESHEETS,
    api_transformer=build_api(),
)
app.add_middleware(SessionGuard())  # every event re-checks the session (state/auth.py)
app.register_lifespan_task(startup_checks)
app.register_lifespan_task(webhook_processor)
app.register_lifespan_task(scheduler_lifespan)
