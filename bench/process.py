"""Processing only (no HTTP): journal N signed-webhook bodies shaped like bench/ingest.py's
into a fresh seeded SQLite database, then time `processor.process_due` until nothing is due.

    .venv/bin/python -m bench.process --count 20000            # fast path (default)
    .venv/bin/python -m bench.process --count 5000 --slow      # the per-event path only
    .venv/bin/python -m bench.process --count 20000 --profile /tmp/proc.prof   # cProfile

Prints events/s and messages persisted per second of processing (wall and CPU time).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ingest import BIN, ROOT, app_env, body, free_port, machine
from bench.procinfo import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--slow", action="store_true", help="switch the fast path off")
    ap.add_argument("--profile", metavar="PATH", help="write a cProfile of the processing")
    ap.add_argument("--without-search-index", action="store_true",
                    help="replace the message text index (FTS5) by a plain table first: what "
                         "keeping the search index costs per message (never in the app)")
    args = ap.parse_args()

    data = Path(tempfile.mkdtemp(prefix="ctreflex-proc-"))
    env = app_env(data, free_port())
    for cmd in ([str(BIN / "alembic"), "upgrade", "head"],
                [str(BIN / "python"), "-m", "ctreflex.cli", "seed"]):
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    os.environ.update(env)
    if args.without_search_index:
        import sqlite3

        url = env["CTREFLEX_DATABASE_URL"]
        with sqlite3.connect(url.split("///", 1)[1]) as conn:  # a plain table instead: the
            for name in ("message_fts_ai", "message_fts_ad", "message_fts_au"):  # fast path's
                conn.execute(f"DROP TRIGGER {name}")  # batch INSERT costs a plain insert
            conn.execute("DROP TABLE message_fts")
            conn.execute("CREATE TABLE message_fts (body TEXT)")

    from sqlmodel import func, select

    from ctreflex import db
    from ctreflex.inbound import fastpath, journal, processor
    from ctreflex.models import Message, WebhookEvent

    fastpath.enabled = not args.slow
    bodies = [body(seq, "P") for seq in range(args.count)]
    with db.session_scope() as session:
        for i in range(0, len(bodies), 1000):
            journal.journal_many(session=session, provider="whatsapp", bodies=bodies[i : i + 1000])
        before = session.exec(select(func.count()).select_from(Message)).one()

    prof = cProfile.Profile() if args.profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    taken = 0
    while True:
        n, _ = processor.process_due()
        if not n:
            break
        taken += n
    if prof:
        prof.disable()
        prof.dump_stats(args.profile)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    with db.session_scope() as session:
        after = session.exec(select(func.count()).select_from(Message)).one()
        states = dict(session.exec(
            select(WebhookEvent.state, func.count()).group_by(WebhookEvent.state)).all())
    stored = after - before
    m = machine()
    print(f"machine: {m['nproc']} CPU ({m['cpu']}), {m['ram']} RAM; load "
          f"{' '.join(load())}")
    print(f"path: {'per-event' if args.slow else 'fast'}; events {taken}, states {states}"
          + ("; message search index NOT kept" if args.without_search_index else ""))
    print(f"messages stored: {stored} in {wall:.2f} s wall ({stored / wall:.0f}/s), "
          f"{cpu:.2f} s CPU ({cpu / max(stored, 1) * 1e3:.3f} ms CPU per message)")


if __name__ == "__main__":
    sys.exit(main())
