"""The business reacts to a message (WhatsApp), as the Cloud API allows.

A reaction is an outbound message of kind "reaction" (it has its own wamid, statuses and fee,
like the customer's reactions that ingest stores) whose `reply_to_id` names the message reacted
to; the reacted-to message keeps the business's current emoji in `business_reaction`, so the
thread draws one badge on the bubble instead of a separate bubble. An empty emoji removes the
reaction. Reactions are free-form messages: only inside the 24-hour window.

If WhatsApp refuses the reaction, the badge goes back to what it was and the thread shows the
failed reaction as a notice with its reason (services/conversations.py).
"""

from __future__ import annotations

from sqlmodel import Session

from ctreflex import db
from ctreflex.models import Message
from ctreflex.services import outbound
from ctreflex.services.outbound import SendRefused

# The quick reactions the inbox offers (WhatsApp's own default row).
QUICK_REACTIONS: tuple[str, ...] = ("👍", "❤️", "😂", "😮", "😢", "🙏")


def _reactable(session: Session, t, message_id: int) -> Message:
    target = session.get(Message, message_id)
    if target is None or target.conversation_id != t.conversation.id:
        raise SendRefused(
            "The message you are reacting to is not in this conversation.", "reaction"
        )
    if target.channel != "whatsapp" or not target.provider_message_id:
        raise SendRefused(
            "Only messages that went through WhatsApp can get a reaction.", "reaction"
        )
    if target.kind == "reaction":
        raise SendRefused("A reaction cannot get a reaction.", "reaction")
    return target


async def react(
    *, account_id: int, user_id: int, conversation_id: int, message_id: int, emoji: str
) -> int:
    """React to `message_id` with `emoji` ("" removes the business's reaction). Returns the id of
    the reaction message; raises SendRefused with a sentence for the agent."""
    emoji = (emoji or "").strip()
    if emoji and emoji not in QUICK_REACTIONS:
        raise SendRefused("Pick one of the reactions offered.", "reaction")
    with db.session_scope() as session:
        t = outbound._target(session, account_id, conversation_id)
        target = _reactable(session, t, message_id)
        outbound._require_window(t)
        if not emoji and not target.business_reaction:
            raise SendRefused("There is no reaction of yours to remove.", "reaction")
        client = outbound._client(t.number)
        previous = target.business_reaction
        message = outbound._pending(
            session,
            t,
            user_id=user_id,
            kind="reaction",
            body=emoji,
            reply=target,
            payload={"previous": previous},
            switch_channel=False,  # a reaction leaves the composer on the channel it is on
        )
        target.business_reaction = emoji
        session.add(target)
        t.conversation.last_preview = f"Reacted {emoji}" if emoji else "Removed a reaction"
        session.add(t.conversation)
        ids = (message.id, t.number.phone_number_id, t.contact.wa_id or t.contact.e164)
        wamid = target.provider_message_id
    await outbound._publish(account_id, conversation_id, ids[0])
    reaction_id = await outbound._deliver(
        ids[0], lambda: client.send_reaction(ids[1], ids[2], wamid, emoji)
    )
    settle_failed(reaction_id)
    return reaction_id


def settle_failed(reaction_id: int) -> None:
    """A reaction WhatsApp refused: the badge goes back to the previous one (unless a newer
    reaction of the business replaced it meanwhile)."""
    with db.session_scope() as session:
        reaction = session.get(Message, reaction_id)
        if reaction is None or reaction.status != "failed" or not reaction.reply_to_id:
            return
        target = session.get(Message, reaction.reply_to_id)
        if target is not None and target.business_reaction == reaction.body:
            target.business_reaction = str((reaction.payload or {}).get("previous", ""))
            session.add(target)
