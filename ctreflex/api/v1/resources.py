"""/api/v1 read and contact routes: contacts, conversations (the inbox's filters), a thread's
messages (cursor paging), templates with their status and parameters, numbers, usage (JSON and
CSV). Each calls the same service the inbox page calls."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from ctreflex.api.v1 import schemas as S
from ctreflex.api.v1.auth import AdminKey, ReadKey, SendKey, SessionDep
from ctreflex.api.v1.problems import Problem, ProblemRoute, operation_id, problem_responses
from ctreflex.services import public_api, usage
from ctreflex.services import templates as tpl

router = APIRouter(
    prefix="/api/v1",
    route_class=ProblemRoute,
    generate_unique_id_function=operation_id,
    responses=problem_responses(401, 403, 422, 429),
)
NOT_FOUND = problem_responses(404)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def not_found(exc: public_api.NotFound) -> Problem:
    return Problem(404, str(exc), field=f"{exc.what}_id", kind="not-found")


def invalid(exc: public_api.InvalidInput) -> Problem:
    return Problem(
        422, exc.message, field=exc.field, kind="invalid-request", title="Invalid request"
    )


# ------------------------------------------------------------------------------ contacts


@router.get("/contacts", response_model=S.ContactPage, tags=["contacts"])
def list_contacts(
    key: ReadKey,
    session: SessionDep,
    search: Annotated[str, Query(max_length=100, description="Name or phone digits.")] = "",
    limit: Annotated[int, Query(ge=1, le=public_api.PAGE_MAX)] = 50,
    after: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="next_cursor of the last page.")
    ] = 0,
):
    """Contacts by id, optionally searched."""
    rows, nxt = public_api.list_contacts(
        session=session, account_id=key.account_id, search=search, limit=limit, after=after
    )
    return {"data": rows, "next_cursor": str(nxt) if nxt is not None else None}


@router.post(
    "/contacts",
    response_model=S.Contact,
    status_code=201,
    tags=["contacts"],
    responses={200: {"model": S.Contact, "description": "The contact already existed."}},
)
def create_contact(body: S.ContactCreate, key: SendKey, session: SessionDep):
    """Create a contact (and its conversation) by phone number; an existing one is returned
    with 200."""
    try:
        view, created = public_api.create_contact(
            session=session, account_id=key.account_id, phone=body.phone, name=body.name
        )
    except public_api.InvalidInput as exc:
        raise invalid(exc) from exc
    return JSONResponse(view, status_code=201 if created else 200)


@router.get(
    "/contacts/{contact_id}", response_model=S.Contact, tags=["contacts"], responses=NOT_FOUND
)
def get_contact(contact_id: Id, key: ReadKey, session: SessionDep):
    try:
        return public_api.get_contact(
            session=session, account_id=key.account_id, contact_id=contact_id
        )
    except public_api.NotFound as exc:
        raise not_found(exc) from exc


@router.patch(
    "/contacts/{contact_id}", response_model=S.Contact, tags=["contacts"], responses=NOT_FOUND
)
def update_contact(contact_id: Id, body: S.ContactUpdate, key: SendKey, session: SessionDep):
    """Rename a contact or record a marketing opt-out."""
    try:
        return public_api.update_contact(
            session=session,
            account_id=key.account_id,
            contact_id=contact_id,
            name=body.name,
            marketing_opted_out=body.marketing_opted_out,
            source=f"API key {key.key_id}",
        )
    except public_api.NotFound as exc:
        raise not_found(exc) from exc
    except public_api.InvalidInput as exc:
        raise invalid(exc) from exc


@router.get(
    "/contacts/{contact_id}/opt-out",
    response_model=S.Consent,
    tags=["contacts"],
    responses=NOT_FOUND,
)
def contact_consent(contact_id: Id, key: ReadKey, session: SessionDep):
    """The contact's opt-out state and its history (STOP/START, marketing opt-outs)."""
    try:
        return public_api.consent(session=session, account_id=key.account_id, contact_id=contact_id)
    except public_api.NotFound as exc:
        raise not_found(exc) from exc


# ------------------------------------------------------------------------- conversations


