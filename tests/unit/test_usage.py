"""Usage roll-up: N in + M out give (N+M) x fee, a re-run changes nothing, CSV equals the page."""

import csv
import datetime as dt
import io

from sqlmodel import select

from ctreflex.inbound.rows import record_usage
from ctreflex.models import (
    Account,
    BusinessNumber,
    Conversation,
    Message,
    Plan,
    Template,
    UsageDaily,
)
from ctreflex.services import usage
from ctreflex.services.seed import seed_usage_history

DAY = dt.date(2026, 3, 10)


def _bakery(s):
    account = s.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    plan = s.get(Plan, account.plan_id)
    number = s.exec(
        select(BusinessNumber).where(
            BusinessNumber.account_id == account.id, BusinessNumber.channel == "whatsapp"
        )
    ).one()
    conv = s.exec(select(Conversation).where(Conversation.account_id == account.id)).first()
    return account, plan, number, conv


def _messages(s, direction: str, n: int, *, day=DAY, channel="whatsapp", kind="text", **extra):
    account, plan, number, conv = _bakery(s)
    at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    for i in range(n):
        m = Message(
            account_id=account.id,
            conversation_id=conv.id,
            business_number_id=number.id,
            direction=direction,
            channel=channel,
            kind=kind,
            body=f"{direction} {i}",
            status="received" if direction == "inbound" else "accepted",
            created_at=at,
            **extra,
        )
        s.add(m)
        s.flush()
        record_usage(s, m, plan, at)
    s.commit()


def _daily(s, account_id):
    return s.exec(
        select(UsageDaily).where(UsageDaily.account_id == account_id, UsageDaily.day == DAY)
    ).all()


def test_n_in_and_m_out_give_n_plus_m_times_the_fee_and_rerun_changes_nothing(seeded):
    s = seeded
    account, plan, number, _ = _bakery(s)
    n, m = 7, 5
    _messages(s, "inbound", n)
    _messages(s, "outbound", m)
    assert usage.roll_up_day(session=s, day=DAY) == 1
    (row,) = _daily(s, account.id)
    assert (row.inbound, row.outbound) == (n, m)
    assert row.fee_minor == (n + m) * plan.fee_minor
    assert row.business_number_id == number.id and row.channel == "whatsapp"
    before = (row.id, row.computed_at, row.fee_minor)

    assert usage.roll_up_day(session=s, day=DAY) == 0  # nothing to write
    (again,) = _daily(s, account.id)
    assert (again.id, again.computed_at, again.fee_minor) == before

    rep = usage.report(session=s, account_id=account.id, start=DAY, end=DAY)
    assert rep.total_messages == n + m
    assert rep.total_fee == usage.format_fee((n + m) * plan.fee_minor)


def test_a_late_record_is_picked_up_by_a_rerun_for_a_past_day(seeded):
    s = seeded
    account, plan, _, _ = _bakery(s)
    _messages(s, "inbound", 2)
    usage.roll_up_day(session=s, day=DAY)
    _messages(s, "outbound", 1)
    assert usage.roll_up_day(session=s, day=DAY) == 1
    (row,) = _daily(s, account.id)
    assert (row.inbound, row.outbound, row.fee_minor) == (2, 1, 3 * plan.fee_minor)


def test_sms_is_counted_without_the_whatsapp_fee(seeded):
    s = seeded
    account, _, _, _ = _bakery(s)
    _messages(s, "inbound", 3, channel="sms")
    usage.roll_up_day(session=s, day=DAY)
    rows = {r.channel: r for r in _daily(s, account.id)}
    assert rows["sms"].inbound == 3 and rows["sms"].fee_minor == 0


def test_template_messages_are_counted_by_meta_category(seeded):
    s = seeded
    account, _, _, _ = _bakery(s)
    tpl = Template(
        account_id=account.id,
        waba_id="100000000000001",
        provider_template_id="t-1",
        name="order_ready",
        language="en_US",
        category="UTILITY",
        status="APPROVED",
    )
    s.add(tpl)
    s.commit()
    _messages(s, "outbound", 2, kind="template", pricing_category="marketing")
    _messages(s, "outbound", 1, kind="template", template_id=tpl.id)  # category from template
    _messages(s, "outbound", 1, kind="text", pricing_category="service")
    usage.roll_up_day(session=s, day=DAY)
    (row,) = _daily(s, account.id)
    assert (row.marketing_templates, row.utility_templates, row.authentication_templates) == (
        2,
        1,
        0,
    )
    rep = usage.report(session=s, account_id=account.id, start=DAY, end=DAY)
    cats = {c.category: c for c in rep.categories}
    assert cats["Marketing"].count == 2 and cats["Utility"].count == 1
    assert all(c.billed_by == "Meta, directly" for c in rep.categories)


