"""JSON from outside, decoded safely: size, depth and number limits; every string storable."""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MAX_PARTS",
    "WebhookParseError",
    "clean_text",
    "loads_json",
]


class WebhookParseError(ValueError):
    """The webhook body is not JSON or not a WhatsApp webhook envelope."""


MAX_BODY_BYTES = 3 * 1024 * 1024  # Meta's bodies are a few KB; the webhook route refuses more
MAX_DEPTH = 32  # Meta's deepest body (a contacts card) is 8 levels
# Messages + statuses in one body: Meta batches far fewer. More would hold the database's one
# write turn (SQLite) for long enough to delay every webhook's 200 behind it.
MAX_PARTS = 1000

_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_RISKY_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def _nesting_problem(text: str) -> str | None:
    """Why the JSON text cannot be parsed safely: nested deeper than MAX_DEPTH, or brackets
    that do not pair up; None when fine. Linear and at C speed (str.replace/split, no
    backtracking regex, no recursion): escapes out, strings out (every quote left delimits
    one), brackets only, then each pass removes the innermost pairs."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    outside = "".join(text.replace("\\\\", "").replace('\\"', "").split('"')[0::2])
    brackets = _NOT_BRACKET.sub("", outside)
    for _ in range(MAX_DEPTH):
        inner = brackets.replace("[]", "").replace("{}", "")
        if not inner:
            return None
        if inner == brackets:
            return "webhook body is not valid JSON: its brackets do not pair up"
        brackets = inner
    return f"webhook body is nested deeper than {MAX_DEPTH} levels"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def clean_text(value: str) -> str:
    """The text with lone surrogates and NUL replaced by U+FFFD (storable in UTF-8 and in
    PostgreSQL's text)."""
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub("\ufffd", value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def loads_json(text: str | bytes) -> Any:
    """json.loads for bodies from outside: at most MAX_BODY_BYTES, nested at most MAX_DEPTH
    levels (checked before the parser recurses), no NaN/Infinity, every string storable.
    Raises WebhookParseError with the reason."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_BODY_BYTES:
            raise WebhookParseError(f"webhook body is larger than {MAX_BODY_BYTES} bytes")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookParseError(f"webhook body is not UTF-8: {exc}") from exc
    elif len(text) > MAX_BODY_BYTES:
        raise WebhookParseError(f"webhook body is larger than {MAX_BODY_BYTES} bytes")
    problem = _nesting_problem(text)
    if problem:
        raise WebhookParseError(problem)
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:  # unbalanced brackets deep enough to reach the parser's limit
        raise WebhookParseError(f"webhook body is nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise WebhookParseError(f"webhook body is not valid JSON: {exc}") from exc
    if _RISKY_ESCAPE.search(text) is not None:
        data = _clean(data)
    return data
