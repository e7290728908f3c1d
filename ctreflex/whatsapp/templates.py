"""Template form (what the picker asks), pre-flight validation, component building, preview.

Field keys used by :func:`required_fields`, the ``values`` mapping and error lists:

* ``header.text``               header text variable
* ``header.media``              header image/video/document (media id, https link or MediaRef)
* ``body.1`` … / ``body.<name>`` body variables (positional / NAMED templates)
* ``button.<i>.url_suffix``     suffix for a dynamic URL button (URL ends with ``{{1}}``)
* ``button.<i>.coupon_code``    code for a COPY_CODE button
* ``button.<i>.payload``        optional payload for a QUICK_REPLY button (default: its text)

Whole-template problems use the field ``template`` (or ``header`` / ``button.<i>``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .limits import grapheme_count
from .models import (
    BodyParams,
    CopyCodeButtonParam,
    HeaderMedia,
    HeaderText,
    QuickReplyButtonParam,
    Template,
    TemplateButton,
    TemplateComponentParam,
    UrlButtonParam,
)

__all__ = [
    "FieldError",
    "FieldSpec",
    "MediaRef",
    "RenderedButton",
    "RenderedTemplate",
    "TemplateBuild",
    "TemplateValidationError",
    "TemplateValues",
    "build_components",
    "build_components_or_raise",
    "render_preview",
    "required_fields",
    "template_variables",
]

HEADER_TEXT_MAX = 60
BODY_TEXT_MAX = 1024
URL_MAX = 2000
COPY_CODE_MAX = 15
PAYLOAD_MAX = 1000
MEDIA_HEADER_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}
SUPPORTED_BUTTONS = {"URL", "PHONE_NUMBER", "COPY_CODE", "QUICK_REPLY"}
SENDABLE_CATEGORIES = {"MARKETING", "UTILITY"}

_VAR = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_BAD_PARAM = re.compile(r"[\n\t]| {5,}")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    key: str
    label: str
    kind: str  # text | image | video | document | url_suffix | coupon_code | payload
    example: str | None = None
    required: bool = True
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def __iter__(self):  # allows ``for field, message in errors``
        yield self.field
        yield self.message


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A header media value: exactly one of ``media_id`` / ``link``."""

    kind: str | None = None  # image | video | document (None: take it from the template)
    media_id: str | None = None
    link: str | None = None
    filename: str | None = None


