"""GC tuning of the long-running processes (ctreflex/inbound/gc_tuning.py): after tune_gc the
start-up heap is frozen out of the collector's sight and young collections are rarer."""

from __future__ import annotations

import subprocess
import sys

from ctreflex.inbound.gc_tuning import THRESHOLD

PROBE = """
import gc
from ctreflex.inbound.gc_tuning import tune_gc
tune_gc()
print(gc.get_threshold(), gc.get_freeze_count() > 0)
"""


def test_tune_gc_freezes_the_startup_heap_and_raises_the_threshold():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split("\n")[0]
    assert out == f"{THRESHOLD} True"
