"""/api/v1 team inbox routes: the account's users (who can be assigned), assign or unassign a
conversation, resolve it. The same services as the inbox (services/assignment.py, status.py):
the same checks, the same thread line, live update and `conversation.assigned` webhook.
Writing needs the `send` scope, like every other change a client makes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ctreflex.api.v1 import schemas as S
from ctreflex.api.v1.auth import ReadKey, SendKey, SessionDep
from ctreflex.api.v1.problems import Problem, ProblemRoute, operation_id, problem_responses
from ctreflex.services import assignment, public_api
from ctreflex.services import status as team_status
from ctreflex.services.api_keys import ApiPrincipal

router = APIRouter(
    prefix="/api/v1",
    route_class=ProblemRoute,
    generate_unique_id_function=operation_id,
    responses=problem_responses(401, 403, 422, 429),
)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = problem_responses(404)


def _actor(session, key: ApiPrincipal) -> assignment.Actor:
    from ctreflex.models import ApiKey

    row = session.get(ApiKey, key.key_id)
    name = row.name if row is not None else str(key.key_id)
    return assignment.Actor(user_id=None, label=f"API key “{name}”")


def _problem(exc: assignment.TeamError) -> Problem:
    if exc.not_found and exc.field == "conversation_id":
        return Problem(404, exc.message, field="conversation_id", kind="not-found")
    return Problem(
        422, exc.message, field=exc.field or None, kind="invalid-request", title="Invalid request"
    )


def _view(session, key: ApiPrincipal, conversation_id: int) -> dict:
    return public_api.get_conversation(
        session=session, account_id=key.account_id, conversation_id=conversation_id
    )


@router.get("/users", response_model=S.UserList, tags=["conversations"])
def list_users(key: ReadKey, session: SessionDep):
    """The account's active users: who a conversation can be assigned to."""
    return {
        "data": [
            {"id": c.id, "name": c.name}
            for c in assignment.colleagues(session=session, account_id=key.account_id)
        ]
    }


@router.post(
    "/conversations/{conversation_id}/assign",
    response_model=S.Conversation,
    tags=["conversations"],
    responses=NOT_FOUND,
)
async def assign_conversation(
    conversation_id: Id, body: S.AssignBody, key: SendKey, session: SessionDep
):
    """Assign the conversation to a user of the account (`assignee_id` from GET /users), or
    unassign it (`null`). The thread shows the change and the `conversation.assigned` webhook
    event is sent."""
    try:
        changes = assignment.assign(
            session=session,
            account_id=key.account_id,
            conversation_ids=[conversation_id],
            assignee_id=body.assignee_id,
            actor=_actor(session, key),
        )
    except assignment.TeamError as exc:
        raise _problem(exc) from exc
    await assignment.publish(changes)
    return _view(session, key, conversation_id)


@router.post(
    "/conversations/{conversation_id}/resolve",
    response_model=S.Conversation,
    tags=["conversations"],
    responses=NOT_FOUND,
)
async def resolve_conversation(conversation_id: Id, key: SendKey, session: SessionDep):
    """Mark the conversation resolved (done). A new message from the customer reopens it."""
    try:
        changes = team_status.set_status(
            session=session,
            account_id=key.account_id,
            conversation_ids=[conversation_id],
            status="resolved",
            actor=_actor(session, key),
        )
    except assignment.TeamError as exc:
        raise _problem(exc) from exc
    await assignment.publish(changes)
    return _view(session, key, conversation_id)
