"""Lifespan tasks: refuse to start without a database; run the webhook processor."""

from __future__ import annotations

import contextlib
import logging
import sys

from ctreflex import db
from ctreflex.api import simulator, sms_simulator
from ctreflex.inbound.gc_tuning import tune_gc
from ctreflex.inbound.processor import processor
from ctreflex.jobs.scheduler import scheduler_lifespan
from ctreflex.services import graph, rekey, sms
from ctreflex.settings import InsecureSettings, check_secrets, get_settings

log = logging.getLogger("ctreflex")

__all__ = ["scheduler_lifespan", "startup_checks", "webhook_processor"]


def startup_checks() -> None:
    tune_gc()  # the start-up heap out of the GC's sight: no full collections mid-request
    settings = get_settings()
    try:
        check_secrets(settings)
    except InsecureSettings as exc:
        log.critical("refusing to start: %s", exc)
        print(f"error: refusing to start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from exc
    if not settings.host_is_loopback and "simulator" in (
        settings.whatsapp_mode,
        settings.sms_mode,
    ):
        log.warning(
            "CTREFLEX_HOST=%s: the simulators and their control APIs are reachable from other "
            "machines (anyone there can act as a customer)",
            settings.host,
        )
    try:
        db.check_database()
    except db.DatabaseUnavailable as exc:
        log.critical("%s", exc)
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from exc
    try:
        with db.session_scope() as session:
            moved = rekey.reencrypt_legacy_tokens(session=session)
        if moved:
            log.warning("re-encrypted %d stored tokens from the retired default key", moved)
    except Exception:  # noqa: BLE001 - start anyway; a send names the setting if a token fails
        log.exception("could not re-encrypt tokens stored under the retired default key")


@contextlib.asynccontextmanager
async def webhook_processor():
    """Process what the journal holds (also what a crash left behind), then keep up."""
    if get_settings().processor == "process":
        await processor.start_child()  # its own process: HTTP keeps this worker's GIL
    else:
        processor.start()
    processor.notify()
    sim = simulator.current()
    if sim is not None:
        await sim.start()
    if sim is not None or get_settings().whatsapp_mode == "simulator":
        # in-process, or the simulator's own process (several workers): same PUTs, idempotent
        try:
            synced = await simulator.sync_demo_windows()
            log.info("simulator: %d customer windows synced", synced)
        except Exception:  # noqa: BLE001 - the demo still runs; sends may fail with 131047
            log.exception("could not sync customer windows to the simulator")
    sms_sim = sms_simulator.current()
    try:
        yield
    finally:
        if sim is not None:
            await sim.stop()
        if sms_sim is not None:
            await sms_sim.stop()
        await processor.stop()
        await graph.close_all()
        await sms.close_all()
