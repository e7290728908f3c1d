"""The simulator: one object that holds the state and does what the routes ask.

Its behaviour is split by concern: business sends and status flows (:mod:`.sending`), the
customer's side (:mod:`.customer`), phone-number management (:mod:`.numbers`); configuration
and persistence are in :mod:`.base`.
"""

from __future__ import annotations

from typing import Any

from .base import SimulatorConfig
from .customer import CustomerMixin
from .errors import invalid_param
from .numbers import NumbersMixin
from .sending import SendingMixin
from .webhooks import template_status_envelope

__all__ = ["Simulator", "SimulatorConfig", "create_simulator"]


class Simulator(SendingMixin, CustomerMixin, NumbersMixin):
    """The simulated Cloud API: sends, customers, numbers and templates over one state."""

    async def start(self) -> None:
        if self.dispatcher.running:
            return
        await self.dispatcher.start()
        if not self._resumed:
            self._resumed = True
            self._resume_flows()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        self.save_now()

    # ---- templates -----------------------------------------------------------------------
    def set_template_status(self, template_id: str, status: str,
                            reason: str | None) -> dict[str, Any]:
        tpl = self.state.templates.get(template_id)
        if tpl is None:
            raise invalid_param("template_id", f"Unknown template {template_id}")
        status = status.upper()
        tpl.status = status
        if status == "REJECTED":
            tpl.rejected_reason = reason or "INVALID_FORMAT"
        elif status == "APPROVED":
            tpl.rejected_reason = "NONE"
        value: dict[str, Any] = {
            "event": status,
            "message_template_id": int(tpl.id),
            "message_template_name": tpl.name,
            "message_template_language": tpl.language,
            "reason": reason or ("NONE" if status != "REJECTED" else tpl.rejected_reason),
        }
        if status == "PAUSED":
            value["other_info"] = {
                "title": "FIRST_PAUSE",
                "description": "Your WhatsApp message template has been paused for 3 hours "
                               "until 1:00 AM UTC because it had issues.",
            }
        self.dispatcher.enqueue("message_template_status_update",
                                template_status_envelope(tpl.waba_id, value),
                                f"template {tpl.name}/{tpl.language} -> {status}")
        self.mark_dirty()
        return value


def create_simulator(config: SimulatorConfig | None = None) -> Simulator:
    return Simulator(config or SimulatorConfig())
