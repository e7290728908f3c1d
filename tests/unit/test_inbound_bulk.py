"""inbound/bulk.py: the fast path's INSERTs (by the driver on SQLite) store exactly the row
Core's INSERT stores for the same values, and give the new ids in row order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlmodel import select

from ctreflex.inbound import bulk, rows
from ctreflex.models import Account, BusinessNumber, Conversation, Message, Plan, UsageRecord


def _stored(session, table: str, ids: list[int]) -> list[tuple]:
    """The rows as the database holds them (no type processing), without their ids."""
    found = session.connection().execute(
        text(f"SELECT * FROM {table} WHERE id IN ({', '.join(map(str, ids))}) ORDER BY id")
    ).mappings().all()
    return [tuple((k, v) for k, v in r.items() if k not in ("id", "message_id",
                                                              "provider_message_id"))
            for r in found]


def test_bulk_rows_are_the_rows_core_stores_with_ids_in_order(seeded):
    s = seeded
    account = s.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    number = s.exec(select(BusinessNumber).where(BusinessNumber.account_id == account.id)).first()
    conv = s.exec(select(Conversation).where(Conversation.account_id == account.id)).first()
    plan = s.get(Plan, account.plan_id)
    at = dt.datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)

    def message(n: int, tag: str) -> dict:
        return rows.message_values(
            account_id=account.id, conversation_id=conv.id, number_id=number.id,
            channel="whatsapp", kind="text", body=f"bulk {n} é 👍",
            provider_message_id=f"wamid.BULK{tag}{n}", at=at + dt.timedelta(seconds=n),
            reply_to_provider_id=None if n % 2 else f"wamid.Q{n}",
        )

    conn = s.connection()
    table = Message.__table__
    core_ids = conn.execute(
        table.insert().returning(table.c.id, sort_by_parameter_order=True),
        [message(n, "C") for n in range(3)],
    ).scalars().all()
    bulk_ids = bulk.insert_rows(conn, table, [message(n, "B") for n in range(3)],
                                returning_ids=True)
    by_id = dict(s.execute(select(Message.id, Message.provider_message_id)
                           .where(Message.id.in_(bulk_ids))).all())
    assert [by_id[i] for i in bulk_ids] == ["wamid.BULKB0", "wamid.BULKB1", "wamid.BULKB2"]
    assert _stored(s, "message", bulk_ids) == _stored(s, "message", list(core_ids))

    usage = [rows.usage_values(account_id=account.id, number_id=number.id, message_id=i,
                               channel="whatsapp", direction="inbound", plan=plan, at=at, now=now)
             for i in bulk_ids]
    ut = UsageRecord.__table__
    core_usage = conn.execute(ut.insert().returning(ut.c.id), usage[:1]).scalars().all()
    bulk.insert_rows(conn, ut, usage[1:])
    ids = s.execute(select(UsageRecord.id).where(UsageRecord.message_id.in_(bulk_ids))
                    .order_by(UsageRecord.id)).scalars().all()
    stored = _stored(s, "usagerecord", list(ids))
    assert len(stored) == 3 and stored[0] == _stored(s, "usagerecord", list(core_usage))[0]
    assert stored[1] == stored[0] and stored[2] == stored[0]
    s.rollback()
