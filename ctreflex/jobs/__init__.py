"""Scheduled jobs: idempotent task bodies (tasks.py) and the one scheduler (scheduler.py)."""
