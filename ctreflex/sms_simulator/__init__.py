"""A local SMS provider simulator (the shape of Twilio's Messages API).

    from ctreflex.sms_simulator import SmsSimulatorConfig, create_sms_simulator
    sim = create_sms_simulator(SmsSimulatorConfig(inbound_url="http://127.0.0.1:3000/webhooks/sms"))
    app.mount("/sms-simulator", sim.app)   # provider base URL: http://host:port/sms-simulator

Imports nothing from the app: it was written apart from ctreflex/sms so each checks the other.
"""

from ctreflex.sms_simulator.core import SmsSimulator, create_sms_simulator
from ctreflex.sms_simulator.records import SEED_ACCOUNTS, ProviderError, SmsSimulatorConfig, sign

__all__ = [
    "SEED_ACCOUNTS",
    "ProviderError",
    "SmsSimulator",
    "SmsSimulatorConfig",
    "create_sms_simulator",
    "sign",
]
