"""The opt-out ledger: SMS STOP / START and WhatsApp marketing opt-outs, per contact.

Every event is a row of OptOutEvent (channel, scope, action, source, time); the contact's two
flags are the ledger's current state, kept in step by `record`:
- SMS STOP (scope "all") refuses every SMS to the contact until START, and also refuses
  marketing on WhatsApp (a customer who said STOP does not want promotions anywhere);
- a marketing opt-out (WhatsApp "Stop promotions", or an agent) refuses marketing on both
  channels, while service messages still go through.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata

from sqlmodel import Session, select

from ctreflex.models import Contact, Conversation, Message, OptOutEvent, utc_now

SMS_STOP_WORDS = frozenset(
    {
        "STOP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "OPT OUT",
        "OPT-OUT",
        "REVOKE",
    }
)
SMS_START_WORDS = frozenset({"START", "YES", "UNSTOP", "SUBSCRIBE", "OPTIN", "OPT IN", "OPT-IN"})

# What the customer sees after STOP / START (providers and carriers require a confirmation).
STOP_CONFIRMATION = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
START_CONFIRMATION = (
    "You have successfully been re-subscribed to messages from this number. "
    "Reply STOP to unsubscribe."
)

# WhatsApp template quick replies ("Stop promotions" in the seeded marketing template).
_PROMOS = r"(all )?(promotions?|promos?|offers?|marketing|deals|marketing messages)"
_WA_STOP = re.compile(rf"^(stop|no more|unsubscribe|opt ?out)( (me|from|of))?( {_PROMOS})?$")
_WA_START = re.compile(rf"^(resume|start|restart|allow|subscribe to|opt ?in to) {_PROMOS}$")

# A whole WhatsApp text message that opts out of / back in to marketing everywhere. Compared
# folded (case, accents and punctuation ignored): English plus the seeded customers' languages
# (Spanish, Portuguese, French, German, Japanese, Hindi). "Yes", "cancel" or "end" are not here:
# on WhatsApp they are answers to a conversation, not consent keywords.
WA_STOP_WORDS = frozenset(
    {
        # English
        "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "OPTOUT", "OPT OUT", "OPT-OUT",
        # Spanish
        "BAJA", "DAR DE BAJA", "DARME DE BAJA", "PARAR", "ALTO", "DETENER", "CANCELAR SUSCRIPCION",
        # Portuguese
        "SAIR", "CANCELAR INSCRICAO", "DESCADASTRAR",
        # French
        "ARRET", "ARRETER", "DESABONNER", "DESINSCRIRE", "DESINSCRIPTION", "DESABONNEMENT",
        # German
        "STOPP", "ABMELDEN", "ABBESTELLEN",
        # Japanese
        "停止", "配信停止", "ストップ",
        # Hindi
        "बंद", "रोकें",
    }
)
WA_START_WORDS = frozenset(
    {
        "START", "UNSTOP", "SUBSCRIBE", "OPTIN", "OPT IN", "OPT-IN",
        "ALTA", "DAR DE ALTA", "INICIAR", "REANUDAR",  # Spanish
        "COMECAR", "VOLTAR", "RETOMAR",  # Portuguese ("INICIAR" above)
        "DEMARRER", "REPRENDRE", "ABONNER",  # French
        "ANMELDEN", "FORTSETZEN",  # German
        "開始", "配信再開", "スタート",  # Japanese
        "शुरू",  # Hindi
    }
)

CHANNEL_LABELS = {"sms": "SMS", "whatsapp": "WhatsApp", "any": "all channels"}


class Channel:
    sms = "sms"
    whatsapp = "whatsapp"


@dataclasses.dataclass(frozen=True)
class LedgerRow:
    """One line of the contact panel's consent history."""

    id: int
    channel: str  # sms | whatsapp | any
    scope: str  # all | marketing
    action: str  # out | in
    source: str  # e.g. 'SMS keyword "STOP"', 'WhatsApp quick reply "Stop promotions"'
    at: dt.datetime  # UTC; format at the edge
    summary: str  # e.g. "Opted out of all SMS"


@dataclasses.dataclass(frozen=True)
class ConsentState:
    sms_opted_out: bool
    marketing_opted_out: bool  # either flag blocks marketing
    summary: str  # "" when nothing is blocked


def _normalise(text: str) -> str:
    return " ".join((text or "").strip().strip(".!?").upper().split())


def sms_keyword(body: str) -> str | None:
    """'out' for STOP and its variants, 'in' for START and its variants, else None.
    The whole message counts (trimmed, any case): "stop" is a keyword, "stop by at 5" is not."""
    word = _normalise(body)
    if word in SMS_STOP_WORDS:
        return "out"
    if word in SMS_START_WORDS:
        return "in"
    return None


