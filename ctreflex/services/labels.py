"""Per-account labels with colours: admins manage them, agents put them on conversations and
filter the list by them. Every function takes the caller's account id: another account's
label or conversation is never found."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func
from sqlmodel import Session, select

from ctreflex.models import Conversation, ConversationLabel, Label

# Radix colour names (the chips use them as color_scheme), in the order the admin picks from.
COLORS = ("gray", "red", "orange", "amber", "green", "teal", "blue", "indigo", "purple", "pink")
NAME_MAX = 40
LABELS_MAX = 100  # per account


class LabelError(Exception):
    """A refused change, said so the user can act on it."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclasses.dataclass(frozen=True)
class LabelChip:
    id: int
    name: str
    color: str


def _chip(label: Label) -> LabelChip:
    return LabelChip(id=label.id, name=label.name, color=label.color)


def list_labels(*, session: Session, account_id: int) -> list[LabelChip]:
    rows = session.exec(
        select(Label).where(Label.account_id == account_id).order_by(func.lower(Label.name))
    ).all()
    return [_chip(label) for label in rows]


def _clean(session: Session, account_id: int, name: str, color: str, label_id: int = 0):
    name = " ".join(str(name or "").split())
    color = str(color or "").strip().lower()
    if not name:
        raise LabelError("Give the label a name.", "name")
    if len(name) > NAME_MAX:
        raise LabelError(f"A label name can be at most {NAME_MAX} characters.", "name")
    if color not in COLORS:
        raise LabelError("Pick one of the colours.", "color")
    clash = session.exec(
        select(Label.id).where(
            Label.account_id == account_id,
            func.lower(Label.name) == name.lower(),
            Label.id != label_id,
        )
    ).first()
    if clash is not None:
        raise LabelError(f"There is already a label called “{name}”.", "name")
    return name, color


def _own_label(session: Session, account_id: int, label_id: int) -> Label:
    label = session.get(Label, int(label_id or 0))
    if label is None or label.account_id != account_id:
        raise LabelError("That label no longer exists.")
    return label


def create_label(*, session: Session, account_id: int, name: str, color: str) -> LabelChip:
    name, color = _clean(session, account_id, name, color)
    count = session.exec(select(func.count()).where(Label.account_id == account_id)).one()
    if count >= LABELS_MAX:
        raise LabelError(f"An account can have at most {LABELS_MAX} labels.")
    label = Label(account_id=account_id, name=name, color=color)
    session.add(label)
    session.flush()
    return _chip(label)


def update_label(
    *, session: Session, account_id: int, label_id: int, name: str, color: str
) -> LabelChip:
    label = _own_label(session, account_id, label_id)
    label.name, label.color = _clean(session, account_id, name, color, label.id)
    session.add(label)
    session.flush()
    return _chip(label)


def delete_label(*, session: Session, account_id: int, label_id: int) -> None:
    """The label and every use of it on a conversation."""
    label = _own_label(session, account_id, label_id)
    for link in session.exec(
        select(ConversationLabel).where(ConversationLabel.label_id == label.id)
    ).all():
        session.delete(link)
    session.flush()
    session.delete(label)
    session.flush()


def _own_conversation(session: Session, account_id: int, conversation_id: int) -> Conversation:
    conv = session.get(Conversation, int(conversation_id or 0))
    if conv is None or conv.account_id != account_id:
        raise LabelError("That conversation isn't in your inbox.")
    return conv


def add_to_conversation(
    *, session: Session, account_id: int, conversation_id: int, label_id: int
) -> bool:
    """True when the label was added (False: it was there already)."""
    conv = _own_conversation(session, account_id, conversation_id)
    label = _own_label(session, account_id, label_id)
    if session.get(ConversationLabel, (conv.id, label.id)) is not None:
        return False
    session.add(
        ConversationLabel(conversation_id=conv.id, label_id=label.id, account_id=account_id)
    )
    session.flush()
    return True


def remove_from_conversation(
    *, session: Session, account_id: int, conversation_id: int, label_id: int
) -> bool:
    """True when the label was on the conversation and is now off it."""
    conv = _own_conversation(session, account_id, conversation_id)
    link = session.get(ConversationLabel, (conv.id, int(label_id or 0)))
    if link is None or link.account_id != account_id:
        return False
    session.delete(link)
    session.flush()
    return True


def labels_by_conversation(
    *, session: Session, account_id: int, conversation_ids: list[int]
) -> dict[int, list[LabelChip]]:
    if not conversation_ids:
        return {}
    pairs = session.exec(
        select(ConversationLabel.conversation_id, Label)
        .join(Label, Label.id == ConversationLabel.label_id)
        .where(
            ConversationLabel.account_id == account_id,
            ConversationLabel.conversation_id.in_(conversation_ids),
        )
        .order_by(func.lower(Label.name))
    ).all()
    out: dict[int, list[LabelChip]] = {}
    for conversation_id, label in pairs:
        out.setdefault(conversation_id, []).append(_chip(label))
    return out


def conversation_labels(
    *, session: Session, account_id: int, conversation_id: int
) -> list[LabelChip]:
    found = labels_by_conversation(
        session=session, account_id=account_id, conversation_ids=[conversation_id]
    )
    return found.get(conversation_id, [])


def with_labels(session: Session, account_id: int, rows: list) -> list:
    """List rows (dataclasses with `id` and `labels`) with their conversation's labels."""
    found = labels_by_conversation(
        session=session, account_id=account_id, conversation_ids=[r.id for r in rows]
    )
    return [dataclasses.replace(r, labels=found[r.id]) if r.id in found else r for r in rows]


def has_label_clause(label_id: int):
    """A WHERE clause on Conversation: it carries this label (a set of ids the database makes
    once from ix_conversationlabel_label, not a probe per conversation)."""
    return Conversation.id.in_(
        select(ConversationLabel.conversation_id).where(
            ConversationLabel.label_id == int(label_id)
        )
    )
