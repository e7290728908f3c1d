"""A year of a busy business (issue 17): the inbox's server time on 100,000 conversations and
1,000,000 messages, on SQLite or PostgreSQL.

    .venv/bin/python -m bench.scale --db sqlite                     # 100k / 1M (defaults)
    .venv/bin/python -m bench.scale --db postgres
    .venv/bin/python -m bench.scale --db sqlite --conversations 5000 --messages 50000  # smoke
    .venv/bin/python -m bench.scale --db sqlite --keep              # keep the database, print it
    .venv/bin/python -m bench.scale --url sqlite:////tmp/x/bench.db # measure a kept database again

Seeding: a fresh database (SQLite in a temp dir; PostgreSQL: a new database `scale_<pid>` on
postgresql://postgres@127.0.0.1:5432, dropped at the end unless --keep), `alembic upgrade
head`, `python -m ctreflex.cli seed`, then the Demo Bakery's year of history in bulk (SQLite
executemany in one transaction per batch, PostgreSQL COPY), messages inserted in time order
as they arrive in real life (a long thread's messages are spread over the whole table):
- a few hundred new customers a day over 365 days (one conversation each), 85 % WhatsApp,
  15 % SMS; names with accents, Spanish, British and US numbers;
- thread lengths heavy-tailed (Pareto): most threads a handful of messages, a few thousand
  long, one of 10,000 messages (contact "+34600000001") spread over the year; 1 % of messages
  share their time with the one before (ties the keyset paging must keep);
- 3 % of conversations unread, about half assigned to the two agents, 80 % of those quiet for
  a week resolved, 1 % snoozed, 20 % labelled (6 labels), windows open for the last day's.
PostgreSQL then gets `VACUUM ANALYZE` (what autovacuum has done to a database live for a
year); SQLite gets what the app itself does (nothing unless the migrations/app do it).

Measured: each case run `--repeat` times (default 20) after 2 warm-up runs, each run in its own
`db.session_scope()` as the page's handlers do, p50 / p95 / max of wall time in ms (server time:
no browser, no socket), and the p50 CPU time of this process (`time.process_time`: on SQLite
the whole work, on PostgreSQL the Python side only; less sensitive to a busy machine). The
cases are exactly what the inbox page calls:
- list: `pages.inbox.listing.list_for` (rows + assignee/status + labels + filter counts + next
  snooze) for each filter x sort in the default view (All, Open), each team view and status,
  a label filter and the Mentions view;
- search: the same call with a query: a name ("sofia garc"), a number prefix ("+34 612 3"),
  a part of a number ("4471"), a rare word of message text ("kouign") and a common one
  ("thanks");
- thread: `services.notes.thread_rows` (the messages with notes and team lines, what the
  thread draws) for the 10,000-message thread: the newest page, and an older page by keyset
  (`before`=the oldest shown message) when the service offers paging;
- badges: `conversations.filter_counts` (the filter tabs and the "(n)" of the tab title) and
  `notes.unread_mentions` (the Mentions badge).
State size per tab after opening /inbox: the vars the inbox's on_load fills (the list rows and
counts, the team bar's colleagues and notices, the label options, the mention count), measured
twice: as the JSON Reflex sends in the state delta (`reflex.utils.format.json_dumps` of each
var, the serializer Reflex's event processing uses) and as the pickle Reflex keeps per tab in
Redis (`pickle.dumps` of the values). The thread's rows after opening the long conversation
are printed beside it (not part of the /inbox target).
A full (generation 2) collection of Python's garbage collector pauses this process for ~100 ms
(more after seeding) and lands in whichever run triggers it: each case line and the end of the
report name the cases where one did (one run of 20: the p95 and max, not the p50).
Targets (issue 17): each case < 200 ms p95, the list < 50 ms p95 on PostgreSQL, state < 64 KB.
Nothing asserts: figures, targets and met/missed are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import pickle
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.ingest import BIN, ROOT, app_env, free_port, machine
from bench.procinfo import load

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
LONG_E164 = "+34600000001"
FIRST = [
    "Sofía",
    "María",
    "José",
    "Chloé",
    "Zoë",
    "Ana",
    "Lucas",
    "Noah",
    "Emma",
    "Olivia",
    "Liam",
    "Mateo",
    "Léa",
    "Hugo",
    "Jürgen",
    "Ingrid",
    "Aoife",
    "Siobhán",
    "Ravi",
    "Priya",
    "Mei",
    "Yuki",
    "Omar",
    "Fátima",
    "Tom",
    "Grace",
    "Jack",
    "Amelia",
    "Ben",
    "Isla",
]
LAST = [
    "García",
    "Núñez",
    "Smith",
    "Jones",
    "Müller",
    "Dubois",
    "O'Brien",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Silva",
    "Patel",
    "Kim",
    "Haddad",
    "Taylor",
    "Brown",
    "Wilson",
    "López",
    "Fernández",
    "Martin",
    "Davies",
    "Evans",
    "Walker",
    "Wright",
    "Hughes",
]
ITEMS = [
    "sourdough",
    "baguette",
    "croissant",
    "rye loaf",
    "cinnamon rolls",
    "birthday cake",
    "gluten-free bread",
    "brioche",
    "focaccia",
    "scones",
    "bagels",
    "muffins",
    "pretzels",
    "ciabatta",
    "carrot cake",
    "lemon tart",
    "eclairs",
    "macarons",
    "cheesecake",
    "donuts",
]
INBOUND = [
    "Hi, do you have {item} today?",
    "Can I order {n} {item} for Saturday?",
    "What time do you close?",
    "Is my order {num} ready?",
    "Thanks!",
    "thanks so much",
    "Do you deliver to {street}?",
    "How much is the {item}?",
    "Can I pay by card?",
    "I'd like to change my order {num}",
    "Are you open on Sunday?",
    "ok",
    "Great 👍",
    "Perfect, see you at {h}",
    "Do you make {item} without nuts?",
    "Hola, ¿tienen {item}?",
]
OUTBOUND = [
    "Yes, we have fresh {item} until {h}.",
    "Your order {num} is ready for pickup.",
    "We close at 7 pm today.",
    "That's {n} {item}, see you Saturday!",
    "Thanks for your order!",
    "We deliver to {street} on weekdays.",
    "The {item} is ${n}.50.",
    "Sorry, we're out of {item} today.",
    "Card is fine.",
    "Open Sunday 8 am to 1 pm.",
]
STREETS = ["Main St", "Oak Avenue", "Calle Mayor", "High Street", "Elm Road", "Rue Cler"]
RARE = "kouign"  # one message in ~1,000 mentions a kouign-amann


def pctl(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# ------------------------------------------------------------------------------ the database


def make_database(kind: str, data: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{data / 'bench.db'}"
    from sqlalchemy import create_engine, text

    name = f"scale_{os.getpid()}"
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    from ctreflex import db

    db.reset_engine()
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


# ------------------------------------------------------------------------------ the history


def thread_lengths(rng: random.Random, conversations: int, messages: int, long: int) -> list[int]:
    """Heavy-tailed lengths summing to `messages`; conversation 0 is the `long` one."""
    rest = messages - long
    weights = [min(rng.paretovariate(1.3), 400.0) for _ in range(conversations - 1)]
    scale = (rest - (conversations - 1)) / sum(weights)
    lengths = [1 + int(w * scale) for w in weights]
    short = rest - sum(lengths)
    for i in range(abs(short)):  # hand out (or take back) the rounding
        j = i % len(lengths)
        if short > 0:
            lengths[j] += 1
        elif lengths[j] > 1:
            lengths[j] -= 1
    return [long, *lengths]


def body_for(rng: random.Random, inbound: bool) -> str:
    text = rng.choice(INBOUND if inbound else OUTBOUND)
    item = rng.choice(ITEMS)
    if inbound and rng.random() < 0.001:
        item = "kouign-amann"
    return text.format(
        item=item,
        n=rng.randint(2, 24),
        num=rng.randint(10000, 99999),
        street=rng.choice(STREETS),
        h=f"{rng.randint(8, 18)}:00",
    )


def seed_history(
    account_id: int,
    number_id: int,
    user_ids: list[int],
    label_ids: list[int],
    conversations: int,
    messages: int,
    long: int,
) -> dict:
    """The year, in bulk. Returns what the measurements need (ids)."""
    from sqlalchemy import text

    from ctreflex import db
    from ctreflex.models.contact import contact_search_key

    rng = random.Random(17)
    engine = db.get_engine()
    pg = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        base_contact = conn.execute(text("SELECT coalesce(max(id), 0) FROM contact")).scalar()
        base_conv = conn.execute(text("SELECT coalesce(max(id), 0) FROM conversation")).scalar()
        base_msg = conn.execute(text("SELECT coalesce(max(id), 0) FROM message")).scalar()
    lengths = thread_lengths(rng, conversations, messages, long)
    year = 365 * 86400
    starts = sorted(rng.uniform(0, year) for _ in range(conversations))
    starts[0] = 0.0  # the long thread is the year's first customer
    # every message: (seconds since a year ago, conversation index, inbound?)
    events: list[tuple[float, int, bool]] = []
    for c, (start, n) in enumerate(zip(starts, lengths, strict=True)):
        span = (year - start) if n > 50 else min(year - start, n * rng.expovariate(1 / 3600))
        times = sorted(start + rng.uniform(0, span) for _ in range(n))
        t_prev = None
        for k, t in enumerate(times):
            if t_prev is not None and rng.random() < 0.01:
                t = t_prev  # the same instant as the one before
            events.append((t, c, k == 0 or rng.random() < 0.55))
            t_prev = t
    events.sort(key=lambda e: e[0])
    epoch = NOW - dt.timedelta(seconds=year)

    def at(seconds: float) -> dt.datetime:
        return epoch + dt.timedelta(seconds=round(seconds, 3))

    # the conversations' summaries (bodies drawn now, in insert order, from one stream)
    body_rng = random.Random(18)
    bodies: list[str] = []
    last: dict[int, tuple[float, str, bool]] = {}
    last_in: dict[int, float] = {}
    for t, c, inbound in events:
        body = body_for(body_rng, inbound)
        bodies.append(body)
        last[c] = (t, body, inbound)
        if inbound:
            last_in[c] = t
    contacts, convs, clabels = [], [], []
    for c in range(conversations):
        cid, vid = base_contact + 1 + c, base_conv + 1 + c
        first, family = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {family}" if rng.random() < 0.6 else ""
        profile = f"{first} {family[0]}." if rng.random() < 0.8 else ""
        r = rng.random()
        if c == 0:
            e164, region = LONG_E164, "ES"
        elif r < 0.5:  # distinct for c < 10^8 (7919 is prime to 10^8); so are the others
            e164, region = f"+346{(c * 7919) % 100000000:08d}", "ES"
        elif r < 0.8:
            e164, region = f"+447{(c * 104729) % 1000000000:09d}", "GB"
        else:
            e164, region = f"+1646{2000000 + (c * 1299709) % 8000000:07d}", "US"
        created = at(starts[c])
        contacts.append(
            (
                cid,
                account_id,
                e164,
                region,
                e164[1:],
                profile,
                name,
                False,
                False,
                contact_search_key(name, profile),
                created,
            )
        )
        t_last, preview, last_inbound = last[c]
        t_in = last_in.get(c)
        expires = at(t_in) + dt.timedelta(hours=24) if t_in is not None else None
        quiet = NOW - at(t_last) > dt.timedelta(days=7)
        assignee = rng.choice(user_ids) if user_ids and rng.random() < 0.5 else None
        status, until = "open", None
        if quiet and rng.random() < 0.8:
            status = "resolved"
        elif rng.random() < 0.01:
            status, until = "snoozed", NOW + dt.timedelta(hours=rng.randint(1, 72))
        unread = rng.randint(1, 4) if last_inbound and rng.random() < 0.055 else 0  # ~3 %
        convs.append(
            (
                vid,
                account_id,
                cid,
                number_id,
                "sms" if rng.random() < 0.15 else "whatsapp",
                at(t_last),
                at(t_in) if t_in is not None else None,
                expires,
                preview[:200],
                unread,
                assignee,
                created,
                status,
                until,
            )
        )
        if label_ids and rng.random() < 0.2:
            for label in rng.sample(label_ids, rng.choice((1, 1, 2))):
                clabels.append((vid, label, account_id, created))
    contact_cols = (
        "id, account_id, e164, region, wa_id, profile_name, name, sms_opted_out, "
        "marketing_opted_out, search_key, created_at"
    )
    conv_cols = (
        "id, account_id, contact_id, business_number_id, channel, last_message_at, "
        "last_inbound_at, window_expires_at, last_preview, unread_count, assignee_id, "
        "created_at, status, snoozed_until"
    )
    msg_cols = (
        "id, account_id, conversation_id, business_number_id, direction, channel, kind, "
        "body, provider_message_id, status, error_title, error_detail, reaction, "
        "business_reaction, pricing_category, created_at, send_attempts, last_error"
    )
    channels = {base_conv + 1 + c: row[4] for c, row in enumerate(convs)}

    def message_rows(chunk_start: int, chunk: list):
        for i, (t, c, inbound) in enumerate(chunk, start=chunk_start):
            vid = base_conv + 1 + c
            yield (
                base_msg + 1 + i,
                account_id,
                vid,
                number_id,
                "inbound" if inbound else "outbound",
                channels[vid],
                "text",
                bodies[i],
                f"wamid.scale.{i}",
                "received" if inbound else "read",
                "",
                "",
                "",
                "",
                "",
                at(t),
                0,
                "",
            )

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if pg:
            for table, cols, rows in (
                ("contact", contact_cols, contacts),
                ("conversation", conv_cols, convs),
                ("conversationlabel", "conversation_id, label_id, account_id, created_at", clabels),
            ):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
            step = 100_000
            for s in range(0, len(events), step):
                with cur.copy(f"COPY message ({msg_cols}) FROM STDIN") as copy:
                    for row in message_rows(s, events[s : s + step]):
                        copy.write_row(row)
                raw.commit()
            for table in ("contact", "conversation", "message"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            raw.commit()
        else:

            def lite(row):
                return tuple(
                    v.replace(tzinfo=None).isoformat(" ", "microseconds")
                    if isinstance(v, dt.datetime)
                    else v
                    for v in row
                )

            def marks(cols: str) -> str:
                return ", ".join("?" for _ in cols.split(","))

            cur.executemany(
                f"INSERT INTO contact ({contact_cols}) VALUES ({marks(contact_cols)})",
                [lite(r) for r in contacts],
            )
            cur.executemany(
                f"INSERT INTO conversation ({conv_cols}) VALUES ({marks(conv_cols)})",
                [lite(r) for r in convs],
            )
            cur.executemany(
                "INSERT INTO conversationlabel (conversation_id, label_id, "
                "account_id, created_at) VALUES (?, ?, ?, ?)",
                [lite(r) for r in clabels],
            )
            raw.commit()
            step = 50_000
            for s in range(0, len(events), step):
                cur.executemany(
                    f"INSERT INTO message ({msg_cols}) VALUES ({marks(msg_cols)})",
                    [lite(r) for r in message_rows(s, events[s : s + step])],
                )
                raw.commit()
    finally:
        raw.close()
    return {"long_id": base_conv + 1, "messages": len(events), "conversations": conversations}


# ------------------------------------------------------------------------------ measuring


def timed(fn, repeat: int, budget: float = 30.0) -> list[float]:
    from ctreflex import db

    for _ in range(2):
        with db.session_scope() as s:
            fn(s)
    out: list[float] = []
    cpu: list[float] = []
    pauses: list[float] = []
    started = time.perf_counter()
    while len(out) < repeat:
        t0, c0, g0 = time.perf_counter(), time.process_time(), FULL_GC[0]
        with db.session_scope() as s:
            fn(s)
        out.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        pauses.append(FULL_GC[0] - g0)
        if time.perf_counter() - started > budget and len(out) >= 3:
            break  # a slow case: fewer runs (the count is printed)
    CPU[id(out)] = cpu
    GC[id(out)] = pauses
    return out


CPU: dict[int, list[float]] = {}  # CPU time of this process per run, by the runs' list
GC: dict[int, list[float]] = {}  # ms of full garbage collections within each run, likewise
FULL_GC = [0.0, 0.0]  # ms spent in full (generation 2) collections so far; start of the last


def _gc_clock(phase: str, info: dict) -> None:
    """Times Python's full collections: one pauses this process for ~100 ms (every object of
    reflex, SQLAlchemy and the app is traversed), and lands in whichever run triggers it."""
    if info["generation"] != 2:
        return
    if phase == "start":
        FULL_GC[1] = time.perf_counter()
    else:
        FULL_GC[0] += (time.perf_counter() - FULL_GC[1]) * 1000


def state_size(account_id: int, user_id: int, tz: str) -> tuple[int, int, int]:
    """(JSON bytes, pickle bytes, rows) of what /inbox's on_load puts in a tab's state."""
    from reflex.utils.format import json_dumps

    from ctreflex import db
    from ctreflex.pages.inbox.listing import list_for
    from ctreflex.services import assignment, inbox_views, labels, notes
    from ctreflex.services import status as team_status

    with db.session_scope() as s:
        scope = inbox_views.scope_for("all", "open", 2, user_id)
        result = list_for(s, account_id, tz, "", "all", "recent", scope, (0, 0))
        rows, counts = (result.rows, result.counts) if hasattr(result, "rows") else result[:2]
        values = {
            "rows": rows,
            "counts": counts,
            "colleagues": assignment.colleagues(session=s, account_id=account_id),
            "notices": team_status.notices_for(session=s, account_id=account_id, user_id=user_id),
            "label_options": labels.list_labels(session=s, account_id=account_id),
            "mention_unread": notes.unread_mentions(
                session=s, account_id=account_id, user_id=user_id
            ),
        }
    js = sum(len(json_dumps(v).encode()) for v in values.values())
    return js, len(pickle.dumps(values)), len(rows)


def thread_state_size(account_id: int, conversation_id: int, tz: str) -> tuple[int, int]:
    from reflex.utils.format import json_dumps

    from ctreflex import db
    from ctreflex.services import notes

    with db.session_scope() as s:
        rows = notes.thread_rows(
            session=s, account_id=account_id, conversation_id=conversation_id, tz=tz
        )
    return len(json_dumps(rows).encode()), len(rows)


def measure(info: dict, repeat: int, pg: bool) -> list[tuple[str, list[float], float]]:
    from sqlmodel import select

    from ctreflex import db
    from ctreflex.models import Message
    from ctreflex.pages.inbox.listing import list_for
    from ctreflex.services import conversations as convs
    from ctreflex.services import inbox_views, notes
    from ctreflex.services import status as team_status

    account_id, user_id, tz = info["account_id"], info["user_id"], info["tz"]
    label_id, long_id = info["label_id"], info["long_id"]
    list_target = 50.0 if pg else 200.0
    results = []

    def case(name, fn, target=200.0):
        runs = timed(fn, repeat)
        results.append((name, runs, target))
        pause = max(GC[id(runs)], default=0.0)
        print(
            f"  {name:<44} p50 {statistics.median(runs):8.1f}  p95 {pctl(runs, 95):8.1f}  "
            f"max {max(runs):8.1f} ms  (n={len(runs)})"
            + (f"  [a full GC of {pause:.0f} ms in one run]" if pause >= 1 else ""),
            flush=True,
        )

    def lister(query="", flt="all", sort="recent", view="all", status="open", narrow=(0, 0)):
        scope = inbox_views.scope_for(view, status, 2, user_id)
        return lambda s: list_for(s, account_id, tz, query, flt, sort, scope, narrow)

    for flt in convs.FILTERS:
        for sort in convs.SORTS:
            case(f"list {flt} / {sort}", lister(flt=flt, sort=sort), list_target)
    for view in ("mine", "unassigned", "queue"):
        case(f"list view {view}", lister(view=view), list_target)
    for status in ("snoozed", "resolved", "any"):
        case(f"list status {status}", lister(status=status), list_target)
    case("list label filter", lister(narrow=(label_id, 0)), list_target)
    case("list mentions view", lister(narrow=(0, user_id)), list_target)
    for label, query in (
        ("name", "sofia garc"),
        ("number prefix", "+34 612 3"),
        ("number part", "4471"),
        ("text (rare word)", RARE),
        ("text (common word)", "thanks"),
    ):
        case(f"search {label} {query!r}", lister(query=query))
    case(
        "thread 10k: newest page",
        lambda s: notes.thread_rows(
            session=s, account_id=account_id, conversation_id=long_id, tz=tz
        ),
    )
    if hasattr(notes, "thread_page"):
        with db.session_scope() as s:
            middle = s.exec(
                select(Message.created_at, Message.id)
                .where(Message.conversation_id == long_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .offset(info["long"] // 2)
                .limit(1)
            ).one()
        case(
            "thread 10k: older page (keyset, half way back)",
            lambda s: notes.thread_rows(
                session=s,
                account_id=account_id,
                conversation_id=long_id,
                tz=tz,
                before=tuple(middle),
            ),
        )
    else:
        print("  thread 10k: older page: n/a (the service has no paging)")
    scope_where = inbox_views.clauses(inbox_views.scope_for("all", "open", 2, user_id), NOW)
    case(
        "badges: filter_counts (tabs, tab title)",
        lambda s: convs.filter_counts(session=s, account_id=account_id, where=scope_where),
    )
    case(
        "badges: unread_mentions",
        lambda s: notes.unread_mentions(session=s, account_id=account_id, user_id=user_id),
    )
    case(
        "next snooze end (next_wake)",
        lambda s: team_status.next_wake(session=s, account_id=account_id, now=NOW),
    )
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--long", type=int, default=10_000, help="messages in the long thread")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    ap.add_argument("--url", help="measure this already seeded database (no seeding)")
    args = ap.parse_args()

    data = Path(tempfile.mkdtemp(prefix="ctreflex-scale-"))
    env = app_env(data, free_port())
    env.pop("CTREFLEX_LANE_PLUGIN", None)
    env["PYTHONPATH"] = str(ROOT)  # this checkout's ctreflex, whatever the venv installed
    kind = "postgres" if (args.url or "").startswith("postgresql") else args.db
    url = args.url or make_database(args.db, data)
    env["CTREFLEX_DATABASE_URL"] = url
    print(f"load before: {' '.join(load())}", flush=True)
    seeding = 0.0
    if not args.url:
        for cmd in (
            [str(BIN / "alembic"), "upgrade", "head"],
            [str(BIN / "python"), "-m", "ctreflex.cli", "seed"],
        ):
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    os.environ.update(env)

    from sqlalchemy import text
    from sqlmodel import select

    from ctreflex import db
    from ctreflex.models import Account, BusinessNumber, Contact, Conversation, Label, User
    from ctreflex.services import labels as label_svc

    with db.session_scope() as s:
        account = s.exec(select(Account).where(Account.name == "Demo Bakery")).one()
        users = s.exec(
            select(User)
            .where(User.account_id == account.id, User.active.is_(True))
            .order_by(User.id)
        ).all()
        number = s.exec(
            select(BusinessNumber).where(
                BusinessNumber.account_id == account.id, BusinessNumber.channel == "whatsapp"
            )
        ).first()
        info = {"account_id": account.id, "user_id": users[0].id, "tz": account.timezone}
        if not args.url:
            for name, color in (
                ("VIP", "amber"),
                ("Wholesale", "blue"),
                ("Complaint", "red"),
                ("Catering", "green"),
                ("Allergy", "orange"),
                ("Late", "gray"),
            ):
                label_svc.create_label(session=s, account_id=account.id, name=name, color=color)
        label_ids = [
            lb.id for lb in s.exec(select(Label).where(Label.account_id == account.id)).all()
        ]
        user_ids = [u.id for u in users]
        number_id = number.id if number else None
    if not args.url:
        t0 = time.perf_counter()
        seeded = seed_history(
            account.id, number_id, user_ids, label_ids, args.conversations, args.messages, args.long
        )
        seeding = time.perf_counter() - t0
        t1 = time.perf_counter()
        with db.get_engine().connect() as conn:
            if kind == "postgres":
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        print(
            f"seeded {seeded['conversations']:,} conversations, {seeded['messages']:,} "
            f"messages in {seeding:.0f} s (+ {time.perf_counter() - t1:.0f} s VACUUM ANALYZE "
            f"on PostgreSQL)",
            flush=True,
        )
    with db.session_scope() as s:
        long_id = s.exec(
            select(Conversation.id)
            .join(Contact)
            .where(Contact.e164 == LONG_E164, Contact.account_id == account.id)
        ).one()
        counts = [
            s.exec(text(f"SELECT count(*) FROM {t}")).one()[0] for t in ("conversation", "message")
        ]
    info.update(long_id=long_id, label_id=label_ids[0] if label_ids else 0, long=args.long)
    print(f"database: {kind} ({url}); {counts[0]:,} conversations, {counts[1]:,} messages")
    m = machine()
    print(
        f"machine: {m['nproc']} CPU ({m['cpu']}), {m['ram']} RAM; load {' '.join(load())}",
        flush=True,
    )
    gc.callbacks.append(_gc_clock)
    results = measure(info, args.repeat, kind == "postgres")
    js, pk, nrows = state_size(info["account_id"], info["user_id"], info["tz"])
    tjs, trows = thread_state_size(info["account_id"], long_id, info["tz"])
    print(f"\nload after: {' '.join(load())}")
    print(
        "\n| case | p50 ms | p95 ms | max ms | CPU p50 ms | target | |\n"
        "|---|---:|---:|---:|---:|---:|---|"
    )
    for name, runs, target in results:
        p95 = pctl(runs, 95)
        cpu = statistics.median(CPU.get(id(runs), [0.0]))
        print(
            f"| {name} | {statistics.median(runs):.1f} | {p95:.1f} | {max(runs):.1f} | "
            f"{cpu:.1f} | < {target:.0f} ms | {'met' if p95 < target else '**missed**'} |"
        )
    print(
        f"| state per tab after /inbox ({nrows} rows): JSON | {js / 1024:.1f} KB | | | | "
        f"< 64 KB | {'met' if js < 64 * 1024 else '**missed**'} |"
    )
    print(
        f"| state per tab after /inbox: pickle (Redis) | {pk / 1024:.1f} KB | | | | "
        f"< 64 KB | {'met' if pk < 64 * 1024 else '**missed**'} |"
    )
    print(
        f"| thread rows after opening the 10k thread ({trows} rows): JSON | "
        f"{tjs / 1024:.1f} KB | | | | (info) | |"
    )
    paused = [
        f"{name} ({max(GC[id(runs)]):.0f} ms)"
        for name, runs, _ in results
        if max(GC.get(id(runs), [0.0]), default=0.0) >= 1
    ]
    if paused:
        print("\na full Python GC fell in one run of: " + ", ".join(paused))
    if seeding:
        print(f"\nseeding: {seeding:.0f} s")
    if kind == "postgres" and not args.url:
        if args.keep:
            print(f"kept: {url}")
        else:
            drop_database(url)
    elif args.keep or args.url:
        print(f"kept: {url}")
    if not (args.keep and kind == "sqlite"):
        from ctreflex import db

        db.reset_engine()
        shutil.rmtree(data, ignore_errors=True)  # the temp dir (the SQLite file unless kept)


if __name__ == "__main__":
    main()
