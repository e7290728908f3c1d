"""Meta's rules, as pure functions: send validation, templates, media, window, pricing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import filetype
import phonenumbers
import regex

from .errors import GraphError, invalid_param, missing_param
from .state import Chat, Media, Side, SimState, SimStatus, Template

WINDOW_SECONDS = 24 * 3600
MAX_TEXT = 4096
MAX_CAPTION = 1024
_GRAPHEME = regex.compile(r"\X")


def chars(text: str) -> int:
    """Length as Meta documents it: characters a reader sees (extended grapheme clusters, so
    an emoji with a skin tone or a flag counts 1), the limits' unit for text and captions."""
    return len(_GRAPHEME.findall(text))


MB = 1024 * 1024

#: kind -> (allowed MIME types, max bytes) — Meta's table (reference §6)
MEDIA_RULES: dict[str, tuple[frozenset[str], int]] = {
    "audio": (frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
              16 * MB),
    "document": (frozenset({
        "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }), 100 * MB),
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
}
MEDIA_TYPES = tuple(MEDIA_RULES)
ALL_MEDIA_MIMES = frozenset().union(*(m for m, _ in MEDIA_RULES.values()))
SEND_TYPES = ("audio", "contacts", "document", "image", "interactive", "location", "reaction",
              "sticker", "template", "text", "video")
_VAR_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def base_mime(mime: str) -> str:
    return (mime or "").split(";", 1)[0].strip().lower()


def kind_for_mime(mime: str) -> str | None:
    m = base_mime(mime)
    for kind, (mimes, _limit) in MEDIA_RULES.items():
        if m in mimes and kind != "sticker":
            return kind
    return "sticker" if m == "image/webp" else None


def sniff_mime(data: bytes) -> str | None:
    """MIME type from the bytes (None when the format has no reliable signature)."""
    kind = filetype.guess(data)
    if kind is None:
        return None
    mime = kind.mime
    return {"audio/x-wav": "audio/wav", "video/quicktime": "video/quicktime"}.get(mime, mime)


_SNIFF_EQUIV = {
    "audio/ogg": {"audio/ogg", "video/ogg", "application/ogg", "audio/opus"},
    "audio/mp4": {"audio/mp4", "video/mp4", "audio/x-m4a", "audio/m4a"},
    "video/3gpp": {"video/3gpp", "video/mp4"},
    "video/mp4": {"video/mp4", "video/x-m4v", "video/3gpp"},
    "audio/mpeg": {"audio/mpeg", "audio/mp3"},
    "audio/amr": {"audio/amr"},
    "audio/aac": {"audio/aac", "audio/x-aac"},
}


def check_upload(data: bytes, declared: str) -> str:
    """Validate an upload (type + Meta size limits). Returns the normalised MIME type."""
    mime = base_mime(declared)
    if mime not in ALL_MEDIA_MIMES:
        raise GraphError(
            131053,
            "Param file must be a file with one of the following types: "
            + ", ".join(sorted(ALL_MEDIA_MIMES)) + f". Received file of type '{mime}'.",
        )
    sniffed = sniff_mime(data)
    if sniffed is not None and sniffed not in _SNIFF_EQUIV.get(mime, {mime}):
        raise GraphError(
            131053,
            f"The file's content ({sniffed}) does not match the declared type {mime}.",
        )
    if sniffed is None and mime in {"image/jpeg", "image/png", "application/pdf", "video/mp4",
                                    "image/webp"}:
        raise GraphError(131053, f"The file is not a valid {mime} file.")
    kind = kind_for_mime(mime) or "document"
    limit = MEDIA_RULES[kind][1]
    if len(data) > limit:
        raise GraphError(
            131053,
            f"{kind.capitalize()} file size {len(data)} bytes exceeds the maximum of "
            f"{limit} bytes for {mime}.",
        )
    if not data:
        raise GraphError(131053, "The uploaded file is empty.")
    return mime


def media_problem(kind: str, media: Media) -> str | None:
    """Why this media cannot be sent as ``kind`` (-> async 131053), or None."""
    mimes, limit = MEDIA_RULES[kind]
    mime = base_mime(media.mime_type)
    if mime not in mimes:
        return f"Unsupported {kind} mime type {mime}. Supported: {', '.join(sorted(mimes))}."
    if media.file_size > limit:
        return f"{kind.capitalize()} size {media.file_size} bytes exceeds {limit} bytes."
    return None


# ---- phone numbers, window ---------------------------------------------------------------
def normalise_to(raw: Any) -> str:
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise invalid_param("to", "Param to must be a string with the recipient's phone number.")
    digits = re.sub(r"[\s\-().+]", "", str(raw))
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise GraphError(100, f"Invalid parameter: to ('{raw}') is not a valid phone number.")
    return digits


def region_of(wa_id: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse("+" + wa_id))
    except phonenumbers.NumberParseException:
        return None


def is_us_number(wa_id: str) -> bool:
    return region_of(wa_id) == "US"


def window_open(chat: Chat | None, now: float) -> bool:
    return bool(chat and chat.last_inbound_at and now < chat.last_inbound_at + WINDOW_SECONDS)


# ---- messaging limit (tiers) -----------------------------------------------------------
TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50, "TIER_250": 250, "TIER_1K": 1_000, "TIER_2K": 2_000, "TIER_10K": 10_000,
    "TIER_100K": 100_000, "TIER_UNLIMITED": None,
}
TIER_ERROR = (131048, "Message failed to send because there are restrictions on how many "
                      "messages can be sent from this phone number: the messaging limit "
                      "(unique customers outside a customer service window in a moving "
                      "24 hours) was reached.")


def tier_limit(tier: str | None) -> int | None:
    """Unique customers per moving 24 h for a tier code; 250 for a number without one."""
    return TIER_LIMITS.get((tier or "").upper(), 250)


def business_initiated_customers(state: Any, pnid: str, now: float) -> set[str]:
    """wa_ids this number sent a (not failing) template to outside their customer service
    window in the last 24 h: what the messaging limit counts."""
    since = now - WINDOW_SECONDS
    inbound: dict[str, list[int]] = {}
    for m in state.messages:
        if m.pnid == pnid and m.direction == Side.IN and m.timestamp > since - WINDOW_SECONDS:
            inbound.setdefault(m.wa_id, []).append(m.timestamp)
    counted: set[str] = set()
    for m in state.messages:
        if (m.pnid != pnid or m.direction != Side.OUT or m.type != "template"
                or m.timestamp <= since or m.status == SimStatus.FAILED or m.pricing is None):
            continue
        if any(m.timestamp - WINDOW_SECONDS < t <= m.timestamp for t in inbound.get(m.wa_id, ())):
            continue  # inside the customer's window: not business-initiated
        counted.add(m.wa_id)
    return counted


def over_messaging_limit(state: Any, pnid: str, tier: str | None, wa_id: str,
                         now: float) -> bool:
    """Would a template to ``wa_id`` (window closed) go over the number's tier?"""
    limit = tier_limit(tier)
    if limit is None:
        return False
    counted = business_initiated_customers(state, pnid, now)
    return wa_id not in counted and len(counted) >= limit


def pricing_for(category: str, in_window: bool) -> dict[str, Any]:
    """PMP pricing object. ``category``: service | utility | marketing | authentication."""
    if category == "service" or (category == "utility" and in_window):
        return {"billable": False, "pricing_model": "PMP", "category": category,
                "type": "free_customer_service"}
    return {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}


# ---- templates -------------------------------------------------------------------------
def template_vars(text: str | None) -> list[str]:
    seen: list[str] = []
    for name in _VAR_RE.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def _component(tpl: Template, ctype: str) -> dict[str, Any] | None:
    for comp in tpl.components:
        if str(comp.get("type", "")).upper() == ctype:
            return comp
    return None


def _param_text(p: dict[str, Any]) -> str:
    ptype = p.get("type")
    if ptype == "text":
        return str(p.get("text", ""))
    if ptype == "currency":
        return str((p.get("currency") or {}).get("fallback_value", ""))
    if ptype == "date_time":
        return str((p.get("date_time") or {}).get("fallback_value", ""))
    return ""


def _check_text_param(where: str, text: Any) -> None:
    if not isinstance(text, str) or text == "":
        raise GraphError(132012, f"{where}: parameter text must be a non-empty string.")
    if "\n" in text or "\t" in text or "     " in text:
        raise GraphError(
            132018,
            f"{where}: Param text cannot have new-line/tab characters or more than 4 "
            "consecutive spaces",
        )


def _params(where: str, comp: dict[str, Any]) -> list[dict[str, Any]]:
    params = comp.get("parameters", [])
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        raise invalid_param(f"{where}['parameters']",
                            f"Param {where}['parameters'] must be an array of objects.")
    return params


@dataclass
class RenderedTemplate:
    template: Template
    header: dict[str, Any] | None = None  # {"format": "TEXT", "text": ...} or media
    body: str = ""
    footer: str | None = None
    buttons: list[dict[str, Any]] = field(default_factory=list)
    header_media_id: str | None = None
    header_link: str | None = None
    header_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.template.name,
            "language": self.template.language,
            "category": self.template.category,
            "header": self.header,
            "body": self.body,
            "footer": self.footer,
            "buttons": self.buttons,
        }


def find_template(state: SimState, waba_id: str, name: str, language: str) -> Template:
    same_name = [t for t in state.templates.values() if t.waba_id == waba_id and t.name == name]
    match = next((t for t in same_name if t.language == language), None)
    if match is None:
        raise GraphError(132001, f"template name ({name}) does not exist in {language}")
    if match.status == "PAUSED":
        raise GraphError(132015, f"Template {name} ({language}) is paused due to low quality.")
    if match.status == "DISABLED":
        raise GraphError(132016, f"Template {name} ({language}) has been disabled.")
    if match.status != "APPROVED":
        raise GraphError(
            132001,
            f"template name ({name}) does not exist in {language} "
            f"(template status is {match.status}).",
        )
    return match


def validate_template(state: SimState, waba_id: str, obj: Any) -> RenderedTemplate:
    if not isinstance(obj, dict):
        raise missing_param("template")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise missing_param("template['name']")
    lang = obj.get("language")
    code = lang.get("code") if isinstance(lang, dict) else lang if isinstance(lang, str) else None
    if not isinstance(code, str) or not code:
        raise missing_param("template['language']['code']")
    tpl = find_template(state, waba_id, name, code)
    comps = obj.get("components", [])
    if comps is None:
        comps = []
    if not isinstance(comps, list) or not all(isinstance(c, dict) for c in comps):
        raise invalid_param("template['components']",
                            "Param template['components'] must be an array of objects.")
    header_comps, body_comps, button_comps = [], [], []
    for i, comp in enumerate(comps):
        ctype = str(comp.get("type", "")).lower()
        if ctype == "header":
            header_comps.append(comp)
        elif ctype == "body":
            body_comps.append(comp)
        elif ctype == "button":
            button_comps.append(comp)
        else:
            raise invalid_param(
                f"template['components'][{i}]['type']",
                f"Param template['components'][{i}]['type'] must be one of "
                "{HEADER, BODY, BUTTON} - got \"" + str(comp.get("type")) + '"',
            )
    rendered = RenderedTemplate(template=tpl)
    _render_header(state, waba_id, tpl, header_comps, rendered)
    _render_body(tpl, body_comps, rendered)
    footer = _component(tpl, "FOOTER")
    rendered.footer = footer.get("text") if footer else None
    _render_buttons(tpl, button_comps, rendered)
    return rendered


def _render_header(state: SimState, waba_id: str, tpl: Template,
                   comps: list[dict[str, Any]], out: RenderedTemplate) -> None:
    header = _component(tpl, "HEADER")
    params: list[dict[str, Any]] = []
    for comp in comps:
        params.extend(_params("header", comp))
    if header is None:
        if params:
            raise GraphError(132000, f"header: number of parameters ({len(params)}) does not "
                                     "match the expected number of params (0)")
        return
    fmt = str(header.get("format", "TEXT")).upper()
    if fmt == "TEXT":
        names = template_vars(header.get("text"))
        if len(params) != len(names):
            raise GraphError(
                132000,
                f"header: number of localizable_params ({len(params)}) does not match the "
                f"expected number of params ({len(names)})",
            )
        text = header.get("text", "")
        for name, p in zip(names, params, strict=True):
            if p.get("type") != "text":
                raise GraphError(132012, f"header: Format mismatch, expected TEXT, received "
                                         f"{str(p.get('type')).upper()}")
            _check_text_param("header", p.get("text"))
            text = re.sub(r"\{\{\s*" + re.escape(name) + r"\s*\}\}", p["text"], text)
        out.header = {"format": "TEXT", "text": text}
        return
    if len(params) != 1:
        raise GraphError(
            132000,
            f"header: number of parameters ({len(params)}) does not match the expected "
            f"number of params (1)",
        )
    p = params[0]
    ptype = str(p.get("type", "")).lower()
    if ptype != fmt.lower():
        raise GraphError(132012, f"header: Format mismatch, expected {fmt}, received "
                                 f"{ptype.upper() or 'nothing'}")
    if fmt == "LOCATION":
        loc = p.get("location") or {}
        out.header = {"format": "LOCATION", "location": loc}
        return
    media = p.get(ptype)
    if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
        raise GraphError(132012, f"header: {ptype} parameter needs an id or a link")
    if media.get("id"):
        mid = str(media["id"])
        m = state.media.get(mid)
        if m is None or m.deleted or m.waba_id != waba_id:
            raise GraphError(132012, f"header: {ptype} id {mid} is not a valid media id")
        out.header_media_id = mid
    else:
        link = media.get("link")
        if not isinstance(link, str) or not re.match(r"^https?://", link):
            raise GraphError(132012, f"header: {ptype} link must be an http(s) URL")
        out.header_link = link
    out.header_kind = ptype
    out.header = {"format": fmt, "media_id": out.header_media_id, "link": out.header_link,
                  "filename": media.get("filename")}


def _render_body(tpl: Template, comps: list[dict[str, Any]], out: RenderedTemplate) -> None:
    body = _component(tpl, "BODY") or {"text": ""}
    text = body.get("text", "")
    names = template_vars(text)
    params: list[dict[str, Any]] = []
    for comp in comps:
        params.extend(_params("body", comp))
    if len(params) != len(names):
        raise GraphError(
            132000,
            f"body: number of localizable_params ({len(params)}) does not match the expected "
            f"number of params ({len(names)})",
        )
    named = tpl.parameter_format == "NAMED"
    values: dict[str, str] = {}
    for i, p in enumerate(params):
        ptype = p.get("type")
        if ptype not in ("text", "currency", "date_time"):
            raise GraphError(132012, f"body: parameter {i + 1} has unsupported type {ptype!r}; "
                                     "expected text, currency or date_time")
        if ptype == "text":
            _check_text_param(f"body parameter {i + 1}", p.get("text"))
        elif not isinstance(p.get(ptype), dict) or not p[ptype].get("fallback_value"):
            raise GraphError(132012, f"body: parameter {i + 1} ({ptype}) needs fallback_value")
        if named:
            pname = p.get("parameter_name")
            if not isinstance(pname, str) or pname not in names:
                raise GraphError(
                    132000,
                    f"body: parameter_name {pname!r} does not match the template's named "
                    f"params ({', '.join(names)})",
                )
            values[pname] = _param_text(p)
        else:
            values[names[i]] = _param_text(p)
    if named and set(values) != set(names):
        missing = [n for n in names if n not in values]
        raise GraphError(132000, f"body: missing named params: {', '.join(missing)}")
    for name, value in values.items():
        text = re.sub(r"\{\{\s*" + re.escape(name) + r"\s*\}\}", lambda _m, v=value: v, text)
    if chars(text) > 1024:
        raise GraphError(132005, "body: text is longer than 1024 characters after substitution")
    out.body = text


_SUBTYPE = {"URL": "url", "QUICK_REPLY": "quick_reply", "COPY_CODE": "copy_code",
            "OTP": "url", "FLOW": "flow", "CATALOG": "catalog", "MPM": "mpm",
            "VOICE_CALL": "voice_call", "PHONE_NUMBER": "phone_number"}


def _render_buttons(tpl: Template, comps: list[dict[str, Any]], out: RenderedTemplate) -> None:
    bcomp = _component(tpl, "BUTTONS")
    buttons: list[dict[str, Any]] = list(bcomp.get("buttons", [])) if bcomp else []
    given: dict[int, dict[str, Any]] = {}
    for comp in comps:
        sub = comp.get("sub_type")
        if not isinstance(sub, str) or not sub:
            raise missing_param("template['components'][button]['sub_type']")
        try:
            idx = int(comp.get("index"))
        except (TypeError, ValueError):
            raise missing_param("template['components'][button]['index']") from None
        if not 0 <= idx < len(buttons):
            raise GraphError(131009, f"Button at index {idx} of type {sub.title()} does not exist")
        btype = str(buttons[idx].get("type", "")).upper()
        if _SUBTYPE.get(btype) != sub.lower():
            raise GraphError(131009, f"Button at index {idx} of type {sub.title()} does not "
                                     f"exist (the template's button {idx} is {btype})")
        if idx in given:
            raise GraphError(131009, f"Button at index {idx} given twice")
        given[idx] = comp
    for idx, btn in enumerate(buttons):
        btype = str(btn.get("type", "")).upper()
        comp = given.get(idx)
        params = _params(f"button {idx}", comp) if comp else []
        shown: dict[str, Any] = {"type": btype, "text": btn.get("text")}
        if btype in ("URL", "OTP"):
            url = btn.get("url", "")
            dynamic = bool(template_vars(url))
            if dynamic:
                if not params:
                    raise GraphError(132012, f"buttons: url button at index {idx} needs a text "
                                             "parameter for its {{1}} suffix")
                if len(params) != 1:
                    raise GraphError(132000, f"buttons: url button at index {idx} takes 1 "
                                             f"parameter, got {len(params)}")
                p = params[0]
                if p.get("type") != "text" or not isinstance(p.get("text"), str):
                    raise GraphError(132012, f"buttons: url button at index {idx} parameter "
                                             "must be of type text")
                url = _VAR_RE.sub(lambda _m, v=p["text"]: v, url)
            elif params:
                raise GraphError(132000, f"buttons: url button at index {idx} is static and "
                                         "takes no parameter")
            shown["url"] = url
            if "otp_type=COPY_CODE" in url or btype == "OTP":
                shown["type"] = "OTP_COPY_CODE"
        elif btype == "COPY_CODE":
            if len(params) != 1:
                raise GraphError(132012, f"buttons: copy_code button at index {idx} needs one "
                                         "coupon_code parameter")
            p = params[0]
            code = p.get("coupon_code")
            if p.get("type") != "coupon_code" or not isinstance(code, str) or not code:
                raise GraphError(132012, f"buttons: copy_code button at index {idx} parameter "
                                         "must be {type: coupon_code, coupon_code}")
            if len(code) > 15:
                raise GraphError(132012, "buttons: coupon_code must be at most 15 characters")
            shown["text"] = "Copy code"
            shown["coupon_code"] = code
        elif btype == "QUICK_REPLY":
            payload = None
            if len(params) > 1:
                raise GraphError(132000, f"buttons: quick_reply button at index {idx} takes at "
                                         "most 1 payload")
            if params:
                p = params[0]
                if p.get("type") != "payload" or not isinstance(p.get("payload"), str):
                    raise GraphError(132012, f"buttons: quick_reply button at index {idx} "
                                             "parameter must be {type: payload, payload}")
                payload = p["payload"]
            shown["payload"] = payload if payload is not None else btn.get("text")
        elif btype == "PHONE_NUMBER":
            shown["phone_number"] = btn.get("phone_number")
        out.buttons.append(shown)


def category_of(tpl: Template | None) -> str:
    if tpl is None:
        return "service"
    return tpl.category.lower()
