"""``python -m ctreflex.simulator --port 8100`` — serve the simulator alone with uvicorn.

With several app workers (``make run-scaled``) this is the ONE simulator: its state (outbox,
customers' chats and 24-hour windows, statuses) lives in this single process and its state file,
whichever worker calls it. ``--mount /simulator`` serves it under that path (so the app's
/simulator proxy and the customer phone page keep their URLs) and ``--sms-mount /sms-simulator``
serves the SMS provider simulator in the same process:

    python -m ctreflex.simulator --port 8100 --mount /simulator --sms-mount /sms-simulator \
        --webhook-url http://127.0.0.1:3000/webhooks/whatsapp \
        --sms-inbound-url http://127.0.0.1:3000/webhooks/sms --state-path data/simulator.json
    # the app: CTREFLEX_GRAPH_BASE_URL=http://127.0.0.1:8100/simulator
    #          CTREFLEX_SMS_BASE_URL=http://127.0.0.1:8100/sms-simulator
"""

from __future__ import annotations

import argparse
import contextlib
import os

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from ctreflex.sms_simulator import SmsSimulatorConfig, create_sms_simulator

from .core import SimulatorConfig, create_simulator


def main(argv: list[str] | None = None) -> None:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m ctreflex.simulator",
                                description="Local WhatsApp Cloud API simulator")
    p.add_argument("--host", default=env("SIM_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("SIM_PORT", "8100")))
    p.add_argument("--webhook-url",
                   default=env("SIM_WEBHOOK_URL", "http://127.0.0.1:3000/webhooks/whatsapp"),
                   help="where signed webhooks are POSTed ('' to disable)")
    p.add_argument("--app-secret", default=env("SIM_APP_SECRET", "sim-app-secret"))
    p.add_argument("--verify-token", default=env("SIM_VERIFY_TOKEN", "sim-verify-token"))
    p.add_argument("--access-token", action="append", default=None,
                   help="extra bearer token accepted for the Demo Bakery WABA (repeatable)")
    p.add_argument("--public-base-url", default=env("SIM_PUBLIC_BASE_URL"),
                   help="URL the simulator is reachable at (default http://HOST:PORT)")
    p.add_argument("--state-path", default=env("SIM_STATE_PATH"),
                   help="JSON file to persist state across restarts")
    p.add_argument("--no-seed", action="store_true")
    p.add_argument("--auto-deliver", type=float, default=1.0)
    p.add_argument("--auto-read", type=float, default=None)
    p.add_argument("--retry-schedule", default="0.5,1,2,5,10,15,30",
                   help="comma-separated seconds between webhook retries (last value repeats)")
    p.add_argument("--mount", default=env("SIM_MOUNT", ""),
                   help="serve the simulator under this path (e.g. /simulator)")
    p.add_argument("--sms-mount", default=env("SIM_SMS_MOUNT", ""),
                   help="also serve the SMS provider simulator under this path (/sms-simulator)")
    p.add_argument("--log-level", default=env("SIM_LOG_LEVEL", "info"),
                   help="uvicorn's log level (warning: no access log)")
    p.add_argument("--sms-inbound-url",
                   default=env("SIM_SMS_INBOUND_URL", "http://127.0.0.1:3000/webhooks/sms"))
    args = p.parse_args(argv)
    mount = args.mount.rstrip("/")
    base = args.public_base_url or f"http://{args.host}:{args.port}"
    config = SimulatorConfig(
        webhook_url=args.webhook_url or None,
        app_secret=args.app_secret,
        verify_token=args.verify_token,
        access_tokens=args.access_token,
        public_base_url=base + mount if not args.public_base_url else base,
        state_path=args.state_path,
        seed=not args.no_seed,
        auto_deliver=args.auto_deliver,
        auto_read=args.auto_read,
        retry_schedule=[float(x) for x in args.retry_schedule.split(",") if x.strip()],
    )
    sim = create_simulator(config)
    if not mount and not args.sms_mount:
        uvicorn.run(sim.app, host=args.host, port=args.port, log_level=args.log_level)
        return
    uvicorn.run(_combined(sim, mount, args, base), host=args.host, port=args.port,
                log_level=args.log_level)


def _combined(sim, mount: str, args, base: str):
    """One ASGI app: the WhatsApp simulator under `mount` (or /), the SMS simulator under
    --sms-mount; both started and stopped with the server."""
    routes = []
    sms = None
    if args.sms_mount:
        sms_mount = args.sms_mount.rstrip("/")
        sms = create_sms_simulator(SmsSimulatorConfig(
            inbound_url=args.sms_inbound_url or None, public_base_url=base + sms_mount))
        routes.append(Mount(sms_mount, app=sms.app))
    routes.append(Mount(mount or "/", app=sim.app))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        await sim.start()
        try:
            yield
        finally:
            await sim.stop()
            if sms is not None:
                await sms.stop()

    return Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    main()