# ASCII punctuation, spaces and controls (but "-") as fold keeps them: a space each
_ASCII_FOLD = {i: " " for i in range(128)
               if unicodedata.category(chr(i))[0] in "PZC" and chr(i) != "-"}


def fold(text: str | None) -> str:
    """Upper case without accents or punctuation, spaces collapsed ("¡Arrêt!" -> "ARRET")."""
    if text is not None and text.isascii():  # nothing to decompose: one C-speed pass
        return " ".join(text.translate(_ASCII_FOLD).upper().split())
    return _fold_unicode(text)


def _fold_unicode(text: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    kept = []
    for ch in decomposed:
        cat = unicodedata.category(ch)
        if cat == "Mn":  # combining accent
            continue
        kept.append(" " if cat[0] in "PZC" and ch not in "-" else ch)
    return " ".join("".join(kept).upper().split())


def whatsapp_keyword(text: str | None) -> str | None:
    """'out' / 'in' when a whole WhatsApp text message is a consent keyword (STOP, BAJA, ARRÊT,
    STOPP, 停止…, START, ALTA…), also "stop promotions"-style phrases; else None."""
    word = fold(text)
    if not word:
        return None
    if word in WA_STOP_WORDS:
        return "out"
    if word in WA_START_WORDS:
        return "in"
    return whatsapp_button_intent(text)


def whatsapp_button_intent(text: str | None, payload: str | None = None) -> str | None:
    """'out' for a stop-promotions quick reply, 'in' for a resume-promotions one."""
    for candidate in (payload, text):
        value = " ".join((candidate or "").strip().strip(".!").lower().replace("_", " ").split())
        if not value:
            continue
        if _WA_STOP.match(value):
            return "out"
        if _WA_START.match(value):
            return "in"
    return None


def summarise(channel: str, scope: str, action: str) -> str:
    where = CHANNEL_LABELS.get(channel, channel)
    if scope == "all":
        what = f"all {where}" if channel != "any" else "all messages"
        return f"Opted out of {what}" if action == "out" else f"Opted back in to {what}"
    return (
        f"Opted out of marketing ({where})"
        if action == "out"
        else f"Opted back in to marketing ({where})"
    )


def record(
    *,
    session: Session,
    contact_id: int,
    channel: str,
    scope: str,
    action: str,
    source: str,
    at: dt.datetime | None = None,
) -> OptOutEvent:
    """Add a ledger row and bring the contact's flags in line. Does not commit."""
    if scope not in ("all", "marketing") or action not in ("out", "in"):
        raise ValueError(f"unknown opt-out scope/action {scope!r}/{action!r}")
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise ValueError(f"no contact {contact_id}")
    event = OptOutEvent(
        contact_id=contact_id,
        channel=channel,
        scope=scope,
        action=action,
        source=source[:64],
        created_at=at or utc_now(),
    )
    session.add(event)
    if scope == "all" and channel == "sms":
        contact.sms_opted_out = action == "out"
    elif scope == "marketing":
        contact.marketing_opted_out = action == "out"
    session.add(contact)
    session.flush()
    from ctreflex.services import webhook_queue  # late: it imports this module's callers

    webhook_queue.enqueue_optout(session, event)  # optout.changed, in this transaction
    return event


def _latest(session: Session, contact_id: int, **where) -> OptOutEvent | None:
    query = select(OptOutEvent).where(OptOutEvent.contact_id == contact_id)
    for name, value in where.items():
        query = query.where(getattr(OptOutEvent, name) == value)
    query = query.order_by(OptOutEvent.created_at.desc(), OptOutEvent.id.desc())
    return session.exec(query).first()


def _when(at: dt.datetime | None, tz: dt.tzinfo = dt.UTC) -> str:
    """The date in the account's zone (the zone its users see everywhere else)."""
    return at.astimezone(tz).strftime("%-d %b %Y") if at else "earlier"


def _account_zone(session: Session, account_id: int) -> dt.tzinfo:
    from ctreflex.models import Account
    from ctreflex.services.timefmt import zone

    account = session.get(Account, account_id)
    return zone(account.timezone if account else "UTC")


def can_send(
    *, session: Session, contact_id: int, channel: str, marketing: bool
) -> tuple[bool, str]:
    """May this contact be sent a message on `channel`? (ok, reason shown to the agent)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return False, "This contact does not exist."
    who = (contact.name or contact.profile_name or contact.e164).split()[0]
    local = _account_zone(session, contact.account_id)
    if channel == Channel.sms and contact.sms_opted_out:
        last = _latest(session, contact_id, channel="sms", scope="all", action="out")
        how = f" ({last.source}, {_when(last.created_at, local)})" if last else ""
        return False, (
            f"{who} opted out of SMS by replying STOP{how}. No SMS can be sent until they "
            "reply START."
        )
    if marketing and contact.sms_opted_out:
        last = _latest(session, contact_id, channel="sms", scope="all", action="out")
        how = f" on {_when(last.created_at, local)}" if last else ""
        return False, (
            f"{who} replied STOP by SMS{how}: marketing is not sent to them on any channel "
            "until they reply START."
        )
    if marketing and contact.marketing_opted_out:
        last = _latest(session, contact_id, scope="marketing", action="out")
        how = f" ({last.source}, {_when(last.created_at, local)})" if last else ""
        return False, (
            f"{who} opted out of marketing{how}: marketing is not sent to them on any channel."
        )
    return True, ""


def state(*, session: Session, contact_id: int) -> ConsentState:
    contact = session.get(Contact, contact_id)
    if contact is None:
        return ConsentState(False, False, "")
    parts = []
    if contact.sms_opted_out:
        parts.append("No SMS (replied STOP)")
    if contact.marketing_opted_out or contact.sms_opted_out:
        parts.append("No marketing")
    return ConsentState(
        sms_opted_out=contact.sms_opted_out,
        marketing_opted_out=contact.marketing_opted_out or contact.sms_opted_out,
        summary=" · ".join(parts),
    )


def ledger(*, session: Session, contact_id: int) -> list[LedgerRow]:
    """The contact's consent history, newest first."""
    rows = session.exec(
        select(OptOutEvent)
        .where(OptOutEvent.contact_id == contact_id)
        .order_by(OptOutEvent.created_at.desc(), OptOutEvent.id.desc())
    ).all()
    return [
        LedgerRow(
            id=r.id,
            channel=r.channel,
            scope=r.scope,
            action=r.action,
            source=r.source,
            at=r.created_at,
            summary=summarise(r.channel, r.scope, r.action),
        )
        for r in rows
    ]


def handle_whatsapp_inbound(session: Session, message: Message) -> OptOutEvent | None:
    """Call from WhatsApp ingest for each stored inbound message: a stop-promotions quick reply
    or a whole-message STOP (or a translation) opts the contact out of marketing on every
    channel; START (or a resume quick reply) lifts it. Service replies stay allowed.
    Returns the ledger row, or None. Does not commit."""
    if message.direction != "inbound":
        return None
    if message.kind in ("button", "interactive"):
        return handle_whatsapp_button(session, message)
    if message.kind != "text":
        return None
    intent = whatsapp_keyword(message.body)
    if intent is None:
        return None
    conv = session.get(Conversation, message.conversation_id)
    if conv is None:
        return None
    contact = session.get(Contact, conv.contact_id)
    if contact is None or (intent == "in") != contact.marketing_opted_out:
        return None  # START from a subscribed customer (or STOP twice) changes nothing
    return record(
        session=session,
        contact_id=conv.contact_id,
        channel="whatsapp",
        scope="marketing",
        action=intent,
        source=f'WhatsApp keyword "{(message.body or "").strip()[:20]}"',
        at=message.created_at,
    )


def record_by_agent(
    *, session: Session, contact_id: int, action: str, agent: str
) -> OptOutEvent:
    """An agent records a marketing opt-out (or opt-in) the customer asked for in words.
    It applies on every channel; an SMS STOP still needs the customer's own START. Does not
    commit; raises ValueError for an unknown action or contact."""
    if action not in ("out", "in"):
        raise ValueError("Choose opt-out or opt-in.")
    who = " ".join((agent or "an agent").split())[:30]
    return record(
        session=session,
        contact_id=contact_id,
        channel="any",
        scope="marketing",
        action=action,
        source=f"Recorded by {who} (asked in words)",
    )


def handle_whatsapp_button(session: Session, message: Message) -> OptOutEvent | None:
    """Call from WhatsApp ingest for each stored inbound "button" or "interactive" message:
    a stop-promotions quick reply opts the contact out of marketing (a resume one opts back in).
    Returns the ledger row, or None when the button is not about promotions. Does not commit."""
    if message.direction != "inbound" or message.kind not in ("button", "interactive"):
        return None
    payload = message.payload or {}
    raw = payload.get("payload") or payload.get("reply_id")
    intent = whatsapp_button_intent(message.body, raw if isinstance(raw, str) else None)
    if intent is None:
        return None
    conv = session.get(Conversation, message.conversation_id)
    if conv is None:
        return None
    return record(
        session=session,
        contact_id=conv.contact_id,
        channel="whatsapp",
        scope="marketing",
        action=intent,
        source=f'WhatsApp quick reply "{(message.body or raw or "")[:30]}"',
        at=message.created_at,
    )
