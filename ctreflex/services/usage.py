"""Usage and fees: the daily roll-up of usage records, the Usage page's report and its CSV.

Ingest (inbound) and the send path (accepted outbound) write one UsageRecord per WhatsApp or SMS
message, carrying the plan's per-message fee at that moment. The roll-up sums a day's records
into UsageDaily rows per account, number and channel. It is idempotent: a re-run for any past
day recomputes the same figures and leaves equal rows untouched. The page and the CSV are both
built from `report()`, so they always agree.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections import defaultdict

from sqlmodel import Session, select

from ctreflex.models import BusinessNumber, Message, Template, UsageDaily, UsageRecord, utc_now
from ctreflex.services import phones
from ctreflex.services.errors import UserFacingError

TEMPLATE_CATEGORIES = ("marketing", "utility", "authentication")
MAX_RANGE_DAYS = 366
CSV_HEADER = [
    "date",
    "channel",
    "number",
    "inbound",
    "outbound",
    "platform_fee",
    "currency",
    "marketing_templates",
    "utility_templates",
    "authentication_templates",
]

_Key = tuple[int, int | None, str]  # account, number, channel


class UsageRangeError(UserFacingError, ValueError):
    """A date range the report cannot show; the message is safe to show."""


# ------------------------------------------------------------------------------- the roll-up


def _category(message_kind: str | None, pricing: str | None, template_category: str | None):
    """Meta's category of a template message (None for anything else)."""
    if message_kind != "template":
        return None
    value = (pricing or template_category or "").lower()
    return value if value in TEMPLATE_CATEGORIES else None


def compute_day(*, session: Session, day: dt.date, account_id: int | None = None) -> dict:
    """The day's figures from its usage records, keyed by (account, number, channel)."""
    query = (
        select(
            UsageRecord.account_id,
            UsageRecord.business_number_id,
            UsageRecord.channel,
            UsageRecord.direction,
            UsageRecord.fee_minor,
            UsageRecord.currency,
            UsageRecord.meta_category,
            Message.kind,
            Message.pricing_category,
            Template.category,
        )
        .join(Message, Message.id == UsageRecord.message_id)
        .join(Template, Template.id == Message.template_id, isouter=True)
        .where(UsageRecord.day == day)
    )
    if account_id is not None:
        query = query.where(UsageRecord.account_id == account_id)
    figures: dict[_Key, dict] = {}
    for (
        acc,
        number,
        channel,
        direction,
        fee,
        currency,
        meta_cat,
        kind,
        pricing,
        tcat,
    ) in session.exec(query).all():
        f = figures.setdefault(
            (acc, number, channel),
            {"inbound": 0, "outbound": 0, "fee_minor": 0, "currency": currency or "USD"}
            | {f"{c}_templates": 0 for c in TEMPLATE_CATEGORIES},
        )
        f["inbound" if direction == "inbound" else "outbound"] += 1
        f["fee_minor"] += fee or 0
        category = _category(kind, meta_cat or pricing, tcat) if direction == "outbound" else None
        if category:
            f[f"{category}_templates"] += 1
    return figures


def roll_up_day(*, session: Session, day: dt.date, account_id: int | None = None) -> int:
    """Recompute UsageDaily for `day` (one account, or all). Rows whose figures did not change
    are left as they are; returns how many rows were written or removed."""
    figures = compute_day(session=session, day=day, account_id=account_id)
    query = select(UsageDaily).where(UsageDaily.day == day)
    if account_id is not None:
        query = query.where(UsageDaily.account_id == account_id)
    existing = {(r.account_id, r.business_number_id, r.channel): r for r in session.exec(query)}
    changed = 0
    now = utc_now()
    for key, values in figures.items():
        row = existing.pop(key, None)
        if row is None:
            acc, number, channel = key
            row = UsageDaily(
                account_id=acc, business_number_id=number, channel=channel, day=day, **values
            )
        elif all(getattr(row, k) == v for k, v in values.items()):
            continue
        else:
            for k, v in values.items():
                setattr(row, k, v)
        row.computed_at = now
        session.add(row)
        changed += 1
    for stale in existing.values():
        session.delete(stale)
        changed += 1
    session.commit()
    return changed


