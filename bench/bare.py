"""The bench's bare endpoint, `POST /bench/bare`: the cheapest POST the app process can
answer on the same path as the webhook (the webhook lane, ctreflex/inbound/lane.py), for the
ratio "webhook / bare endpoint" in one run. Mounted only when the bench starts the app with
CTREFLEX_LANE_PLUGIN=bench.bare (bench/ingest.py does); never part of the app otherwise."""

from __future__ import annotations

from ctreflex.inbound.lane import answer, read_body


async def bench_bare(scope, receive, send) -> None:
    await read_body(receive)
    await answer(send, 200, {"ok": True})


ROUTES = {"/bench/bare": bench_bare}
