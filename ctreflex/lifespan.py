"""Start-up: refuse to run against a database that cannot be reached."""

from __future__ import annotations

import logging
import sys

from ctreflex import db

log = logging.getLogger("ctreflex")


def startup_checks() -> None:
    try:
        db.check_database()
    except db.DatabaseUnavailable as exc:
        log.critical("%s", exc)
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from exc
