"""Importing this package registers every page."""

from ctreflex.pages import admin, inbox, login, numbers, templates, usage  # noqa: F401
