"""``python -m ctreflex.simulator --port 8100`` — serve the simulator alone with uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn

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
    args = p.parse_args(argv)
    config = SimulatorConfig(
        webhook_url=args.webhook_url or None,
        app_secret=args.app_secret,
        verify_token=args.verify_token,
        access_tokens=args.access_token,
        public_base_url=args.public_base_url or f"http://{args.host}:{args.port}",
        state_path=args.state_path,
        seed=not args.no_seed,
        auto_deliver=args.auto_deliver,
        auto_read=args.auto_read,
        retry_schedule=[float(x) for x in args.retry_schedule.split(",") if x.strip()],
    )
    sim = create_simulator(config)
    uvicorn.run(sim.app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
