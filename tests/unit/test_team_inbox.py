"""The team inbox's services (issue 15, team-a): assignment, status and snooze, the thread's
lines, the list views, the window work queue and its reminders, auto-assign on reply, reopen
on a customer message (both ingest paths), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from sqlmodel import select

from ctreflex.inbound import dispatch, fastpath, journal
from ctreflex.models import (
    Account,
    BusinessNumber,
    Contact,
    Conversation,
    ConversationEvent,
    Message,
    User,
    WebhookDelivery,
    utc_now,
)
from ctreflex.services import assignment, inbox_views, thread_view
from ctreflex.services import conversations as convs
from ctreflex.services import outbound_webhooks as hooks
from ctreflex.services import status as st
from ctreflex.services.assignment import Actor, TeamError

TZ = "Europe/Madrid"


def _users(s):
    ada = s.exec(select(User).where(User.email == "admin@demo.test")).one()
    sam = s.exec(select(User).where(User.email == "agent@demo.test")).one()
    harbor = s.exec(select(User).where(User.email == "admin@harbor.test")).one()
    return ada, sam, harbor


def _conv(s, name: str) -> Conversation:
    return s.exec(select(Conversation).join(Contact).where(Contact.name == name)).one()


def _foreign_conv(s, account_id: int) -> Conversation:
    """A conversation of Harbor Tools (the other tenant)."""
    harbor = s.exec(select(Account).where(Account.name == "Harbor Tools")).one()
    contact = Contact(account_id=harbor.id, e164="+15550107777", name="Harbor Customer")
    s.add(contact)
    s.flush()
    conv = Conversation(account_id=harbor.id, contact_id=contact.id)
    s.add(conv)
    s.commit()
    return conv


def _lines(s, conv: Conversation, tz: str = TZ) -> list[str]:
    rows = thread_view.thread_rows(
        session=s, account_id=conv.account_id, conversation_id=conv.id, tz=tz
    )
    return [r.notice_text for r in rows if r.direction == "event"]


def _list(s, account_id, view="all", status="open", hours=2, user_id=0, query=""):
    scope = inbox_views.scope_for(view, status, hours, user_id)
    now = utc_now()
    rows = convs.list_rows(
        session=s,
        account_id=account_id,
        tz=TZ,
        query=query,
        sort=inbox_views.sort_for(scope, "recent"),
        now=now,
        where=inbox_views.clauses(scope, now),
    )
    return inbox_views.decorate(session=s, account_id=account_id, items=rows, tz=TZ, now=now)


def test_assign_writes_a_thread_line_in_the_viewers_zone_and_the_views_follow(seeded):
    s = seeded
    ada, sam, _ = _users(s)
    conv = _conv(s, "Sofía García")
    changes = assignment.assign(
        session=s,
        account_id=ada.account_id,
        conversation_ids=[conv.id],
        assignee_id=sam.id,
        actor=Actor(user_id=ada.id),
    )
    assert [(c.conversation_id, c.kind) for c in changes] == [(conv.id, "assigned")]
    event = s.exec(
        select(ConversationEvent).where(ConversationEvent.conversation_id == conv.id)
    ).one()
    madrid = event.created_at.astimezone(dt.timezone(dt.timedelta(hours=1))).strftime("%H:%M")
    assert _lines(s, conv) == [f"Ada Baker assigned this to Sam Rivers, {madrid}"]
    utc = event.created_at.strftime("%H:%M")
    assert _lines(s, conv, "UTC") == [f"Ada Baker assigned this to Sam Rivers, {utc}"]

    mine = _list(s, ada.account_id, "mine", user_id=sam.id)
    assert [r.name for r in mine] == ["Sofía García"]
    assert mine[0].assignee_name == "Sam Rivers"
    assert _list(s, ada.account_id, "mine", user_id=ada.id) == []
    unassigned = _list(s, ada.account_id, "unassigned")
    assert "Sofía García" not in [r.name for r in unassigned] and unassigned
    # the same again changes nothing; unassigning is a line too
    again = assignment.assign(
        session=s,
        account_id=ada.account_id,
        conversation_ids=[conv.id],
        assignee_id=sam.id,
        actor=Actor(user_id=ada.id),
    )
    assert again == []
    assignment.assign(
        session=s,
        account_id=ada.account_id,
        conversation_ids=[conv.id],
        assignee_id=None,
        actor=Actor(user_id=sam.id),
    )
    assert _lines(s, conv)[-1].startswith("Sam Rivers unassigned themselves, ")
    assert s.get(Conversation, conv.id).assignee_id is None


def test_assign_refuses_other_accounts_and_unknown_users_and_changes_nothing(seeded):
    s = seeded
    ada, sam, harbor = _users(s)
    conv = _conv(s, "Sofía García")
    foreign = _foreign_conv(s, ada.account_id)
    for ids, assignee, field in (
        ([foreign.id], sam.id, "conversation_id"),
        ([conv.id, foreign.id], sam.id, "conversation_id"),  # all or nothing
        ([conv.id], harbor.id, "assignee_id"),
        ([conv.id], 999_999, "assignee_id"),
    ):
        with pytest.raises(TeamError) as exc:
            assignment.assign(
                session=s,
                account_id=ada.account_id,
                conversation_ids=ids,
                assignee_id=assignee,
                actor=Actor(user_id=ada.id),
            )
        assert exc.value.field == field
    # a user of another account cannot act in this one
    with pytest.raises(TeamError):
        assignment.assign(
            session=s,
            account_id=ada.account_id,
            conversation_ids=[conv.id],
            assignee_id=sam.id,
            actor=Actor(user_id=harbor.id),
        )
    # a deactivated user cannot be assigned
    sam.active = False
    s.add(sam)
    s.commit()
    with pytest.raises(TeamError):
        assignment.assign(
            session=s,
            account_id=ada.account_id,
            conversation_ids=[conv.id],
            assignee_id=sam.id,
            actor=Actor(user_id=ada.id),
        )
    s.expire_all()
    assert s.get(Conversation, conv.id).assignee_id is None
    assert s.get(Conversation, foreign.id).assignee_id is None
    assert s.exec(select(ConversationEvent)).all() == []


def test_auto_assign_on_reply_follows_the_account_setting_and_only_admins_change_it(seeded):
    s = seeded
    ada, sam, _ = _users(s)
    conv = _conv(s, "Sofía García")
    assignment.claim_on_reply(s, conv, sam.id)
    s.commit()
    assert s.get(Conversation, conv.id).assignee_id == sam.id
    assert _lines(s, conv)[-1].startswith("Sam Rivers replied and took this conversation, ")
    assignment.claim_on_reply(s, conv, ada.id)  # already assigned: stays Sam's
    s.commit()
    assert s.get(Conversation, conv.id).assignee_id == sam.id

    with pytest.raises(TeamError):
        assignment.set_auto_assign(
            session=s, account_id=sam.account_id, user_id=sam.id, enabled=False
        )
    assignment.set_auto_assign(session=s, account_id=ada.account_id, user_id=ada.id, enabled=False)
    other = _conv(s, "Lucas Martin") if _has(s, "Lucas Martin") else _other_conv(s, conv)
    assignment.claim_on_reply(s, other, sam.id)
    s.commit()
    assert s.get(Conversation, other.id).assignee_id is None
    assert assignment.settings(
        session=s, account_id=ada.account_id, user_id=sam.id
    ) == assignment.TeamSettings(auto_assign=False, reminders=False, is_admin=False)


def _has(s, name: str) -> bool:
    return s.exec(select(Contact).where(Contact.name == name)).first() is not None


def _other_conv(s, conv: Conversation) -> Conversation:
    return s.exec(
        select(Conversation).where(
            Conversation.account_id == conv.account_id, Conversation.id != conv.id
        )
    ).first()


def test_snooze_resolve_and_the_status_filters(seeded):
    s = seeded
    ada, sam, _ = _users(s)
    conv = _conv(s, "Sofía García")
    now = utc_now()
    acct = ada.account_id
    with pytest.raises(TeamError):
        st.set_status(
            session=s,
            account_id=acct,
            conversation_ids=[conv.id],
            status="snoozed",
            until=now - dt.timedelta(minutes=1),
            actor=Actor(user_id=ada.id),
        )
    until = now + dt.timedelta(hours=2)
    st.set_status(
        session=s,
        account_id=acct,
        conversation_ids=[conv.id],
        status="snoozed",
        until=until,
        actor=Actor(user_id=ada.id),
    )
    assert "Sofía García" not in [r.name for r in _list(s, acct)]
    snoozed = _list(s, acct, status="snoozed")
    assert [r.name for r in snoozed] == ["Sofía García"]
    assert snoozed[0].status_text.startswith("Snoozed until ")
    assert "snoozed this until" in _lines(s, conv)[-1]
    # its time passes: every list counts it as open before the job runs
    later = until + dt.timedelta(seconds=1)
    assert st.effective("snoozed", until, later) == "open"
    changes = st.wake_due(session=s, now=later)
    assert [c.conversation_id for c in changes] == [conv.id]
    assert s.get(Conversation, conv.id).status == "open"
    assert _lines(s, conv)[-1].startswith("Snooze ended: open again, ")
    # resolve many at once
    other = _other_conv(s, conv)
    st.set_status(
        session=s,
        account_id=acct,
        conversation_ids=[conv.id, other.id],
        status="resolved",
        actor=Actor(user_id=sam.id),
    )
    resolved = {r.name for r in _list(s, acct, status="resolved")}
    assert len(resolved) == 2 and "Sofía García" in resolved
    assert len(_list(s, acct, status="any")) == len(_list(s, acct, status="open")) + 2


def _inbound_body(wa_id: str, wamid: str, text: str) -> bytes:
    return json.dumps(
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
                                "contacts": [{"profile": {"name": "Cust"}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": wamid,
                                        "timestamp": str(int(time.time())),
                                        "type": "text",
                                        "text": {"body": text},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


@pytest.mark.parametrize("fast", [False, True])
def test_a_customer_message_reopens_a_snoozed_or_resolved_conversation(seeded, monkeypatch, fast):
    s = seeded
    ada, _, _ = _users(s)
    monkeypatch.setattr(fastpath, "enabled", fast)
    conv = _conv(s, "Sofía García")
    contact = s.get(Contact, conv.contact_id)
    wa_id = contact.wa_id or contact.e164.lstrip("+")
    for n, status in enumerate(("snoozed", "resolved")):
        st.set_status(
            session=s,
            account_id=ada.account_id,
            conversation_ids=[conv.id],
            status=status,
            until=utc_now() + dt.timedelta(days=1) if status == "snoozed" else None,
            actor=Actor(user_id=ada.id),
        )
        ids = [
            journal.journal(
                session=s,
                provider="whatsapp",
                body=_inbound_body(wa_id, f"wamid.TEAM{int(fast)}{n}", "Hola otra vez"),
            ).id
        ]
        dispatch.process_events(session=s, event_ids=ids)
        s.expire_all()
        assert s.get(Conversation, conv.id).status == "open"
        assert _lines(s, conv)[-1].startswith("Reopened: the customer wrote, ")


def test_window_queue_lists_unanswered_closing_soon_and_drops_answered(seeded):
    s = seeded
    ada, sam, _ = _users(s)
    acct = ada.account_id
    now = utc_now()
    number = s.exec(select(BusinessNumber).where(BusinessNumber.account_id == acct)).first()
    contact = Contact(account_id=acct, e164="+34612000111", name="Queue Customer")
    s.add(contact)
    s.flush()
    conv = Conversation(account_id=acct, contact_id=contact.id, business_number_id=number.id)
    inbound_at = now - dt.timedelta(hours=23, minutes=58)  # closes in 2 min: first
    conv.last_inbound_at = inbound_at
    conv.window_expires_at = inbound_at + dt.timedelta(hours=24)
    s.add(conv)
    s.flush()
    s.add(
        Message(
            account_id=acct,
            conversation_id=conv.id,
            business_number_id=number.id,
            direction="inbound",
            channel="whatsapp",
            kind="text",
            body="¿Hola?",
            status="received",
            created_at=inbound_at,
        )
    )
    s.commit()
    queue = _list(s, acct, "queue", hours=2)
    names = [r.name for r in queue]
    assert names[0] == "Queue Customer"
    expiries = [r.window_expires_ms for r in queue]
    assert expiries == sorted(expiries)
    assert all(0 < r.window_expires_ms - now.timestamp() * 1000 <= 2 * 3600_000 for r in queue)
    # T-60 reminder: only with an assignee who opted in, once per window
    assignment.assign(
        session=s,
        account_id=acct,
        conversation_ids=[conv.id],
        assignee_id=sam.id,
        actor=Actor(user_id=ada.id),
    )
    assert st.reminders_due(session=s, now=now) == []
    assignment.set_window_reminders(session=s, account_id=acct, user_id=sam.id, enabled=True)
    due = st.reminders_due(session=s, now=now)
    assert [(r.conversation_id, r.user_id) for r in due] == [(conv.id, sam.id)]
    assert st.reminders_due(session=s, now=now) == []
    notices = st.notices_for(session=s, account_id=acct, user_id=sam.id, now=now)
    assert [n.conversation_id for n in notices] == [conv.id]
    assert "Queue Customer: the 24-hour window closes in" in notices[0].text
    assert st.notices_for(session=s, account_id=acct, user_id=ada.id, now=now) == []
    assert "reminder" not in " ".join(_lines(s, conv))
    # answered: out of the queue
    s.add(
        Message(
            account_id=acct,
            conversation_id=conv.id,
            business_number_id=number.id,
            direction="outbound",
            channel="whatsapp",
            kind="text",
            body="¡Hola!",
            status="sent",
            sender_user_id=sam.id,
            created_at=now,
        )
    )
    s.commit()
    assert "Queue Customer" not in [r.name for r in _list(s, acct, "queue", hours=2)]


def test_conversation_assigned_webhook_is_queued_with_the_change(seeded, monkeypatch):
    s = seeded
    ada, sam, _ = _users(s)
    monkeypatch.setattr(hooks, "AUTO_DELIVER", False)
    monkeypatch.setenv("CTREFLEX_WEBHOOKS_ALLOW_LOCAL", "true")
    from ctreflex.settings import reset_settings_cache

    reset_settings_cache()
    try:
        hooks.create_endpoint(
            session=s,
            account_id=ada.account_id,
            url="http://127.0.0.1:9/hook",
            events=["conversation.assigned"],
            description="",
        )
    finally:
        reset_settings_cache()
    conv = _conv(s, "Sofía García")
    assignment.assign(
        session=s,
        account_id=ada.account_id,
        conversation_ids=[conv.id],
        assignee_id=sam.id,
        actor=Actor(user_id=ada.id),
    )
    deliveries = s.exec(select(WebhookDelivery)).all()
    assert [d.event_type for d in deliveries] == ["conversation.assigned"]
    data = json.loads(deliveries[0].body)["data"]
    assert data["conversation_id"] == conv.id
    assert data["assignee"]["name"] == "Sam Rivers"
    assert data["previous_assignee"] is None
    assert data["by"]["name"] == "Ada Baker"


def test_account_scoped_settings_rows(seeded):
    s = seeded
    assert s.exec(select(Account)).first().auto_assign_on_reply is True
    assert all(u.window_reminders is False for u in s.exec(select(User)).all())


def test_thread_lines_sit_among_rows_when_some_messages_are_not_drawn(seeded):
    """A reaction drawn as a badge has no row of its own: the lines still interleave."""
    s = seeded
    ada, sam, _ = _users(s)
    conv = _conv(s, "Sofía García")
    target = s.exec(
        select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)
    ).first()
    target.provider_message_id = target.provider_message_id or "wamid.TEAMTARGET"
    s.add(target)
    s.add(
        Message(
            account_id=conv.account_id,
            conversation_id=conv.id,
            direction="inbound",
            channel="whatsapp",
            kind="reaction",
            body="👍",
            status="received",
            reply_to_provider_id=target.provider_message_id,
            reply_to_id=target.id,
            payload={"reaction": {"message_id": target.provider_message_id, "emoji": "👍"}},
        )
    )
    s.commit()
    assignment.assign(
        session=s,
        account_id=ada.account_id,
        conversation_ids=[conv.id],
        assignee_id=sam.id,
        actor=Actor(user_id=ada.id),
    )
    rows = thread_view.thread_rows(
        session=s, account_id=conv.account_id, conversation_id=conv.id, tz=TZ
    )
    assert rows[-1].direction == "event"
    assert rows[-1].notice_text.startswith("Ada Baker assigned this to Sam Rivers")
