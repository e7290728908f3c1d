"""Issue 17: message-text search through the text index (FTS5 on SQLite, pg_trgm on
PostgreSQL) stays right whatever writes the messages, keyset pages show every row once in
order, and the migration that adds them moves a filled database up and down."""

from __future__ import annotations

import datetime as dt
import json

from alembic import command
from sqlalchemy import text
from sqlmodel import select

from ctreflex.models import Conversation, Message
from ctreflex.services import conversations as convs
from ctreflex.services import notes, thread_view
from ctreflex.services.paging import ListCursor
from tests.factories import make_account, make_conversation, make_message, now
from tests.unit.test_migrations import _config


def _found(session, account_id: int, query: str) -> set[int]:
    rows = convs.list_rows(session=session, account_id=account_id, tz="UTC", query=query)
    return {r.id for r in rows}


def test_text_search_follows_inserts_edits_and_deletes_and_keeps_to_its_account(session):
    shop, other = make_account(session), make_account(session)
    mine = make_conversation(session, shop.account, inbound=("hello",))
    theirs = make_conversation(session, other.account, inbound=("A KOUIGN-AMANN for me",))
    message = make_message(session, mine, body="Two kouign-amann, please")
    assert _found(session, shop.account.id, "Kouign") == {mine.id}  # case ignored
    assert _found(session, other.account.id, "kouign") == {theirs.id}
    assert _found(session, shop.account.id, "amann, pl") == {mine.id}  # any part of the text

    message.body = "Two croissants, please"  # an edit (as media.py rewrites a notice)
    session.add(message)
    session.commit()
    assert _found(session, shop.account.id, "kouign") == set()
    assert _found(session, shop.account.id, "croissant") == {mine.id}

    # a bulk insert past the ORM (the inbound fast path writes so)
    table = Message.__table__
    session.execute(
        table.insert(),
        [
            {
                "account_id": shop.account.id,
                "conversation_id": mine.id,
                "direction": "inbound",
                "channel": "whatsapp",
                "kind": "text",
                "body": f"bulk {n} pain au chocolat",
                "status": "received",
                "error_title": "",
                "error_detail": "",
                "reaction": "",
                "pricing_category": "",
                "created_at": now(),
            }
            for n in range(3)
        ],
    )
    session.commit()
    assert _found(session, shop.account.id, "au choc") == {mine.id}
    session.execute(table.delete().where(table.c.body.like("bulk %")))
    session.commit()
    assert _found(session, shop.account.id, "au choc") == set()
    assert _found(session, shop.account.id, "xy") == set()  # 2 characters: names only


def test_text_search_finds_what_the_inbound_fast_path_stored(seeded, monkeypatch):
    from ctreflex.inbound import fastpath, journal, processor

    written: list[int] = []
    write = fastpath._write_run

    def counting(session, run, *args):
        written.append(len(run))
        return write(session, run, *args)

    monkeypatch.setattr(fastpath, "_write_run", counting)
    customers = ["15550107701", "15550107702"]
    bodies = []
    for n, wa_id in enumerate(customers * 2):
        bodies.append(
            json.dumps(
                {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {
                            "id": "100000000000001",
                            "changes": [
                                {
                                    "field": "messages",
                                    "value": {
                                        "messaging_product": "whatsapp",
                                        "metadata": {
                                            "display_phone_number": "15550100100",
                                            "phone_number_id": "200000000000001",
                                        },
                                        "contacts": [
                                            {"profile": {"name": f"Fast {wa_id}"}, "wa_id": wa_id}
                                        ],
                                        "messages": [
                                            {
                                                "from": wa_id,
                                                "id": f"wamid.SCALE.{n}",
                                                "timestamp": str(1767261600 + n),
                                                "type": "text",
                                                "text": {
                                                    "body": f"Any Zwetschgenkuchen left? ({n})"
                                                },
                                            }
                                        ],
                                    },
                                }
                            ],
                        }
                    ],
                }
            ).encode()
        )
    journal.journal_many(session=seeded, provider="whatsapp", bodies=bodies)
    while processor.process_due()[0]:
        pass
    assert sum(written) >= 2  # the set-based path stored them
    bakery = seeded.exec(text("SELECT id FROM account WHERE name = 'Demo Bakery'")).one()[0]
    rows = convs.list_rows(session=seeded, account_id=bakery, tz="UTC", query="zwetschgen")
    assert {r.name for r in rows} == {f"Fast {w}" for w in customers}
    if seeded.get_bind().dialect.name == "sqlite":  # indexed in one batch (a11c0e000014), once
        fts = "SELECT count(*) FROM message_fts WHERE message_fts MATCH '\"zwetschgenkuchen\"'"
        assert seeded.exec(text(fts)).one()[0] == len(bodies)
        # the fast path's marker never outlives its transaction: later writers are indexed
        assert seeded.exec(text("SELECT count(*) FROM message_fts_deferred")).one()[0] == 0
        conv = seeded.exec(select(Conversation).where(Conversation.account_id == bakery)).first()
        make_message(seeded, conv, body="Pflaumenkuchen too?")
        rows = convs.list_rows(session=seeded, account_id=bakery, tz="UTC", query="pflaumen")
        assert [r.id for r in rows] == [conv.id]


