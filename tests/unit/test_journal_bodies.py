"""journal.journal_bodies, the webhook's journal write (raw driver on SQLite, ORM elsewhere):
every body gets its own row and the id handed back is that row's, on both databases."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.inbound import journal
from ctreflex.models import WebhookEvent


def _bodies(n: int, tag: str) -> list[bytes]:
    return [
        json.dumps({"object": "whatsapp_business_account", "tag": tag, "seq": i}).encode()
        for i in range(n)
    ]


def _rows() -> dict[int, WebhookEvent]:
    with Session(db.get_engine()) as s:
        return {e.id: e for e in s.exec(select(WebhookEvent)).all()}


def test_ids_come_back_in_body_order_and_match_the_stored_rows(db_url):
    # a row already there (written by the ORM) so the new ids do not simply start at 1
    with db.session_scope() as s:
        first = journal.journal(session=s, provider="whatsapp", body=b'{"before": true}')
        first_id = first.id
    bodies = _bodies(7, "a")
    bodies.append(b"\xff\xfe not utf-8 \xc3")  # the sha256 is of the bytes as received

    ids = journal.journal_bodies(provider="whatsapp", bodies=bodies)
    again = journal.journal_bodies(provider="whatsapp", bodies=_bodies(3, "b"))

    assert len(ids) == len(bodies) and len(set(ids)) == len(ids)
    assert ids == sorted(ids) and ids[0] > first_id
    assert again[0] > ids[-1]
    rows = _rows()
    assert set(rows) == {first_id, *ids, *again}
    for event_id, raw in zip(ids, bodies, strict=True):
        row = rows[event_id]
        assert row.body == raw.decode("utf-8", errors="replace")
        assert row.body_sha256 == hashlib.sha256(raw).hexdigest()
        assert (row.provider, row.state, row.attempts, row.kind, row.error) == (
            "whatsapp", "pending", 0, "", "")
        assert row.account_id is None and row.next_attempt_at is None
    for event_id, raw in zip(again, _bodies(3, "b"), strict=True):
        assert rows[event_id].body_sha256 == hashlib.sha256(raw).hexdigest()


def test_received_at_reads_back_utc_aware_and_filters_like_orm_rows(db_url):
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    ids = journal.journal_bodies(provider="whatsapp", bodies=_bodies(3, "t"))
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    with Session(db.get_engine()) as s:
        rows = s.exec(select(WebhookEvent).where(WebhookEvent.id.in_(ids))).all()
        assert len(rows) == 3
        for row in rows:
            assert isinstance(row.received_at, dt.datetime)
            assert row.received_at.tzinfo is not None
            assert row.received_at.utcoffset() == dt.timedelta(0)
            assert before <= row.received_at <= after
        # the time compares as the ORM's own rows do (retention, "received since" filters)
        in_range = s.exec(
            select(WebhookEvent.id).where(
                WebhookEvent.received_at >= before, WebhookEvent.received_at <= after
            )
        ).all()
        assert sorted(in_range) == sorted(ids)
        assert not s.exec(
            select(WebhookEvent.id).where(WebhookEvent.received_at > after)
        ).all()
        # what due_event_ids hands the processor: these, in id order
        assert journal.due_event_ids(session=s) == sorted(ids)


def _failing_trigger(url: str) -> tuple[list[str], list[str]]:
    """SQL that makes the database refuse a body containing 'boom', and SQL that undoes it."""
    if url.startswith("sqlite"):
        return (
            ["CREATE TRIGGER refuse_boom BEFORE INSERT ON webhookevent "
             "WHEN NEW.body LIKE '%boom%' BEGIN SELECT RAISE(ABORT, 'refused'); END"],
            ["DROP TRIGGER refuse_boom"],
        )
    return (
        ["CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         "IF NEW.body LIKE '%boom%' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
         "CREATE TRIGGER refuse_boom BEFORE INSERT ON webhookevent "
         "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"],
        ["DROP TRIGGER refuse_boom ON webhookevent", "DROP FUNCTION refuse_boom()"],
    )


def test_a_batch_the_database_refuses_stores_none_of_its_bodies(db_url):
    """One transaction: a failure on the third body leaves the first two out as well (each
    request of the batch gets a 500 and is sent again, so a half-stored batch would be kept
    twice)."""
    create, drop = _failing_trigger(db_url)
    with db.get_engine().begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        bodies = [b'{"n": 1}', b'{"n": 2}', b'{"boom": 3}', b'{"n": 4}']
        with pytest.raises(Exception, match="refused"):
            journal.journal_bodies(provider="whatsapp", bodies=bodies)
        assert _rows() == {}
        # the journal still works afterwards (the connection went back clean)
        ids = journal.journal_bodies(provider="whatsapp", bodies=[b'{"n": 5}'])
        rows = _rows()
        assert list(rows) == ids and rows[ids[0]].body == '{"n": 5}'
    finally:
        with db.get_engine().begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def test_an_empty_batch_stores_nothing_and_returns_no_ids(db_url):
    with db.session_scope() as s:
        journal.journal(session=s, provider="whatsapp", body=b'{"before": true}')
    assert journal.journal_bodies(provider="whatsapp", bodies=[]) == []
    with db.session_scope() as s:
        assert journal.journal_many(session=s, provider="whatsapp", bodies=[]) == []
    assert len(_rows()) == 1
