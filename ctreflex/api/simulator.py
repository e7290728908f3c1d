"""The local Cloud API simulator, served in the app's process under /simulator (the default).

The app still reaches it only over HTTP through the Graph client and the configured base URL;
this module mounts it and, for the demo, tells it which customers wrote recently so its 24-hour
windows match the seeded conversations (through its control API)."""

from __future__ import annotations

import logging

import httpx
from sqlmodel import select

from ctreflex import db
from ctreflex.models import BusinessNumber, Contact, Conversation
from ctreflex.settings import get_settings
from ctreflex.simulator import Simulator, SimulatorConfig, create_simulator

log = logging.getLogger("ctreflex.simulator")

_simulator: Simulator | None = None


def build_simulator() -> Simulator | None:
    global _simulator
    settings = get_settings()
    if settings.whatsapp_mode != "simulator":
        _simulator = None
        return None  # cloud mode serves no simulator (nor its control API)
    if not settings.simulator_in_process:
        # CTREFLEX_GRAPH_BASE_URL points at the simulator's own process (several workers):
        # no second copy here; /simulator forwards to that one (api/sim_proxy.py)
        _simulator = None
        return None
    _simulator = create_simulator(
        SimulatorConfig(
            webhook_url=settings.webhook_url,
            app_secret=settings.app_secret.get_secret_value(),
            verify_token=settings.verify_token.get_secret_value(),
            public_base_url=f"{settings.base_url}/simulator",
            state_path=str(settings.simulator_state_path)
            if settings.simulator_state_path
            else None,
            auto_read=settings.simulator_auto_read,
        )
    )
    return _simulator


def current() -> Simulator | None:
    return _simulator


async def sync_demo_windows() -> int:
    """Tell the simulator when each customer of a simulated number last wrote."""
    sim = _simulator
    settings = get_settings()
    if sim is None and (settings.whatsapp_mode != "simulator" or settings.simulator_in_process):
        return 0
    with db.session_scope() as session:
        rows = session.exec(
            select(
                Contact.wa_id,
                Contact.profile_name,
                Conversation.last_inbound_at,
                BusinessNumber.phone_number_id,
            )
            .join(Conversation, Conversation.contact_id == Contact.id)
            .join(BusinessNumber, BusinessNumber.id == Conversation.business_number_id)
            .where(BusinessNumber.channel == "whatsapp", Conversation.last_inbound_at.is_not(None))
        ).all()
    if sim is not None:
        target = {"transport": httpx.ASGITransport(app=sim.app), "base_url": "http://sim"}
    else:  # the simulator's own process: its control API over HTTP
        target = {"base_url": settings.graph_url, "timeout": 10.0}
    count = 0
    async with httpx.AsyncClient(**target) as client:
        for wa_id, name, last_inbound_at, pnid in rows:
            if not wa_id or not pnid:
                continue
            r = await client.put(
                f"/control/customers/{wa_id}",
                json={
                    "profile_name": name,
                    "phone_number_id": pnid,
                    "last_inbound_at": int(last_inbound_at.timestamp()),
                },
            )
            count += r.status_code == 200
    return count
