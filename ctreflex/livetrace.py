"""Stage times of live updates, opt-in (CTREFLEX_LIVE_TRACE=<file>): where the time between a
webhook's commit and the text in the browsers goes. bench/live.py sets it and prints a
breakdown per stage.

Each stage is one JSON line appended to the file: {"s": stage, "t": epoch seconds, ...}; the
processor's child and the web worker append to the same file (O_APPEND: a short line is
written whole). The stages: "commit" (the processor's transaction committed), "publish" (the
web worker hands the event to its tabs), "handler" (a tab's listener woke with it), "emitted"
(that tab's delta was handed to its socket). Off (the default) `enabled()` is a cached False:
nothing is built, nothing written.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ctreflex.settings import get_settings


@functools.cache
def _fd() -> int | None:
    path = get_settings().live_trace
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if path else None


def enabled() -> bool:
    return _fd() is not None


def mark(stage: str, **fields: Any) -> None:
    """Append one stage line when tracing is on (callers test `enabled()` first when the
    fields cost anything to build)."""
    fd = _fd()
    if fd is None:
        return
    line = json.dumps({"s": stage, "t": time.time(), **fields}, separators=(",", ":"))
    os.write(fd, line.encode() + b"\n")


def message_ids(events: Iterable[Mapping[str, Any]]) -> list[int]:
    """The message ids a batch of wire events is about (what the bench correlates on)."""
    return [e["message_id"] for e in events if e.get("message_id")]


def read(path: str) -> list[dict[str, Any]]:
    """Every stage line of a trace file (bench side)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
