"""Importing this package registers every page."""

from ctreflex.pages import (  # noqa: F401
    admin,
    admin_api,
    admin_events,
    admin_jobs,
    admin_labels,
    admin_plans,
    admin_replies,
    admin_users,
    inbox,
    login,
    not_found,
    numbers,
    templates,
    usage,
)