@dataclass
class TemplateValues:
    """Structured alternative to the flat ``{key: value}`` mapping."""

    header_text: str | None = None
    header_media: MediaRef | str | None = None
    body: list[str] | dict[str, str] = field(default_factory=list)
    url_suffixes: dict[int, str] = field(default_factory=dict)
    copy_codes: dict[int, str] = field(default_factory=dict)
    quick_reply_payloads: dict[int, str] = field(default_factory=dict)

    def to_flat(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.header_text is not None:
            out["header.text"] = self.header_text
        if self.header_media is not None:
            out["header.media"] = self.header_media
        if isinstance(self.body, dict):
            out.update({f"body.{k}": v for k, v in self.body.items()})
        else:
            out.update({f"body.{i}": v for i, v in enumerate(self.body, start=1)})
        out.update({f"button.{i}.url_suffix": v for i, v in self.url_suffixes.items()})
        out.update({f"button.{i}.coupon_code": v for i, v in self.copy_codes.items()})
        out.update({f"button.{i}.payload": v for i, v in self.quick_reply_payloads.items()})
        return out


@dataclass
class TemplateBuild:
    components: list[TemplateComponentParam]
    errors: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dicts(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.components]


class TemplateValidationError(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class RenderedButton:
    type: str
    text: str | None = None
    url: str | None = None
    phone_number: str | None = None
    code: str | None = None
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    header_text: str | None
    header_media_kind: str | None
    body: str
    footer: str | None
    buttons: list[RenderedButton]
    header_media: MediaRef | None = None


# ---------------------------------------------------------------------------- helpers


def template_variables(text: str | None) -> list[str]:
    """Distinct variable names in order (``["1", "2"]`` or ``["customer_name"]``)."""
    seen: list[str] = []
    for m in _VAR.finditer(text or ""):
        if m.group(1) not in seen:
            seen.append(m.group(1))
    if seen and all(v.isdigit() for v in seen):
        seen.sort(key=int)
    return seen


def _substitute(text: str, values: Mapping[str, str | None]) -> str:
    def repl(m: re.Match[str]) -> str:
        v = values.get(m.group(1))
        return v if v not in (None, "") else m.group(0)

    return _VAR.sub(repl, text)


def _example_list(ex: Any) -> list[Any]:
    if isinstance(ex, list):
        return ex
    return [ex] if ex is not None else []


def _header_examples(template: Template) -> dict[str, str]:
    h = template.header
    ex = h.example_dict if h else {}
    out: dict[str, str] = {}
    for item in _example_list(ex.get("header_text_named_params")):
        if isinstance(item, dict) and item.get("param_name"):
            out[str(item["param_name"])] = str(item.get("example", ""))
    vals = _example_list(ex.get("header_text"))
    names = template_variables(h.text if h else None)
    for name, val in zip(names, vals, strict=False):
        out.setdefault(name, str(val))
    return out


def _body_examples(template: Template) -> dict[str, str]:
    b = template.body
    ex = b.example_dict if b else {}
    out: dict[str, str] = {}
    for item in _example_list(ex.get("body_text_named_params")):
        if isinstance(item, dict) and item.get("param_name"):
            out[str(item["param_name"])] = str(item.get("example", ""))
    rows = _example_list(ex.get("body_text"))
    first = rows[0] if rows and isinstance(rows[0], list) else rows
    names = template_variables(b.text if b else None)
    for name, val in zip(names, first, strict=False):
        out.setdefault(name, str(val))
    return out


def _url_has_var(btn: TemplateButton) -> bool:
    return bool(btn.url and _VAR.search(btn.url))


def _url_suffix_example(btn: TemplateButton) -> str | None:
    examples = _example_list(btn.example)
    if not examples or not btn.url:
        return None
    prefix = _VAR.split(btn.url, maxsplit=1)[0]
    sample = str(examples[0])
    return sample[len(prefix) :] if sample.startswith(prefix) else sample


def _header_var_name(template: Template) -> str | None:
    h = template.header
    if h is None or (h.format or "TEXT").upper() != "TEXT":
        return None
    names = template_variables(h.text)
    return names[0] if names else None


# ---------------------------------------------------------------------------- form


def required_fields(template: Template) -> list[FieldSpec]:
    """The fields the template picker renders, in display order."""
    specs: list[FieldSpec] = []
    h = template.header
    if h is not None:
        fmt = (h.format or "TEXT").upper()
        if fmt == "TEXT":
            name = _header_var_name(template)
            if name is not None:
                specs.append(
                    FieldSpec(
                        "header.text",
                        "Header" if name.isdigit() else f"Header: {name}",
                        "text",
                        _header_examples(template).get(name),
                        True,
                        HEADER_TEXT_MAX,
                    )
                )
        elif fmt in MEDIA_HEADER_FORMATS:
            kind = MEDIA_HEADER_FORMATS[fmt]
            handles = _example_list(h.example_dict.get("header_handle"))
            specs.append(
                FieldSpec(
                    "header.media", f"Header {kind}", kind, str(handles[0]) if handles else None
                )
            )
    body_ex = _body_examples(template)
    for name in template_variables(template.body.text if template.body else None):
        label = f"Body variable {{{{{name}}}}}" if name.isdigit() else f"Body: {name}"
        specs.append(FieldSpec(f"body.{name}", label, "text", body_ex.get(name)))
    for i, btn in enumerate(template.buttons):
        kind = btn.kind
        if kind == "URL" and _url_has_var(btn):
            specs.append(
                FieldSpec(
                    f"button.{i}.url_suffix",
                    f"Link ending for “{btn.text}”",
                    "url_suffix",
                    _url_suffix_example(btn),
                )
            )
        elif kind == "COPY_CODE":
            ex = _example_list(btn.example)
            specs.append(
                FieldSpec(
                    f"button.{i}.coupon_code",
                    "Coupon code",
                    "coupon_code",
                    str(ex[0]) if ex else None,
                    True,
                    COPY_CODE_MAX,
                )
            )
        elif kind == "QUICK_REPLY":
            specs.append(
                FieldSpec(
                    f"button.{i}.payload",
                    f"Reply payload for “{btn.text}”",
                    "payload",
                    btn.text,
                    False,
                    PAYLOAD_MAX,
                )
            )
    return specs


# ---------------------------------------------------------------------------- building


def _flat(values: Mapping[str, Any] | TemplateValues | None) -> dict[str, Any]:
    if values is None:
        return {}
    if isinstance(values, TemplateValues):
        return values.to_flat()
    return dict(values)


def _as_media_ref(value: Any) -> MediaRef | None:
    if value is None or value == "":
        return None
    if isinstance(value, MediaRef):
        return value
    if isinstance(value, HeaderMedia):
        return MediaRef(value.kind, value.media_id, value.link, value.filename)
    if isinstance(value, Mapping):
        return MediaRef(
            value.get("kind"),
            value.get("media_id") or value.get("id"),
            value.get("link"),
            value.get("filename"),
        )
    s = str(value).strip()
    if s.lower().startswith(("http://", "https://")):
        return MediaRef(link=s)
    return MediaRef(media_id=s)


def _text_value(values: dict[str, Any], key: str) -> str:
    v = values.get(key)
    return "" if v is None else str(v)


def _check_param_text(key: str, label: str, value: str, errors: list[FieldError]) -> bool:
    if not value.strip():
        errors.append(FieldError(key, f"Fill in {label}."))
        return False
    if _BAD_PARAM.search(value):
        errors.append(
            FieldError(key, "Can't contain line breaks, tabs or more than 4 spaces in a row.")
        )
        return False
    return True


def build_components(
    template: Template, values: Mapping[str, Any] | TemplateValues | None
) -> TemplateBuild:
    """Validate ``values`` against ``template`` and build the send ``components``."""
    vals = _flat(values)
    errors: list[FieldError] = []
    comps: list[TemplateComponentParam] = []
    named = template.is_named

    if not template.is_approved:
        status = (template.status or "unknown").upper()
        errors.append(
            FieldError(
                "template", f"This template is {status}; only approved templates can be sent."
            )
        )
    category = (template.category or "").upper()
    if category and category not in SENDABLE_CATEGORIES:
        errors.append(
            FieldError("template", f"{category.title()} templates can't be sent from the inbox.")
        )

    # header
    h = template.header
    if h is not None:
        fmt = (h.format or "TEXT").upper()
        if fmt == "TEXT":
            name = _header_var_name(template)
            if name is not None:
                value = _text_value(vals, "header.text")
                if _check_param_text("header.text", "the header", value, errors):
                    full = _substitute(h.text or "", {name: value})
                    if grapheme_count(full) > HEADER_TEXT_MAX:
                        errors.append(
                            FieldError(
                                "header.text",
                                f"The header is too long with this value (max {HEADER_TEXT_MAX} "
                                "characters).",
                            )
                        )
                    else:
                        comps.append(HeaderText(text=value, parameter_name=name if named else None))
        elif fmt in MEDIA_HEADER_FORMATS:
            want = MEDIA_HEADER_FORMATS[fmt]
            ref = _as_media_ref(vals.get("header.media"))
            if ref is None or not (ref.media_id or ref.link):
                errors.append(FieldError("header.media", f"Choose a header {want}."))
            elif ref.media_id and ref.link:
                errors.append(FieldError("header.media", "Use either a file or a link, not both."))
            elif ref.kind and ref.kind != want:
                errors.append(
                    FieldError(
                        "header.media",
                        f"This template needs {_article(want)} {want} header, "
                        f"not {_article(ref.kind)} {ref.kind}.",
                    )
                )
            elif ref.link and not ref.link.lower().startswith("https://"):
                errors.append(FieldError("header.media", "The link must start with https://."))
            elif ref.media_id and not re.fullmatch(r"\S+", ref.media_id):
                errors.append(FieldError("header.media", "The media id is not valid."))
            else:
                comps.append(
                    HeaderMedia(
                        kind=want,
                        media_id=ref.media_id or None,
                        link=ref.link or None,
                        filename=ref.filename if want == "document" else None,
                    )
                )
        else:
            errors.append(
                FieldError("header", f"{fmt.title()} headers are not supported in the inbox.")
            )

    # body
    b = template.body
    if b is None:
        errors.append(FieldError("template", "This template has no body."))
    else:
        names = template_variables(b.text)
        filled: dict[str, str] = {}
        body_ok = True
        for name in names:
            key = f"body.{name}"
            label = f"variable {{{{{name}}}}}" if name.isdigit() else f"“{name}”"
            value = _text_value(vals, key)
            if _check_param_text(key, label, value, errors):
                filled[name] = value
            else:
                body_ok = False
        if body_ok and names:
            full = _substitute(b.text or "", filled)
            if grapheme_count(full) > BODY_TEXT_MAX:
                errors.append(
                    FieldError(
                        f"body.{names[-1]}",
                        f"The message is too long with these values (max {BODY_TEXT_MAX} "
                        "characters).",
                    )
                )
            elif named:
                comps.append(BodyParams(values={n: filled[n] for n in names}))
            else:
                comps.append(BodyParams(values=[filled[n] for n in names]))

    # buttons
    for i, btn in enumerate(template.buttons):
        kind = btn.kind
        if kind == "URL":
            if not _url_has_var(btn):
                continue
            key = f"button.{i}.url_suffix"
            suffix = _text_value(vals, key).strip()
            if not suffix:
                errors.append(FieldError(key, f"Fill in the link ending for “{btn.text}”."))
            elif re.search(r"\s", suffix):
                errors.append(FieldError(key, "The link ending can't contain spaces."))
            elif len(_VAR.sub(suffix, btn.url or "")) > URL_MAX:
                errors.append(FieldError(key, f"The link is too long (max {URL_MAX})."))
            else:
                comps.append(UrlButtonParam(index=i, suffix=suffix))
        elif kind == "COPY_CODE":
            key = f"button.{i}.coupon_code"
            code = _text_value(vals, key).strip()
            if not code:
                errors.append(FieldError(key, "Fill in the coupon code."))
            elif len(code) > COPY_CODE_MAX:
                errors.append(
                    FieldError(key, f"The coupon code can be at most {COPY_CODE_MAX} characters.")
                )
            elif re.search(r"\s", code):
                errors.append(FieldError(key, "The coupon code can't contain spaces."))
            else:
                comps.append(CopyCodeButtonParam(index=i, coupon_code=code))
        elif kind == "QUICK_REPLY":
            key = f"button.{i}.payload"
            payload = _text_value(vals, key)
            if payload:
                if len(payload) > PAYLOAD_MAX:
                    errors.append(
                        FieldError(
                            key, f"The reply payload can be at most {PAYLOAD_MAX} characters."
                        )
                    )
                else:
                    comps.append(QuickReplyButtonParam(index=i, payload=payload))
        elif kind == "PHONE_NUMBER":
            continue
        else:
            errors.append(
                FieldError(
                    f"button.{i}",
                    f"{kind.replace('_', ' ').title()} buttons are not supported in the inbox.",
                )
            )
    return TemplateBuild(components=comps if not errors else [], errors=errors)


def build_components_or_raise(
    template: Template, values: Mapping[str, Any] | TemplateValues | None
) -> list[TemplateComponentParam]:
    result = build_components(template, values)
    if result.errors:
        raise TemplateValidationError(result.errors)
    return result.components


def _article(word: str | None) -> str:
    return "an" if (word or "")[:1].lower() in "aeiou" else "a"


# ---------------------------------------------------------------------------- preview


def render_preview(
    template: Template, values: Mapping[str, Any] | TemplateValues | None = None
) -> RenderedTemplate:
    """The message as the customer will see it; unfilled variables stay as ``{{n}}``."""
    vals = _flat(values)
    header_text = None
    header_kind = None
    header_media = None
    h = template.header
    if h is not None:
        fmt = (h.format or "TEXT").upper()
        if fmt == "TEXT":
            name = _header_var_name(template)
            header_text = _substitute(
                h.text or "", {name: _text_value(vals, "header.text")} if name else {}
            )
        else:
            header_kind = MEDIA_HEADER_FORMATS.get(fmt, fmt.lower())
            header_media = _as_media_ref(vals.get("header.media"))
    body = ""
    if template.body is not None and template.body.text:
        names = template_variables(template.body.text)
        body = _substitute(template.body.text, {n: _text_value(vals, f"body.{n}") for n in names})
    footer = template.footer.text if template.footer else None
    buttons: list[RenderedButton] = []
    for i, btn in enumerate(template.buttons):
        kind = btn.kind
        if kind == "URL":
            suffix = _text_value(vals, f"button.{i}.url_suffix")
            url = _VAR.sub(suffix, btn.url or "", count=1) if suffix else btn.url
            buttons.append(RenderedButton(kind, btn.text, url=url))
        elif kind == "PHONE_NUMBER":
            buttons.append(RenderedButton(kind, btn.text, phone_number=btn.phone_number))
        elif kind == "COPY_CODE":
            code = _text_value(vals, f"button.{i}.coupon_code") or None
            buttons.append(RenderedButton(kind, btn.text or "Copy code", code=code))
        elif kind == "QUICK_REPLY":
            payload = _text_value(vals, f"button.{i}.payload") or btn.text
            buttons.append(RenderedButton(kind, btn.text, payload=payload))
        else:
            buttons.append(RenderedButton(kind, btn.text))
    return RenderedTemplate(header_text, header_kind, body, footer, buttons, header_media)