@router.get("/conversations", response_model=S.ConversationList, tags=["conversations"])
def list_conversations(
    key: ReadKey,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100, description="Name, number or message text.")] = "",
    filter: Annotated[  # noqa: A002 - the inbox's word
        Literal["all", "unread", "open", "closing", "closed"], Query()
    ] = "all",
    sort: Annotated[Literal["recent", "closing"], Query()] = "recent",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """The inbox's list: same search, filters (window open, closing within 2 h, closed,
    unread) and order."""
    return {
        "data": public_api.list_conversations(
            session=session,
            account_id=key.account_id,
            query=q,
            filter=filter,
            sort=sort,
            limit=limit,
        )
    }


@router.get(
    "/conversations/{conversation_id}",
    response_model=S.Conversation,
    tags=["conversations"],
    responses=NOT_FOUND,
)
def get_conversation(conversation_id: Id, key: ReadKey, session: SessionDep):
    try:
        return public_api.get_conversation(
            session=session, account_id=key.account_id, conversation_id=conversation_id
        )
    except public_api.NotFound as exc:
        raise not_found(exc) from exc


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=S.MessagePage,
    tags=["messages"],
    responses=NOT_FOUND,
)
def list_messages(
    conversation_id: Id,
    key: ReadKey,
    session: SessionDep,
    cursor: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=public_api.PAGE_MAX)] = 50,
):
    """The conversation's messages, newest first; `next_cursor` pages to older ones."""
    try:
        rows, nxt = public_api.list_messages(
            session=session,
            account_id=key.account_id,
            conversation_id=conversation_id,
            cursor=cursor,
            limit=limit,
        )
    except public_api.NotFound as exc:
        raise not_found(exc) from exc
    except public_api.InvalidInput as exc:
        raise invalid(exc) from exc
    return {"data": rows, "next_cursor": nxt}


@router.get(
    "/messages/{message_id}", response_model=S.Message, tags=["messages"], responses=NOT_FOUND
)
def get_message(message_id: Id, key: ReadKey, session: SessionDep):
    """One message, e.g. to follow its status after a send."""
    try:
        return public_api.get_message(
            session=session, account_id=key.account_id, message_id=message_id
        )
    except public_api.NotFound as exc:
        raise not_found(exc) from exc


# ------------------------------------------------------------------------------ catalog


@router.get("/templates", response_model=S.TemplateList, tags=["templates"])
def list_templates(
    key: ReadKey,
    session: SessionDep,
    status: Annotated[
        Literal["", "APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"], Query()
    ] = "",
    category: Annotated[Literal["", "MARKETING", "UTILITY", "AUTHENTICATION"], Query()] = "",
    language: Annotated[str, Query(max_length=16)] = "",
    search: Annotated[str, Query(max_length=100)] = "",
    sendable: Annotated[bool, Query(description="Only templates that can be sent now.")] = False,
):
    """The account's WhatsApp templates (synced from Meta) with their status and the
    parameters a send fills."""
    rows = tpl.list_templates(
        session=session,
        account_id=key.account_id,
        search=search,
        status=status,
        category=category,
        language=language,
        sendable_only=sendable,
    )
    data = []
    for r in rows:
        fields = tpl.template_form(session=session, account_id=key.account_id, template_id=r.id)
        item = dataclasses.asdict(r)
        item.pop("updated", None)
        item["parameters"] = [
            {
                "key": f.key,
                "label": f.label,
                "kind": f.kind,
                "example": f.example,
                "required": f.required,
                "max_length": f.max_length,
            }
            for f in fields
        ]
        data.append(item)
    return {"data": data}


@router.get("/numbers", response_model=S.NumberList, tags=["numbers"])
def list_numbers(key: AdminKey, session: SessionDep):
    """The account's WhatsApp and SMS numbers (admin scope, like the Numbers page)."""
    return {"data": public_api.list_numbers(session=session, account_id=key.account_id)}


def _report(session, account_id: int, start: str, end: str) -> usage.UsageReport:
    try:
        s, e = usage.parse_range(start, end)
    except usage.UsageRangeError as exc:
        raise Problem(
            422, str(exc), field="start", kind="invalid-request", title="Invalid request"
        ) from exc
    return usage.report(session=session, account_id=account_id, start=s, end=e)


