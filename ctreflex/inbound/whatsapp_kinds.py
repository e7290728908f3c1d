"""What each kind of inbound WhatsApp message becomes in the inbox: (kind, body, payload).

Buys: one table (MESSAGE_KINDS) instead of a chain of ifs; a kind nobody knows yet is kept
whole as a notice. Guarded by tests/unit/test_ingest.py (test_every_fixture_gives_the_right_rows).
"""

from __future__ import annotations

from collections.abc import Callable

from ctreflex.models import Contact
from ctreflex.whatsapp import InboundMessage


def first_name(contact: Contact) -> str:
    return (contact.name or contact.profile_name or "The customer").split()[0]


def _kind_text(msg: InboundMessage) -> tuple[str, str, dict | None]:
    return "text", msg.text.body if msg.text else "", None


def _kind_media(msg: InboundMessage) -> tuple[str, str, dict | None]:
    media = msg.media
    caption = getattr(media, "caption", None) or ""
    return msg.type, caption, {"filename": getattr(media, "filename", None) or ""}


def _kind_location(msg: InboundMessage) -> tuple[str, str, dict | None]:
    loc = msg.location
    parts = [p for p in (loc.name, loc.address) if p] if loc else []
    where = ", ".join(parts) or "a location"
    body = f"Shared {where}"
    payload = loc.model_dump(exclude_none=True) if loc else None
    return "location", body, payload


def _kind_contacts(msg: InboundMessage) -> tuple[str, str, dict | None]:
    cards = msg.contacts or []
    names = ", ".join((c.name.formatted_name if c.name else "") or "a contact" for c in cards)
    return (
        "contacts",
        f"Shared contact: {names or 'a contact'}",
        {"contacts": [c.model_dump(exclude_none=True) for c in cards]},
    )


def _kind_interactive(msg: InboundMessage) -> tuple[str, str, dict | None]:
    inter = msg.interactive
    title = (inter.reply_title if inter else None) or "Replied"
    return "interactive", title, {"reply_id": inter.reply_id if inter else None}


def _kind_button(msg: InboundMessage) -> tuple[str, str, dict | None]:
    btn = msg.button
    return (
        "button",
        (btn.text if btn else "") or "Tapped a button",
        {"payload": btn.payload if btn else None},
    )


def _kind_order(msg: InboundMessage) -> tuple[str, str, dict | None]:
    order = msg.order
    items = len(order.product_items) if order and order.product_items else 0
    return "order", f"Sent an order with {items} item(s)", msg.raw.get("order")


def _kind_system(msg: InboundMessage) -> tuple[str, str, dict | None]:
    return (
        "system",
        (msg.system.body if msg.system else "") or "System notice",
        msg.raw.get("system"),
    )


def _kind_unsupported(msg: InboundMessage) -> tuple[str, str, dict | None]:
    what = msg.unsupported.type if msg.unsupported and msg.unsupported.type else "message"
    return "unsupported", f"sent a {what}, which this channel does not support", msg.raw


MESSAGE_KINDS: dict[str, Callable[[InboundMessage], tuple[str, str, dict | None]]] = {
    "text": _kind_text,
    "image": _kind_media,
    "video": _kind_media,
    "document": _kind_media,
    "audio": _kind_media,
    "sticker": _kind_media,
    "location": _kind_location,
    "contacts": _kind_contacts,
    "interactive": _kind_interactive,
    "button": _kind_button,
    "order": _kind_order,
    "system": _kind_system,
    "unsupported": _kind_unsupported,
}

FETCHED_KINDS = {"image", "video", "document"}
