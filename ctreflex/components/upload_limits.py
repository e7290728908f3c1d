"""File pickers that refuse a file over its kind's WhatsApp limit at selection, before a byte
is uploaded (issue 14): photos 5 MB, videos 16 MB, PDF documents 100 MB
(ctreflex.whatsapp.limits.MEDIA_RULES). react-dropzone's ``maxSize`` is one number for every
type, so each file also goes through a ``validator`` that checks its own kind's limit; a
refused file reaches ``on_drop_rejected`` with the code ``file-too-large`` and no upload starts.
The server checks again while the bytes stream in (media.save_upload)."""

from __future__ import annotations

import copy
import json
from typing import Any

import reflex as rx
from reflex.components.core.upload import Upload
from reflex_base.components.component import field
from reflex_base.vars.base import Var

from ctreflex.whatsapp.limits import MEDIA_RULES

LIMITS = {mime: rule.max_bytes for rule in MEDIA_RULES.values() for mime in rule.mime_types}
_PREFIX = {"image/": MEDIA_RULES["image"].max_bytes, "video/": MEDIA_RULES["video"].max_bytes}

VALIDATOR = Var(
    _js_expr=(
        "((file) => { const exact = "
        + json.dumps(LIMITS)
        + "; const prefix = "
        + json.dumps(_PREFIX)
        + "; const type = (file && file.type) || ''; "
        "let limit = exact[type]; "
        "if (limit === undefined) { for (const p in prefix) { if (type.startsWith(p)) "
        "{ limit = prefix[p]; } } } "
        "if (limit !== undefined && typeof file.size === 'number' && file.size > limit) "
        "{ return {code: 'file-too-large', message: 'File is larger than ' + limit + ' bytes'}; }"
        " return null; })"
    ),
    _var_type=Any,
)


class SizedUpload(Upload):
    """rx.upload.root with react-dropzone's per-file ``validator``."""

    validator: Var[Any] = field(doc="Called with each file: null, or {code, message}.")


def _accepted_only(var: Var) -> Var:
    """The dropzone's hook with ``onDropAccepted`` in place of ``onDrop``: react-dropzone calls
    onDrop even when every file was refused, and Reflex then posts an empty upload; the
    accepted-only callback is never called without a file."""
    data = var._var_data
    if data is None:
        return var
    hooks = tuple(h.replace('["onDrop"] :', '["onDropAccepted"] :', 1) for h in data.hooks)
    changed = copy.copy(data)
    object.__setattr__(changed, "hooks", hooks)  # VarData is frozen
    return var._replace(_var_data=changed)


def sized_upload(*children, **props) -> rx.Component:
    """rx.upload.root, refusing a file over its own kind's limit at selection (and posting
    nothing when every chosen file was refused)."""
    props.setdefault("validator", VALIDATOR)
    upload = SizedUpload.create(*children, **props)
    Upload.is_used = True  # (create marks the subclass; the app adds /_upload when Upload is)
    zone = upload.children[0]
    parts = [zone, *(c for c in zone.children if getattr(c, "special_props", None))]
    for part in parts:
        part.special_props = [_accepted_only(v) for v in part.special_props]
    return upload