def test_csv_equals_what_the_page_shows(seeded):
    s = seeded
    account, _, _, _ = _bakery(s)
    _messages(s, "inbound", 4)
    _messages(s, "outbound", 2, day=DAY + dt.timedelta(days=1))
    usage.roll_up_range(session=s, start=DAY, end=DAY + dt.timedelta(days=1))
    rep = usage.report(session=s, account_id=account.id, start=DAY, end=DAY + dt.timedelta(days=2))
    parsed = list(csv.reader(io.StringIO(usage.csv_text(rep))))
    assert parsed[0] == usage.CSV_HEADER
    assert parsed[1:] == [r.csv_cells() for r in rep.rows]
    assert [(r[0], r[3], r[4]) for r in parsed[1:]] == [
        (DAY.isoformat(), "4", "0"),
        ((DAY + dt.timedelta(days=1)).isoformat(), "0", "2"),
    ]
    assert len(rep.chart) == 3 and rep.chart[2] == {
        "day": (DAY + dt.timedelta(days=2)).strftime("%b %d"),
        "inbound": 0,
        "outbound": 0,
    }


def test_an_empty_range_gives_a_csv_with_only_the_header(seeded):
    account, _, _, _ = _bakery(seeded)
    rep = usage.report(
        session=seeded, account_id=account.id, start=dt.date(2001, 1, 1), end=dt.date(2001, 1, 2)
    )
    assert rep.rows == [] and rep.total_messages == 0
    assert usage.csv_text(rep) == ",".join(usage.CSV_HEADER) + "\r\n"


def test_the_report_never_shows_another_accounts_usage(seeded):
    s = seeded
    _messages(s, "inbound", 3)
    usage.roll_up_day(session=s, day=DAY)
    harbor = s.exec(select(Account).where(Account.name == "Harbor Tools")).one()
    assert usage.report(session=s, account_id=harbor.id, start=DAY, end=DAY).rows == []


def test_bad_ranges_are_refused_in_words():
    import pytest

    with pytest.raises(usage.UsageRangeError, match="after the end"):
        usage.parse_range("2026-02-02", "2026-02-01")
    with pytest.raises(usage.UsageRangeError, match="YYYY-MM-DD"):
        usage.parse_range("yesterday", "")
    start, end = usage.parse_range("", "", today=dt.date(2026, 3, 31))
    assert (start, end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 31))


def test_demo_usage_history_is_seeded_once(seeded):
    first = seed_usage_history(session=seeded)
    assert first > 0
    assert seed_usage_history(session=seeded) == 0
    account, _, _, _ = _bakery(seeded)
    days = seeded.exec(
        select(UsageDaily.day).where(UsageDaily.account_id == account.id).distinct()
    ).all()
    assert len(days) >= 3


def test_today_is_counted_live_without_waiting_for_a_recompute(seeded):
    s = seeded
    account, plan, _, _ = _bakery(s)
    today = dt.datetime.now(dt.UTC).date()
    base = usage.report(session=s, account_id=account.id, start=today, end=today)
    _messages(s, "inbound", 4, day=today)
    _messages(s, "outbound", 2, day=today)
    rep = usage.report(session=s, account_id=account.id, start=today, end=today)
    assert rep.total_messages == base.total_messages + 6 and rep.live
    usage.roll_up_day(session=s, day=today)  # a roll-up during the day …
    _messages(s, "inbound", 3, day=today)  # … then more messages: no lag
    rep = usage.report(session=s, account_id=account.id, start=today, end=today)
    assert rep.total_messages == base.total_messages + 9
    assert rep.total_fee == usage.format_fee(
        sum(int(float(c.fee) * 100) for c in base.channels) + 9 * plan.fee_minor
    )
    # a closed day rolled up after it ended comes from the roll-up
    _messages(s, "inbound", 2)
    usage.roll_up_day(session=s, day=DAY)
    old = usage.report(session=s, account_id=account.id, start=DAY, end=DAY)
    assert old.total_messages == 2 and not old.live
