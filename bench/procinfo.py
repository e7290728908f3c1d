"""What the benches report about processes and the machine, through psutil (no file read
outside the repository: psutil asks the operating system)."""

from __future__ import annotations

import contextlib
import os
import platform

import psutil


def group_processes(pgid: int) -> list[psutil.Process]:
    """Every live process of the process group `pgid`."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid:
                found.append(proc)
    return found


def _cpu(proc: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        t = proc.cpu_times()
        return t.user + t.system
    return 0.0


def group_cpu_seconds(pgid: int) -> float:
    """User+system CPU of every live process in the group."""
    return sum(_cpu(p) for p in group_processes(pgid))


def browser_cpu_by_kind() -> dict[str, float]:
    """User+system CPU of every Chromium process on the machine (the bench's own browser: the
    benches run on a machine with no other Chromium), per kind of process: "renderer" (the
    pages: script, style, layout, paint), "gpu-process" (compositing; software with
    --disable-gpu), "browser", and the utilities by sub-type ("utility:NetworkService")."""
    kinds: dict[str, float] = {}
    for proc in psutil.process_iter(["name", "cmdline"]):
        if not (proc.info.get("name") or "").startswith(("chrom", "headless_shell")):
            continue
        kind = "browser"
        for arg in proc.info.get("cmdline") or []:
            if arg.startswith("--type="):
                kind = arg.removeprefix("--type=")
            elif arg.startswith("--utility-sub-type="):
                sub = arg.rsplit(".", 1)[-1]
                kind = f"utility:{sub}"
        kinds[kind] = kinds.get(kind, 0.0) + _cpu(proc)
    return kinds


def worker_pid(pgid: int) -> int | None:
    """The granian worker holding the Python app: the busiest python process in the group."""
    best, best_cpu = None, -1.0
    for proc in group_processes(pgid):
        with contextlib.suppress(psutil.Error):
            if "python" in " ".join(proc.cmdline()) and _cpu(proc) > best_cpu:
                best, best_cpu = proc.pid, _cpu(proc)
    return best


def rss_mb(pgid: int) -> float:
    """Resident memory of every process of the group, MB."""
    total = 0
    for proc in group_processes(pgid):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total / 1024 / 1024


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def load() -> list[str]:
    return [f"{x:.2f}" for x in os.getloadavg()]


def machine() -> dict:
    ram = f"{psutil.virtual_memory().total / 1024**3:.1f} GiB"
    cpu = platform.processor() or platform.machine() or "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram": ram, "python": platform.python_version()}