def test_thread_keyset_pages_show_every_message_once_in_order_with_ties(session):
    shop = make_account(session)
    conv = make_conversation(session, shop.account, inbound=())
    start = now() - dt.timedelta(days=3)
    for n in range(230):  # groups of three share their time
        make_message(session, conv, body=f"m{n}", at=start + dt.timedelta(minutes=n // 3))
    expected = [
        m.id
        for m in session.exec(
            select(Message)
            .where(Message.conversation_id == conv.id)
            .order_by(Message.created_at, Message.id)
        ).all()
    ]
    page = notes.thread_page(
        session=session, account_id=shop.account.id, conversation_id=conv.id, tz="UTC"
    )
    shown, pages = [r.id for r in page.rows], 1
    while page.has_older:
        page = notes.thread_page(
            session=session,
            account_id=shop.account.id,
            conversation_id=conv.id,
            tz="UTC",
            before=page.oldest,
        )
        shown, pages = [r.id for r in page.rows] + shown, pages + 1
    assert shown == expected
    assert pages == 3  # 100 + 100 + 30
    # a reload after loading older pages keeps them (and the newest)
    again = notes.thread_page(
        session=session,
        account_id=shop.account.id,
        conversation_id=conv.id,
        tz="UTC",
        since=thread_view.decode_key(thread_view.encode_key((start, expected[0]))),
    )
    assert [r.id for r in again.rows] == expected and not again.has_older


def test_joined_pages_draw_one_day_separator_where_they_meet():
    row = thread_view.MessageRow.blank(id=1, show_day=True, day_label="Today")
    older = [row]
    newer = [thread_view.MessageRow.blank(id=2, show_day=True, day_label="Today")]
    joined = thread_view.join_pages(older, newer)
    assert [(r.id, r.show_day) for r in joined] == [(1, True), (2, False)]


def test_list_keyset_pages_show_every_conversation_once_in_order_with_ties(session):
    shop = make_account(session)
    base = now() - dt.timedelta(hours=30)
    made = []
    for n in range(23):
        conv = make_conversation(session, shop.account, inbound=("hi",), window_hours_left=None)
        if n % 5 != 4:  # some never had a message: last in the latest-activity order
            conv.last_message_at = base + dt.timedelta(hours=n // 4)  # ties in fours
            # half of them have an open window, some closing at the same time
            if n % 2:
                conv.window_expires_at = now() + dt.timedelta(hours=1 + n // 6)
        session.add(conv)
        made.append(conv)
    session.commit()

    def pages(sort: str) -> list[int]:
        shown, cursor = [], None
        for _ in range(20):
            rows, cursor = convs.list_page(
                session=session,
                account_id=shop.account.id,
                tz="UTC",
                sort=sort,
                limit=4,
                after=ListCursor.decode(cursor.encode()) if cursor else None,
            )
            shown += [r.id for r in rows]
            if cursor is None:
                break
        return shown

    whole = [
        r.id
        for r in convs.list_rows(session=session, account_id=shop.account.id, tz="UTC", limit=100)
    ]
    recent_key = sorted(
        made,
        key=lambda c: (c.last_message_at is None, -(c.last_message_at or base).timestamp(), -c.id),
    )
    assert pages("recent") == whole == [c.id for c in recent_key]
    closing = pages("closing")
    open_first = sorted(
        (c for c in made if c.window_expires_at and c.window_expires_at > now()),
        key=lambda c: (c.window_expires_at, -(c.last_message_at.timestamp()), -c.id),
    )
    rest = [c.id for c in recent_key if c not in open_first]
    assert closing == [c.id for c in open_first] + rest
    assert sorted(closing) == sorted(c.id for c in made)


def test_filter_counts_add_up(session):
    shop = make_account(session)
    make_conversation(session, shop.account, unread=1, window_hours_left=1)  # closing soon
    make_conversation(session, shop.account, window_hours_left=10)
    make_conversation(session, shop.account, window_hours_left=None)
    make_conversation(session, shop.account, window_hours_left=-5)  # closed
    counts = convs.filter_counts(session=session, account_id=shop.account.id)
    assert counts == {"all": 4, "unread": 1, "open": 2, "closing": 1, "closed": 2}


def test_the_scale_migration_moves_a_filled_database_down_and_up(session, db_url):
    shop = make_account(session)
    conv = make_conversation(session, shop.account, inbound=("An old Linzertorte question",))
    session.close()
    from ctreflex import db

    db.reset_engine()
    command.downgrade(_config(db_url), "a11c0e000011")
    with db.get_engine().connect() as conn:
        tables = set(
            conn.execute(text("SELECT name FROM sqlite_master")).scalars()
            if conn.dialect.name == "sqlite"
            else conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
            ).scalars()
        )
    assert not {"message_fts", "ix_message_body_trgm"} & tables
    command.upgrade(_config(db_url), "head")  # the index is built from the rows already there
    db.reset_engine()
    from sqlmodel import Session

    with Session(db.get_engine()) as fresh:
        assert _found(fresh, shop.account.id, "linzer") == {conv.id}
        assert fresh.exec(select(Message).where(Message.conversation_id == conv.id)).all()


def test_a_common_word_finds_the_same_conversations_by_the_walk(session, monkeypatch):
    """Past search.COMMON matches the list walks its order checking each conversation's own
    messages (SQLite and PostgreSQL) instead of mapping every match: the same conversations
    in the same order, none of another account, and a hostile text is still only text."""
    from ctreflex.services import search

    shop, other = make_account(session), make_account(session)
    hits = [make_conversation(session, shop.account, inbound=("Thanks a lot!",)) for _ in "ab"]
    make_conversation(session, shop.account, inbound=("See you",))
    make_conversation(session, other.account, inbound=("thanks",))
    odd = make_conversation(session, shop.account, inbound=("plain hello",))
    make_message(session, odd, body="100% OR * ok")

    def ordered(query):
        rows = convs.list_rows(session=session, account_id=shop.account.id, tz="UTC", query=query)
        return [r.id for r in rows]

    expected = {c.id for c in hits}
    by_set = {q: ordered(q) for q in ("thanks", "100% or", "%%%", "thanks a")}
    assert set(by_set["thanks"]) == expected
    monkeypatch.setattr(search, "COMMON", 0)
    assert {q: ordered(q) for q in by_set} == by_set
    assert by_set["100% or"] == [odd.id] and by_set["%%%"] == []


def test_a_word_repeated_in_one_thread_maps_its_matches_instead_of_walking(session, monkeypatch):
    """The walk pays off only when the matches are spread over many conversations: a text in
    more than COMMON messages of one thread (an order number) would make it read every
    conversation of the list; it is looked up by its matches, with the same result."""
    from ctreflex.services import search

    monkeypatch.setattr(search, "COMMON", 4)
    shop = make_account(session)
    chatty = make_conversation(session, shop.account, inbound=("hello",))
    for _ in range(5):
        make_message(session, chatty, body="order ZQ-77 again")
    spread = [make_conversation(session, shop.account, inbound=("Gracias!",)) for _ in range(5)]
    make_conversation(session, shop.account, inbound=("See you",))
    assert not search._common(session, "zq-77")
    assert search._common(session, "gracias")
    assert _found(session, shop.account.id, "zq-77") == {chatty.id}
    assert _found(session, shop.account.id, "gracias") == {c.id for c in spread}


def test_a_common_word_pages_like_the_sets_in_both_orders_and_after_filters(session, monkeypatch):
    """The walk (PostgreSQL: the filtered list as a subquery, checked outside it) gives the
    pages the id sets give: keyset pages in both orders with ties, a filter, a label."""
    from ctreflex.services import labels as label_svc
    from ctreflex.services import notes as notes_svc
    from ctreflex.services import search

    shop = make_account(session)
    base = now() - dt.timedelta(hours=30)
    label = label_svc.create_label(
        session=session, account_id=shop.account.id, name="VIP", color="amber"
    )
    for n in range(23):
        conv = make_conversation(session, shop.account, inbound=(), window_hours_left=None)
        if n % 3:
            make_message(session, conv, body=f"Thanks {n}")
        if n % 5 != 4:
            conv.last_message_at = base + dt.timedelta(hours=n // 4)  # ties in fours
            if n % 2:
                conv.window_expires_at = now() + dt.timedelta(hours=1 + n // 6)
        conv.unread_count = n % 4
        session.add(conv)
        if n % 4 == 1:
            label_svc.add_to_conversation(
                session=session, account_id=shop.account.id, conversation_id=conv.id,
                label_id=label.id,
            )
    make_conversation(session, shop.account, inbound=("hello",), name="Thanksgiving Baker")
    session.commit()

    def pages(sort, filter="all", where=()):
        shown, cursor = [], None
        for _ in range(30):
            rows, cursor = convs.list_page(
                session=session, account_id=shop.account.id, tz="UTC", query="thanks",
                sort=sort, filter=filter, where=where, limit=3,
                after=ListCursor.decode(cursor.encode()) if cursor else None,
            )
            shown += [r.id for r in rows]
            if cursor is None:
                return shown
        raise AssertionError("no end")

    cases = [
        (sort, flt, where)
        for sort in ("recent", "closing")
        for flt, where in (
            ("all", ()),
            ("unread", ()),
            ("open", ()),
            ("all", notes_svc.narrow_clauses(label.id, 0)),
        )
    ]
    monkeypatch.setattr(search, "COMMON", 10**9)
    by_sets = [pages(*case) for case in cases]
    assert len(by_sets[0]) == 16 and len(set(by_sets[0])) == 16  # 15 messages + the name
    monkeypatch.setattr(search, "COMMON", 0)
    assert [pages(*case) for case in cases] == by_sets


def test_search_text_is_only_ever_text(session):
    """What an agent types is matched as text: FTS5 syntax, quotes, LIKE wildcards and
    emoji neither fail nor widen the search."""
    shop = make_account(session)
    conv = make_conversation(session, shop.account, inbound=("plain hello",))
    make_message(session, conv, body='He said "NEAR(a b)" and 100% OR * ok 🎂 cake')
    hostile = [
        '"',
        '""',
        "NEAR(a b)",
        "' OR 1=1 --",
        "100%",
        "*",
        "a*b",
        "OR",
        "^cake",
        "col:val",
        "(",
        ")",
        "🎂",
        "_%_",
        "\\",
        "\x00x",
        "- -",
        "AND NOT",
    ]
    for query in hostile:
        found = _found(session, shop.account.id, query)  # never raises
        assert found <= {conv.id}, query
    assert _found(session, shop.account.id, '"NEAR(a b)"') == {conv.id}
    assert _found(session, shop.account.id, "100% OR") == {conv.id}
    assert _found(session, shop.account.id, "🎂 cake") == {conv.id}
    assert _found(session, shop.account.id, "%%%") == set()  # a wildcard is a character
    assert _found(session, shop.account.id, "___") == set()


def test_a_nul_character_is_stored_as_a_replacement_character(session):
    """PostgreSQL refuses U+0000 in text: a note, a message or a name holding one is stored with
    U+FFFD instead (on both databases), and a search for it is an empty search, not a failure."""
    shop = make_account(session)
    conv = make_conversation(session, shop.account, inbound=("hi",), name="Nul\x00Name")
    message = make_message(session, conv, body="before\x00after")
    session.expire_all()
    assert session.get(Message, message.id).body == "before\ufffdafter"
    assert _found(session, shop.account.id, "\x00") == {conv.id}  # as an empty search
    assert _found(session, shop.account.id, "before\ufffdaft") == {conv.id}
