"""Garbage-collector settings for the long-running processes (web worker, processor child).

The app's start-up objects (compiled pages, components, vars: most of the heap) live as long
as the process, so they are moved out of the cyclic GC's sight (`gc.freeze`); and young
objects are collected less often. With the defaults, a request's few hundred allocations ran
a collection every few requests and a full one every few seconds, 7 to 13 ms each, in the
middle of requests: that was the webhook's p99 (docs/PERFORMANCE.md).

Buys: p99 28-79 -> 22-24 ms and ~15 % more webhook throughput (bench/ingest.py). Guarded by
tests/unit/test_gc_tuning.py (the settings hold after tune_gc in a fresh interpreter).
"""

from __future__ import annotations

import gc

THRESHOLD = (50_000, 20, 100)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLD)
