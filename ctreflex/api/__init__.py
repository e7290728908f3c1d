"""FastAPI routes mounted in the Reflex process through api_transformer."""

from __future__ import annotations

from fastapi import FastAPI

from ctreflex.api import account, media, simulator, webhooks


def build_api() -> FastAPI:
    api = FastAPI(title="ctreflex", docs_url=None, redoc_url=None, openapi_url=None)
    api.include_router(account.router)
    api.include_router(webhooks.router)
    api.include_router(media.router)
    sim = simulator.build_simulator()
    if sim is not None:
        api.mount("/simulator", sim.app)
    return api
