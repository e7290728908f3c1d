"""FastAPI routes mounted in the Reflex process through api_transformer."""

from __future__ import annotations

from fastapi import FastAPI

from ctreflex.api import (
    account,
    admin,
    consent,
    health,
    media,
    security,
    simulator,
    sms_simulator,
    sms_webhooks,
    templates,
    v1,
    webhooks,
)
from ctreflex.api.sim_proxy import SimulatorProxy
from ctreflex.inbound.lane import WebhookLane
from ctreflex.settings import get_settings


def build_api() -> FastAPI:
    api = FastAPI(title="ctreflex", docs_url=None, redoc_url=None, openapi_url=None)
    api.include_router(health.router)  # /healthz, /readyz
    api.include_router(account.router)
    api.include_router(admin.router)
    api.include_router(templates.router)
    api.include_router(consent.router)  # agent-recorded opt-outs / opt-ins
    api.include_router(webhooks.router)  # the GET handshake
    api.add_middleware(WebhookLane)  # the signed POSTs (ctreflex/inbound/lane.py)
    api.include_router(media.router)
    api.add_middleware(media.UploadSizeLimit)  # refuses an over-size upload before it spools
    api.include_router(sms_webhooks.router)
    v1.include(api)  # the public REST API (API keys), /api/v1
    settings = get_settings()
    sim = simulator.build_simulator()
    if sim is not None:
        api.mount("/simulator", sim.app)
    elif settings.whatsapp_mode == "simulator":  # the simulator runs as its own process
        api.mount("/simulator", SimulatorProxy(settings.graph_url))
    sms_sim = sms_simulator.build_sms_simulator()
    if sms_sim is not None:
        api.mount("/sms-simulator", sms_sim.app)
    elif settings.sms_mode == "simulator":
        api.mount("/sms-simulator", SimulatorProxy(settings.sms_api_url))
    # outermost of our middlewares: every page, route and websocket passes through it
    api.add_middleware(security.SecurityHeaders)
    return api
