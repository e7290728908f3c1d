"""FastAPI routes mounted in the Reflex process through api_transformer."""

from __future__ import annotations

from fastapi import FastAPI

from ctreflex.api import account


def build_api() -> FastAPI:
    api = FastAPI(title="ctreflex", docs_url=None, redoc_url=None, openapi_url=None)
    api.include_router(account.router)
    return api
