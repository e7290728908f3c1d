"""An agent records a marketing opt-out (or opt-in) the customer asked for in words, on the
contact of one of the account's conversations. It applies on every channel (services/optouts);
an SMS STOP still needs the customer's own START. The contact panel's control calls these."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path

from ctreflex.api.deps import SessionDep, UserDep
from ctreflex.models import Conversation
from ctreflex.services import optouts

router = APIRouter(prefix="/api/conversations", tags=["consent"])

ConversationId = Path(ge=1, le=2**31 - 1)


def _record(session, user, conversation_id: int, action: str) -> dict:
    conv = session.get(Conversation, conversation_id)
    if conv is None or conv.account_id != user.account_id:
        raise HTTPException(404, "This conversation does not exist in your account.")
    event = optouts.record_by_agent(
        session=session, contact_id=conv.contact_id, action=action, agent=user.name
    )
    session.commit()
    state = optouts.state(session=session, contact_id=conv.contact_id)
    return {
        "contact_id": conv.contact_id,
        "marketing_opted_out": state.marketing_opted_out,
        "summary": optouts.summarise(event.channel, event.scope, event.action),
        "state": state.summary,
    }


@router.post("/{conversation_id}/opt-out")
def record_opt_out(user: UserDep, session: SessionDep, conversation_id: int = ConversationId):
    """The customer asked (in words) for no more marketing: refused on every channel."""
    return _record(session, user, conversation_id, "out")


@router.post("/{conversation_id}/opt-in")
def record_opt_in(user: UserDep, session: SessionDep, conversation_id: int = ConversationId):
    """The customer asked (in words) to receive marketing again."""
    return _record(session, user, conversation_id, "in")
