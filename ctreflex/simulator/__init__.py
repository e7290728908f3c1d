"""A local WhatsApp Cloud API (Graph API) simulator.

    from ctreflex.simulator import SimulatorConfig, create_simulator
    sim = create_simulator(SimulatorConfig(webhook_url="http://127.0.0.1:3000/webhooks/whatsapp"))
    app.mount("/simulator", sim.app)   # Graph base URL: http://host:port/simulator

See docs/SIMULATOR.md.
"""

from .core import Simulator, SimulatorConfig, create_simulator
from .webhooks import sign

__all__ = ["Simulator", "SimulatorConfig", "create_simulator", "sign"]
