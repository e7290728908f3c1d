"""Errors of the public API in one JSON shape: RFC 9457 problem details
(`application/problem+json`), naming the offending field.

    {"type": "https://ctreflex.dev/problems/send-refused", "title": "Send refused",
     "status": 422, "detail": "The 24-hour window is closed: ...", "instance": "/api/v1/messages",
     "field": "window", "errors": [{"field": "window", "message": "..."}]}

Every /api/v1 route uses `ProblemRoute`, which turns validation errors, HTTPExceptions and
`Problem` raised anywhere in the route (dependencies included) into this shape."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException  # FastAPI's own is a subclass of it

log = logging.getLogger("ctreflex.api.v1")

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://ctreflex.dev/problems/"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


class FieldMessage(BaseModel):
    field: str
    message: str


class ProblemDoc(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    errors: list[FieldMessage] = []


class Problem(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        kind: str = "",
        title: str = "",
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.kind = kind
        self.title = title or TITLES.get(status, "Error")
        self.errors = errors if errors is not None else ([(field, detail)] if field else [])
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        slug = self.kind or self.title.lower().replace(" ", "-")
        return {
            "type": TYPE_BASE + slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "field": self.field,
            "errors": [{"field": f, "message": m} for f, m in self.errors],
        }

    def response(self, request: Request | None = None) -> JSONResponse:
        return problem_response(
            self.status, self.body(request.url.path if request else None), self.headers
        )


def problem_response(status: int, body: dict, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


def _loc_field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = []
    for err in exc.errors():
        field = _loc_field(err.get("loc") or ())
        msg = str(err.get("msg") or "Invalid value.")
        if err.get("type") == "json_invalid":
            field, msg = "body", "The body is not valid JSON."
        errors.append((field, msg))
    errors = errors or [("body", "Invalid request.")]
    first_field, first_msg = errors[0]
    return Problem(
        422,
        f"{first_field}: {first_msg}"
        if len(errors) == 1
        else f"{len(errors)} fields are invalid; first: {first_field}: {first_msg}",
        field=first_field,
        kind="invalid-request",
        title="Invalid request",
        errors=errors,
    )


class ProblemRoute(APIRoute):
    """An APIRoute whose errors all come out as problem+json."""

    def get_route_handler(self):
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except Problem as exc:
                return exc.response(request)
            except RequestValidationError as exc:
                return validation_problem(exc).response(request)
            except HTTPException as exc:
                if exc.status_code == 400:  # FastAPI: a body that is not UTF-8 JSON
                    return Problem(
                        422,
                        "The body is not valid JSON (UTF-8).",
                        field="body",
                        kind="invalid-request",
                        title="Invalid request",
                    ).response(request)
                detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
                return Problem(exc.status_code, detail, headers=dict(exc.headers or {})).response(
                    request
                )

        return handler


def _problem_schema() -> dict:
    schema = ProblemDoc.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    schema["properties"]["errors"]["items"] = FieldMessage.model_json_schema()
    return schema


PROBLEM_SCHEMA = _problem_schema()


def problem_responses(*codes: int) -> dict[int | str, dict]:
    return {
        code: {
            "description": TITLES.get(code, "Error"),
            "content": {PROBLEM_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for code in codes
    }


def operation_id(route: APIRoute) -> str:
    """PascalCase operation ids from the function names (ListContacts, SendMessage): what
    connector builders (Power Automate, Zapier, Make) show as the action's name."""
    return "".join(part.title() for part in route.name.split("_"))