DateQ = Annotated[str, Query(max_length=10, description="YYYY-MM-DD (default: last 30 days)")]


@router.get("/usage", response_model=S.Usage, tags=["usage"])
def get_usage(key: AdminKey, session: SessionDep, start: DateQ = "", end: DateQ = ""):
    """Messages and platform fees per day, channel and number (admin scope, like the Usage
    page)."""
    rep = _report(session, key.account_id, start, end)
    return {
        "start": rep.start.isoformat(),
        "end": rep.end.isoformat(),
        "total_messages": rep.total_messages,
        "total_fee": rep.total_fee,
        "currency": rep.currency,
        "data": [dataclasses.asdict(r) for r in rep.rows],
    }


@router.get(
    "/usage.csv",
    tags=["usage"],
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "The Usage page's CSV export.",
        }
    },
)
def get_usage_csv(key: AdminKey, session: SessionDep, start: DateQ = "", end: DateQ = ""):
    """The same report as CSV (the Usage page's export)."""
    rep = _report(session, key.account_id, start, end)
    return Response(
        usage.csv_text(rep),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{usage.csv_filename(rep)}"'},
    )


# ------------------------------------------------------------------ webhook subscriptions


def _webhook_view(ep) -> dict:
    return {
        "id": ep.id,
        "url": ep.url,
        "events": ep.events.split(),
        "description": ep.description,
        "active": ep.active,
    }


@router.get("/webhooks", response_model=S.WebhookList, tags=["webhooks"])
def list_webhooks(key: AdminKey, session: SessionDep):
    """The account's webhook endpoints (the same list as Admin › API & webhooks)."""
    from sqlmodel import select

    from ctreflex.models import WebhookEndpoint

    rows = session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.account_id == key.account_id)
        .order_by(WebhookEndpoint.id)
    ).all()
    return {"data": [_webhook_view(r) for r in rows]}


@router.post("/webhooks", response_model=S.WebhookCreated, status_code=201, tags=["webhooks"])
def create_webhook(body: S.WebhookCreate, key: AdminKey, session: SessionDep):
    """Subscribe an https endpoint to events (REST hooks: Zapier, a Power Automate webhook
    trigger). The answer holds the signing secret, once; `Location` is what to DELETE to
    unsubscribe."""
    from ctreflex.models import WebhookEndpoint
    from ctreflex.services import outbound_webhooks as hooks

    try:
        new = hooks.create_endpoint(
            session=session,
            account_id=key.account_id,
            url=body.url,
            events=body.events,
            description=body.description,
        )
    except hooks.WebhookError as exc:
        raise Problem(
            422,
            exc.message,
            field=exc.field or "url",
            kind="invalid-request",
            title="Invalid request",
        ) from exc
    view = _webhook_view(session.get(WebhookEndpoint, new.id)) | {"secret": new.secret}
    return JSONResponse(view, status_code=201, headers={"Location": f"/api/v1/webhooks/{new.id}"})


@router.get(
    "/webhooks/{webhook_id}", response_model=S.Webhook, tags=["webhooks"], responses=NOT_FOUND
)
def get_webhook(webhook_id: Id, key: AdminKey, session: SessionDep):
    from ctreflex.models import WebhookEndpoint

    row = session.get(WebhookEndpoint, webhook_id)
    if row is None or row.account_id != key.account_id:
        raise Problem(
            404, "No such endpoint in your account.", field="webhook_id", kind="not-found"
        )
    return _webhook_view(row)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    tags=["webhooks"],
    responses=NOT_FOUND,
    response_class=Response,
)
def delete_webhook(webhook_id: Id, key: AdminKey, session: SessionDep):
    """Unsubscribe: the endpoint and its queued deliveries are removed."""
    from ctreflex.services import outbound_webhooks as hooks

    try:
        hooks.delete_endpoint(session=session, account_id=key.account_id, endpoint_id=webhook_id)
    except hooks.WebhookError as exc:
        raise Problem(404, exc.message, field="webhook_id", kind="not-found") from exc
    return Response(status_code=204)
