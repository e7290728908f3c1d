"""The local SMS provider simulator, served in the app's process under /sms-simulator.

The app reaches it only over HTTP through its SMS client and CTREFLEX_SMS_BASE_URL (default
<public_url>/sms-simulator); the simulator posts signed webhooks to /webhooks/sms."""

from __future__ import annotations

from ctreflex.settings import get_settings
from ctreflex.sms_simulator import SmsSimulator, SmsSimulatorConfig, create_sms_simulator

_simulator: SmsSimulator | None = None


def build_sms_simulator() -> SmsSimulator | None:
    global _simulator
    settings = get_settings()
    if settings.sms_mode != "simulator":
        _simulator = None
        return None  # each simulator only in its own mode: provider mode serves no simulator
    if not settings.sms_simulator_in_process:
        _simulator = None  # CTREFLEX_SMS_BASE_URL points at the simulators' own process
        return None
    _simulator = create_sms_simulator(
        SmsSimulatorConfig(
            inbound_url=settings.sms_webhook_url,
            public_base_url=f"{settings.base_url}/sms-simulator",
        )
    )
    return _simulator


def current() -> SmsSimulator | None:
    return _simulator