def days_with_records(*, session: Session, since: dt.date | None = None) -> list[dt.date]:
    query = select(UsageRecord.day).distinct()
    if since is not None:
        query = query.where(UsageRecord.day >= since)
    return sorted(session.exec(query).all())


def roll_up_range(
    *, session: Session, start: dt.date, end: dt.date, account_id: int | None = None
) -> int:
    changed = 0
    day = start
    while day <= end:
        changed += roll_up_day(session=session, day=day, account_id=account_id)
        day += dt.timedelta(days=1)
    return changed


# ---------------------------------------------------------------------------------- the report


def format_fee(minor: int) -> str:
    """Minor units as a plain decimal (the currency is its own column)."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


@dataclasses.dataclass(frozen=True)
class UsageRow:
    """One line of the Usage table and of the CSV: a day, a channel, a number."""

    day: str
    channel: str
    number: str
    inbound: int
    outbound: int
    fee: str
    currency: str
    marketing: int
    utility: int
    authentication: int

    def csv_cells(self) -> list[str]:
        return [
            self.day,
            self.channel,
            self.number,
            str(self.inbound),
            str(self.outbound),
            self.fee,
            self.currency,
            str(self.marketing),
            str(self.utility),
            str(self.authentication),
        ]


@dataclasses.dataclass(frozen=True)
class ChannelTotal:
    channel: str
    inbound: int
    outbound: int
    fee: str


@dataclasses.dataclass(frozen=True)
class CategoryTotal:
    category: str
    count: int
    billed_by: str


@dataclasses.dataclass(frozen=True)
class UsageReport:
    start: dt.date
    end: dt.date
    rows: list[UsageRow]
    channels: list[ChannelTotal]
    categories: list[CategoryTotal]
    chart: list[dict]
    total_messages: int
    total_fee: str
    currency: str
    computed_at: dt.datetime | None  # now, when a day was counted live
    live: bool = False  # today (or a day not rolled up yet) counted from the records


def parse_range(start: str, end: str, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or utc_now().date()
    try:
        s = dt.date.fromisoformat(start) if start else today - dt.timedelta(days=29)
        e = dt.date.fromisoformat(end) if end else today
    except ValueError as exc:
        raise UsageRangeError("Dates are written as YYYY-MM-DD, e.g. 2026-01-31.") from exc
    if s > e:
        raise UsageRangeError("The start date is after the end date.")
    if (e - s).days >= MAX_RANGE_DAYS:
        raise UsageRangeError(f"Choose at most {MAX_RANGE_DAYS} days.")
    return s, e


@dataclasses.dataclass(frozen=True)
class _DayFigures:
    day: dt.date
    channel: str
    e164: str | None
    inbound: int
    outbound: int
    fee_minor: int
    currency: str
    marketing: int
    utility: int
    authentication: int
    computed_at: dt.datetime | None  # None: counted live from the usage records


def _live_days(
    session: Session, account_id: int, start: dt.date, end: dt.date, daily: list, today: dt.date
) -> set[dt.date]:
    """Days counted live from the usage records: today (still open), yesterday (late
    deliveries, the nightly job may not have run), and any day whose roll-up is missing or ran
    before the day ended."""
    live = {d for d in (today, today - dt.timedelta(days=1)) if start <= d <= end}
    rolled: dict[dt.date, dt.datetime] = {}
    for row, _ in daily:
        at = row.computed_at
        if row.day not in rolled or at < rolled[row.day]:
            rolled[row.day] = at
    recorded = session.exec(
        select(UsageRecord.day)
        .distinct()
        .where(
            UsageRecord.account_id == account_id,
            UsageRecord.day >= start,
            UsageRecord.day <= end,
        )
    ).all()
    for day in set(recorded) | set(rolled):
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
        at = rolled.get(day)
        if at is None or (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) < end_of_day:
            live.add(day)
    return live


def _figures(
    session: Session, account_id: int, start: dt.date, end: dt.date, today: dt.date
) -> list[_DayFigures]:
    daily = session.exec(
        select(UsageDaily, BusinessNumber.e164)
        .join(BusinessNumber, BusinessNumber.id == UsageDaily.business_number_id, isouter=True)
        .where(UsageDaily.account_id == account_id, UsageDaily.day >= start, UsageDaily.day <= end)
    ).all()
    live = _live_days(session, account_id, start, end, daily, today)
    out = [
        _DayFigures(
            day=d.day,
            channel=d.channel,
            e164=e164,
            inbound=d.inbound,
            outbound=d.outbound,
            fee_minor=d.fee_minor,
            currency=d.currency,
            marketing=d.marketing_templates,
            utility=d.utility_templates,
            authentication=d.authentication_templates,
            computed_at=d.computed_at,
        )
        for d, e164 in daily
        if d.day not in live
    ]
    numbers = dict(
        session.exec(
            select(BusinessNumber.id, BusinessNumber.e164).where(
                BusinessNumber.account_id == account_id
            )
        ).all()
    )
    for day in sorted(live):
        computed = compute_day(session=session, day=day, account_id=account_id)
        for (_acc, number_id, channel), f in computed.items():
            out.append(
                _DayFigures(
                    day=day,
                    channel=channel,
                    e164=numbers.get(number_id),
                    inbound=f["inbound"],
                    outbound=f["outbound"],
                    fee_minor=f["fee_minor"],
                    currency=f["currency"],
                    marketing=f["marketing_templates"],
                    utility=f["utility_templates"],
                    authentication=f["authentication_templates"],
                    computed_at=None,
                )
            )
    out.sort(key=lambda f: (f.day, f.channel, f.e164 or ""))
    return out


def report(
    *,
    session: Session,
    account_id: int,
    start: dt.date,
    end: dt.date,
    today: dt.date | None = None,
) -> UsageReport:
    """The account's usage: closed days from the daily roll-up, today (and any day the roll-up
    has not caught up with) counted live from the usage records, so totals never lag."""
    today = today or utc_now().date()
    out: list[UsageRow] = []
    by_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_category = dict.fromkeys(TEMPLATE_CATEGORIES, 0)
    per_day: dict[dt.date, list[int]] = {}
    currency = "USD"
    computed_at: dt.datetime | None = None
    live = False
    for daily in _figures(session, account_id, start, end, today):
        currency = daily.currency or currency
        out.append(
            UsageRow(
                day=daily.day.isoformat(),
                channel=daily.channel,
                number=phones.format_international(daily.e164) if daily.e164 else "(no number)",
                inbound=daily.inbound,
                outbound=daily.outbound,
                fee=format_fee(daily.fee_minor),
                currency=daily.currency,
                marketing=daily.marketing,
                utility=daily.utility,
                authentication=daily.authentication,
            )
        )
        totals = by_channel[daily.channel]
        totals[0] += daily.inbound
        totals[1] += daily.outbound
        totals[2] += daily.fee_minor
        by_category["marketing"] += daily.marketing
        by_category["utility"] += daily.utility
        by_category["authentication"] += daily.authentication
        point = per_day.setdefault(daily.day, [0, 0])
        point[0] += daily.inbound
        point[1] += daily.outbound
        if daily.computed_at is None:
            live = True
        elif computed_at is None or daily.computed_at > computed_at:
            computed_at = daily.computed_at
    if live:
        computed_at = utc_now()
    chart = []
    day = start
    while day <= end:
        inbound, outbound = per_day.get(day, (0, 0))
        chart.append({"day": day.strftime("%b %d"), "inbound": inbound, "outbound": outbound})
        day += dt.timedelta(days=1)
    channels = [
        ChannelTotal(channel=c, inbound=t[0], outbound=t[1], fee=format_fee(t[2]))
        for c, t in sorted(by_channel.items(), key=lambda kv: kv[0] != "whatsapp")
    ]
    categories = [
        CategoryTotal(category=c.title(), count=n, billed_by="Meta, directly")
        for c, n in by_category.items()
    ]
    return UsageReport(
        start=start,
        end=end,
        rows=out,
        channels=channels,
        categories=categories,
        chart=chart,
        total_messages=sum(t[0] + t[1] for t in by_channel.values()),
        total_fee=format_fee(sum(t[2] for t in by_channel.values())),
        currency=currency,
        computed_at=computed_at,
        live=live,
    )


def csv_text(rep: UsageReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rep.rows:
        writer.writerow(row.csv_cells())
    return buf.getvalue()


def csv_filename(rep: UsageReport) -> str:
    return f"usage-{rep.start.isoformat()}-to-{rep.end.isoformat()}.csv"
