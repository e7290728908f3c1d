"""The simulator: configuration, state holder and the behaviour behind the routes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import rules, samples
from .errors import GraphError, invalid_param, missing_param, webhook_error
from .seed import DEMO_PNID, DEMO_WABA, build_seed_state
from .state import ChatMessage, Customer, Media, PendingCode, PhoneNumber, SimState
from .webhooks import (
    Dispatcher,
    Sender,
    messages_envelope,
    statuses_envelope,
    template_status_envelope,
)

log = logging.getLogger("ctreflex.simulator")

STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3}
CODE_TTL = 600.0  # verification codes expire after 10 minutes
REGISTER_WINDOW = 72 * 3600
REGISTER_LIMIT = 10
MEDIA_URL_TTL = 300


@dataclass
class SimulatorConfig:
    """Knobs of the simulator. Defaults suit a developer machine."""

    webhook_url: str | None = "http://127.0.0.1:3000/webhooks/whatsapp"
    app_secret: str = "sim-app-secret"
    verify_token: str = "sim-verify-token"
    access_tokens: dict[str, str] | list[str] | None = None  # token -> WABA id (or a list)
    public_base_url: str | None = None  # e.g. http://127.0.0.1:3000/simulator
    state_path: str | None = None
    seed: bool = True
    sent_delay: float = 0.3  # accepted -> "sent" status
    auto_deliver: float | None = 1.0  # seconds until "delivered" (None = never)
    auto_read: float | None = None  # seconds until "read" (None = only when the customer reads)
    retry_schedule: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
    give_up_after: float = 7 * 24 * 3600.0
    throughput_mps: int = 80
    include_conversation: bool = True
    webhook_timeout: float = 10.0
    webhook_sender: Sender | None = field(default=None, repr=False)  # tests: custom transport
    link_fetch_timeout: float = 5.0


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.state = self._initial_state()
        self._send_times: dict[str, deque[float]] = {}
        self._dirty = False
        self._save_scheduled = False
        self._resumed = False
        self.dispatcher = Dispatcher(
            lambda: self.state,
            webhook_url=config.webhook_url,
            app_secret=config.app_secret,
            retry_schedule=config.retry_schedule,
            give_up_after=config.give_up_after,
            timeout=config.webhook_timeout,
            sender=config.webhook_sender,
            on_change=self.mark_dirty,
        )
        from .app import build_app  # local import: app imports this module

        self.app = build_app(self)

    # ---- lifecycle -----------------------------------------------------------------------
    def _initial_state(self) -> SimState:
        if self.config.state_path:
            loaded = SimState.load(self.config.state_path)
            if loaded is not None:
                self._apply_tokens(loaded)
                return loaded
        return self._fresh_state()

    def _fresh_state(self) -> SimState:
        state = build_seed_state() if self.config.seed else SimState()
        self._apply_tokens(state)
        return state

    def _apply_tokens(self, state: SimState) -> None:
        toks = self.config.access_tokens
        if not toks:
            return
        mapping = {t: DEMO_WABA for t in toks} if isinstance(toks, list | tuple) else dict(toks)
        for token, waba_id in mapping.items():
            waba = state.wabas.get(waba_id)
            if waba is not None and token not in waba.tokens:
                waba.tokens.append(token)

    async def start(self) -> None:
        if self.dispatcher.running:
            return
        await self.dispatcher.start()
        if not self._resumed:
            self._resumed = True
            self._resume_flows()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        self.save_now()

    def mark_dirty(self) -> None:
        if not self.config.state_path:
            return
        self._dirty = True
        if not self._save_scheduled:
            self._save_scheduled = True
            self.dispatcher.call_later(0.5, self._save_tick)

    def _save_tick(self) -> None:
        self._save_scheduled = False
        self.save_now()

    def save_now(self) -> None:
        if self.config.state_path and self._dirty:
            try:
                self.state.save(self.config.state_path)
                self._dirty = False
            except OSError:
                log.exception("could not save simulator state")

    def reset(self) -> None:
        self.dispatcher.clear_timers()
        self._save_scheduled = False
        self.state = self._fresh_state()
        self._send_times.clear()
        self._dirty = True
        self.mark_dirty()

    def now(self) -> float:
        return self.state.now()

    # ---- ids -----------------------------------------------------------------------------
    def new_wamid(self, wa_id: str) -> str:
        raw = b"\x15\x02\x00\x11\x18\x12" + f"{wa_id}:{uuid.uuid4().hex.upper()}".encode()
        return "wamid." + base64.b64encode(raw).decode()

    # ---- auth ----------------------------------------------------------------------------
    def waba_for_token(self, token: str | None) -> str:
        if not token:
            raise GraphError(190, "An active access token must be used to query information.")
        waba = self.state.tokens().get(token)
        if waba is None:
            raise GraphError(190, "The access token could not be decrypted or is not valid.")
        return waba

    def phone_for(self, waba_id: str, pnid: str, method: str = "post") -> PhoneNumber:
        pn = self.state.phone_numbers.get(pnid)
        if pn is None or pn.waba_id != waba_id:
            from .errors import unknown_object

            raise unknown_object(pnid, method)
        return pn

    # ---- sending -------------------------------------------------------------------------
    def check_throughput(self, pn: PhoneNumber) -> None:
        now = time.monotonic()
        times = self._send_times.setdefault(pn.id, deque())
        while times and now - times[0] > 1.0:
            times.popleft()
        limit = self.config.throughput_mps if pn.throughput_level == "STANDARD" else 1000
        if len(times) >= limit:
            raise GraphError(130429, "Message throughput limit for this phone number has been "
                                     "reached.")
        times.append(now)

    def forced_error(self, scope: str) -> tuple[int, bool] | None:
        f = self.state.faults
        if f.force_error_code is None:
            return None
        if f.force_error_scope != "all" and scope != f.force_error_scope:
            return None
        code, is_async = f.force_error_code, f.force_error_async
        if f.force_error_count is not None:
            f.force_error_count -= 1
            if f.force_error_count <= 0:
                f.force_error_code = None
                f.force_error_count = None
        self.mark_dirty()
        return code, is_async

    def hang_after_accept(self, answer: dict[str, Any]) -> float:
        """Seconds to hold the answer of an accepted send (fault ``hang_after_accept_ms``)."""
        f = self.state.faults
        if not f.hang_after_accept_ms or "messages" not in answer:
            return 0.0
        seconds = f.hang_after_accept_ms / 1000
        if f.hang_after_accept_count is not None:
            f.hang_after_accept_count -= 1
            if f.hang_after_accept_count <= 0:
                f.hang_after_accept_ms = 0
                f.hang_after_accept_count = None
        self.mark_dirty()
        return seconds

    def send(self, pn: PhoneNumber, body: Any) -> dict[str, Any]:
        """``POST /{PNID}/messages``. Raises :class:`GraphError` for synchronous errors."""
        if not isinstance(body, dict):
            raise invalid_param("body", "The request body must be a JSON object.")
        if body.get("status") == "read" or "typing_indicator" in body and "message_id" in body:
            return self._business_read(pn, body)
        if "messaging_product" not in body:
            raise missing_param("messaging_product")
        if body.get("messaging_product") != "whatsapp":
            raise invalid_param("messaging_product",
                                "Param messaging_product must be 'whatsapp'.")
        if not pn.registered:
            raise GraphError(133010, f"Phone number {pn.display_phone_number} is not registered "
                                     "on the WhatsApp Business Platform.")
        self.check_throughput(pn)
        forced = self.forced_error("messages")
        if forced and not forced[1]:
            raise GraphError(forced[0], "Error forced by the simulator's fault settings.")
        faults = self.state.faults
        if faults.error_rate and random.random() < faults.error_rate:
            raise GraphError(131000, "Random failure injected by the simulator (error_rate).")
        rtype = body.get("recipient_type", "individual")
        if rtype != "individual":
            raise invalid_param("recipient_type",
                                "Param recipient_type must be 'individual'.")
        if "to" not in body:
            raise missing_param("to")
        to_raw = body["to"]
        wa_id = rules.normalise_to(to_raw)
        if wa_id == pn.digits:
            raise GraphError(131021, "The recipient is the sender's own number.")
        mtype = body.get("type", "text")
        if mtype not in rules.SEND_TYPES:
            raise invalid_param(
                "type",
                "Param type must be one of {" + ", ".join(t.upper() for t in rules.SEND_TYPES)
                + "} - got \"" + str(mtype) + '"',
            )
        obj = body.get(mtype)
        async_error: tuple[int, str] | None = None
        rendered: rules.RenderedTemplate | None = None
        media_id: str | None = None
        link: str | None = None
        link_kind: str | None = None
        if mtype == "text":
            if not isinstance(obj, dict) or "body" not in obj:
                raise missing_param("text['body']")
            text = obj["body"]
            if not isinstance(text, str) or not text.strip():
                raise invalid_param("text['body']", "Param text['body'] must be a non-empty "
                                                    "string.")
            if len(text) > rules.MAX_TEXT:
                raise invalid_param(
                    "text['body']",
                    f"Param text['body'] must be at most {rules.MAX_TEXT} characters long "
                    f"(got {len(text)}).",
                )
            if "preview_url" in obj and not isinstance(obj["preview_url"], bool):
                raise invalid_param("text['preview_url']",
                                    "Param text['preview_url'] must be a boolean.")
        elif mtype in rules.MEDIA_TYPES:
            if not isinstance(obj, dict):
                raise missing_param(mtype)
            has_id, has_link = bool(obj.get("id")), bool(obj.get("link"))
            if has_id == has_link:
                raise invalid_param(
                    mtype, f"Param {mtype} must contain exactly one of {mtype}['id'] or "
                           f"{mtype}['link'].")
            caption = obj.get("caption")
            if caption is not None:
                if mtype not in ("image", "video", "document"):
                    raise invalid_param(f"{mtype}['caption']",
                                        f"Param {mtype}['caption'] is not supported for {mtype}.")
                if not isinstance(caption, str) or len(caption) > rules.MAX_CAPTION:
                    raise invalid_param(f"{mtype}['caption']",
                                        f"Param {mtype}['caption'] must be a string of at most "
                                        f"{rules.MAX_CAPTION} characters.")
            if has_id:
                mid = str(obj["id"])
                media = self.state.media.get(mid)
                if media is None or media.deleted or media.waba_id != pn.waba_id:
                    raise GraphError(131009, f"Invalid media id {mid}: it does not exist or "
                                             "was deleted.")
                media_id = mid
                problem = rules.media_problem(mtype, media)
                if problem:
                    async_error = (131053, problem)
            else:
                link = obj["link"]
                if not isinstance(link, str) or not re.match(r"^https?://", link):
                    raise invalid_param(f"{mtype}['link']",
                                        f"Param {mtype}['link'] must be an http(s) URL.")
                link_kind = mtype
        elif mtype == "reaction":
            if not isinstance(obj, dict) or not obj.get("message_id"):
                raise missing_param("reaction['message_id']")
            if "emoji" not in obj or not isinstance(obj["emoji"], str):
                raise missing_param("reaction['emoji']")
        elif mtype == "location":
            if not isinstance(obj, dict):
                raise missing_param("location")
            for key in ("latitude", "longitude"):
                try:
                    float(obj[key])
                except (KeyError, TypeError, ValueError):
                    raise missing_param(f"location['{key}']") from None
        elif mtype == "contacts":
            if not isinstance(obj, list) or not obj:
                raise missing_param("contacts")
        elif mtype == "interactive":
            if not isinstance(obj, dict) or "type" not in obj:
                raise missing_param("interactive['type']")
            if "action" not in obj:
                raise missing_param("interactive['action']")
        elif mtype == "template":
            rendered = rules.validate_template(self.state, pn.waba_id, obj)
            if rendered.header_media_id:
                media = self.state.media[rendered.header_media_id]
                problem = rules.media_problem(rendered.header_kind or "image", media)
                if problem:
                    async_error = (131053, f"header: {problem}")
            elif rendered.header_link:
                link, link_kind = rendered.header_link, rendered.header_kind
        ctx = body.get("context")
        if ctx is not None and (not isinstance(ctx, dict) or not ctx.get("message_id")):
            raise missing_param("context['message_id']")

        # ---- accepted: from here on problems are asynchronous ----
        now = self.now()
        chat = self.state.chat(pn.id, wa_id)
        in_window = rules.window_open(chat, now)
        category = rules.category_of(rendered.template if rendered else None)
        if forced:
            async_error = (forced[0], "Error forced by the simulator's fault settings.")
        elif mtype != "template" and not in_window:
            async_error = (131047, "Message failed to send because more than 24 hours have "
                                   "passed since the customer last replied to this number.")
        elif category == "marketing" and rules.is_us_number(wa_id):
            async_error = (131049, "This message was not delivered to maintain healthy "
                                   "ecosystem engagement (marketing templates to US numbers "
                                   "are paused).")
        elif (mtype == "template" and not in_window and rules.over_messaging_limit(
                self.state, pn.id, pn.messaging_limit_tier, wa_id, now)):
            async_error = rules.TIER_ERROR  # a new customer beyond the tier fails later
        if wa_id not in self.state.customers:
            self.state.customers[wa_id] = Customer(wa_id=wa_id, profile_name="")
        wamid = self.new_wamid(wa_id)
        msg = ChatMessage(
            wamid=wamid, pnid=pn.id, wa_id=wa_id, direction="out", type=mtype,
            payload=body, timestamp=int(now), status="accepted", media_id=media_id,
            rendered=rendered.as_dict() if rendered else None,
        )
        if rendered and rendered.header_media_id:
            msg.media_id = rendered.header_media_id
        if async_error is None:
            msg.pricing = rules.pricing_for(category, in_window)
            msg.conversation_id = self._conversation_id(pn.id, wa_id, category, now)
        self.state.messages.append(msg)
        self.mark_dirty()
        self._schedule_flow(msg, async_error, link, link_kind)
        resp_msg: dict[str, Any] = {"id": wamid}
        if mtype == "template":
            resp_msg["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": str(to_raw), "wa_id": wa_id}],
            "messages": [resp_msg],
        }

    def _conversation_id(self, pnid: str, wa_id: str, category: str, now: float) -> str:
        chat = self.state.chat(pnid, wa_id)
        if not chat.conversation_id or (chat.conversation_expires_at or 0) <= now:
            chat.conversation_id = hashlib.md5(  # noqa: S324 - an id, not security
                f"{pnid}:{wa_id}:{category}:{now}".encode()).hexdigest()
            chat.conversation_expires_at = int(now) + rules.WINDOW_SECONDS
        return chat.conversation_id

    def _business_read(self, pn: PhoneNumber, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("messaging_product") != "whatsapp":
            raise missing_param("messaging_product")
        mid = body.get("message_id")
        if not isinstance(mid, str) or not mid:
            raise missing_param("message_id")
        target = self.state.message(mid)
        if target is None or target.pnid != pn.id or target.direction != "in":
            raise invalid_param("message_id", f"Invalid message_id {mid}: no such incoming "
                                              "message for this phone number.")
        for m in self.state.messages:
            if (m.pnid == pn.id and m.wa_id == target.wa_id and m.direction == "in"
                    and m.timestamp <= target.timestamp):
                m.read_by_business = True
        target.read_by_business = True
        self.mark_dirty()
        return {"success": True}

    # ---- status flow ---------------------------------------------------------------------
    def _schedule_flow(self, msg: ChatMessage, async_error: tuple[int, str] | None,
                       link: str | None, link_kind: str | None) -> None:
        cfg = self.config
        if async_error:
            code, details = async_error
            self.dispatcher.call_later(cfg.sent_delay, lambda: self.emit_failed(msg, code,
                                                                                 details))
            return
        if link:
            async def fetch_then_flow() -> None:
                problem = await self._fetch_link(msg, link, link_kind or "image")
                if problem:
                    self.emit_failed(msg, 131053, problem)
                else:
                    self._normal_flow(msg, 0.0)

            self.dispatcher.call_later(cfg.sent_delay, fetch_then_flow)
            return
        self._normal_flow(msg, cfg.sent_delay)

    def _normal_flow(self, msg: ChatMessage, first_delay: float) -> None:
        cfg = self.config
        self.dispatcher.call_later(first_delay, lambda: self.emit_status(msg, "sent"))
        if cfg.auto_deliver is not None and not self.state.faults.skip_delivered:
            self.dispatcher.call_later(first_delay + max(cfg.auto_deliver, 0.001),
                                       lambda: self.emit_status(msg, "delivered"))
        if cfg.auto_read is not None:
            delay = first_delay + max(cfg.auto_read, (cfg.auto_deliver or 0) + 0.001)

            def auto_read() -> None:
                cust = self.state.customers.get(msg.wa_id)
                if cust is None or cust.read_receipts:
                    self.emit_status(msg, "read")

            self.dispatcher.call_later(delay, auto_read)

    async def _fetch_link(self, msg: ChatMessage, link: str, kind: str) -> str | None:
        try:
            async with httpx.AsyncClient(timeout=self.config.link_fetch_timeout,
                                         follow_redirects=True) as client:
                resp = await client.get(link)
        except Exception as exc:  # noqa: BLE001
            return f"Downloading media from weblink failed: {type(exc).__name__}"
        if resp.status_code != 200:
            return f"Downloading media from weblink failed with http code {resp.status_code}"
        data = resp.content
        mime = rules.base_mime(resp.headers.get("content-type", "")) or rules.sniff_mime(
            data) or "application/octet-stream"
        if mime == "application/octet-stream":
            mime = rules.sniff_mime(data) or mime
        pn = self.state.phone_numbers[msg.pnid]
        media = self._store_media(pn, data, mime, origin="link")
        msg.media_id = media.id
        return rules.media_problem(kind, media)

    def _status_object(self, msg: ChatMessage, status: str) -> dict[str, Any]:
        ts = int(self.now())
        obj: dict[str, Any] = {"id": msg.wamid, "status": status, "timestamp": str(ts),
                               "recipient_id": msg.wa_id}
        biz = msg.payload.get("biz_opaque_callback_data")
        if isinstance(biz, str):
            obj["biz_opaque_callback_data"] = biz
        if status != "failed" and msg.pricing:
            if self.config.include_conversation and msg.conversation_id:
                conv: dict[str, Any] = {"id": msg.conversation_id}
                chat = self.state.chat(msg.pnid, msg.wa_id)
                if status == "sent" and chat.conversation_expires_at:
                    conv["expiration_timestamp"] = str(chat.conversation_expires_at)
                conv["origin"] = {"type": msg.pricing["category"]}
                obj["conversation"] = conv
            obj["pricing"] = dict(msg.pricing)
        if status == "failed":
            obj["errors"] = msg.errors
        return obj

    def emit_status(self, msg: ChatMessage, status: str) -> bool:
        if msg.status == "failed":
            return False
        if STATUS_RANK.get(status, 0) <= STATUS_RANK.get(msg.status, 0):
            return False
        msg.status = status
        msg.status_times[status] = int(self.now())
        pn = self.state.phone_numbers.get(msg.pnid)
        if pn is None:
            return False
        payload = statuses_envelope(pn, [self._status_object(msg, status)])
        self.dispatcher.enqueue("statuses", payload, f"status {status} {msg.wamid[:24]}…")
        self.mark_dirty()
        return True

    def emit_failed(self, msg: ChatMessage, code: int, details: str) -> None:
        if msg.status == "failed":
            return
        msg.status = "failed"
        msg.status_times["failed"] = int(self.now())
        msg.errors = [webhook_error(code, details)]
        msg.pricing = None
        pn = self.state.phone_numbers.get(msg.pnid)
        if pn is None:
            return
        payload = statuses_envelope(pn, [self._status_object(msg, "failed")])
        self.dispatcher.enqueue("statuses", payload, f"status failed {code} {msg.wamid[:24]}…")
        self.mark_dirty()

    def _resume_flows(self) -> None:
        """After a restart from ``state_path``: finish flows whose timers were lost."""
        for msg in self.state.messages:
            if msg.direction == "out" and msg.status in ("accepted", "sent"):
                self._normal_flow(msg, 0.1)

    # ---- customer side -------------------------------------------------------------------
    def customer_reads(self, wa_id: str, pnid: str | None = None,
                       message_id: str | None = None) -> list[str]:
        cust = self.state.customers.get(wa_id)
        receipts = cust.read_receipts if cust else True
        read: list[str] = []
        for msg in self.state.messages:
            if msg.direction != "out" or msg.wa_id != wa_id:
                continue
            if pnid and msg.pnid != pnid:
                continue
            if message_id and msg.wamid != message_id:
                continue
            if msg.status not in ("sent", "delivered"):
                continue
            if receipts:
                if self.emit_status(msg, "read"):
                    read.append(msg.wamid)
            else:
                msg.status_times["read_hidden"] = int(self.now())
                read.append(msg.wamid)
        self.mark_dirty()
        return read

    def _store_media(self, pn: PhoneNumber, data: bytes, mime: str, origin: str,
                     filename: str | None = None) -> Media:
        mid = self.state.next_id("9")
        media = Media(
            id=mid, waba_id=pn.waba_id, pnid=pn.id, mime_type=mime,
            sha256=hashlib.sha256(data).hexdigest(), file_size=len(data), data=data,
            filename=filename, origin=origin, created_at=self.now(),
        )
        self.state.media[mid] = media
        self.mark_dirty()
        return media

    def upload_media(self, pn: PhoneNumber, data: bytes, mime: str,
                     filename: str | None) -> Media:
        mime = rules.check_upload(data, mime)
        return self._store_media(pn, data, mime, "upload", filename)

    def media_url(self, media: Media, fallback_base: str = "") -> str:
        base = (self.config.public_base_url or fallback_base).rstrip("/")
        ext = int(time.time()) + MEDIA_URL_TTL
        sig = self.media_hash(media.id, ext)
        return f"{base}/whatsapp_business/attachments/?mid={media.id}&ext={ext}&hash={sig}"

    def media_hash(self, mid: str, ext: int) -> str:
        return hmac.new(self.config.app_secret.encode(), f"{mid}:{ext}".encode(),
                        hashlib.sha256).hexdigest()[:32]

    def customer_message(self, wa_id: str, req: dict[str, Any]) -> dict[str, Any]:
        """Simulate the customer sending a message to a business number (control API)."""
        wa_id = rules.normalise_to(wa_id)
        pnid = str(req.get("phone_number_id") or DEMO_PNID)
        pn = self.state.phone_numbers.get(pnid)
        if pn is None:
            raise invalid_param("phone_number_id", f"Unknown phone_number_id {pnid}")
        cust = self.state.customers.get(wa_id)
        name = req.get("profile_name")
        if cust is None:
            cust = Customer(wa_id=wa_id, profile_name=str(name or f"Customer {wa_id[-4:]}"))
            self.state.customers[wa_id] = cust
        elif name:
            cust.profile_name = str(name)
        elif not cust.profile_name:
            cust.profile_name = f"Customer {wa_id[-4:]}"
        mtype = str(req.get("type") or "text")
        ts_raw = req.get("timestamp")
        try:
            ts = int(float(ts_raw)) if ts_raw is not None else int(self.now())
        except (TypeError, ValueError):
            raise invalid_param("timestamp", "timestamp must be epoch seconds") from None
        wamid = self.new_wamid(wa_id)
        message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(ts)}
        media_id: str | None = None
        chat_msgs = [m for m in self.state.messages if m.pnid == pnid and m.wa_id == wa_id]
        if mtype == "text":
            text = req.get("text")
            if not isinstance(text, str) or not text:
                raise missing_param("text")
            message["type"] = "text"
            message["text"] = {"body": text}
        elif mtype in ("image", "video", "document", "audio", "voice", "sticker"):
            kind = "audio" if mtype == "voice" else mtype
            data, mime, filename = self._sample_or_given(mtype, req)
            media = self._store_media(pn, data, mime, "inbound", filename)
            media_id = media.id
            obj: dict[str, Any] = {"mime_type": mime, "sha256": _b64_sha256(data),
                                   "id": media.id}
            if req.get("caption") and kind in ("image", "video", "document"):
                obj["caption"] = str(req["caption"])
            if kind == "document":
                obj["filename"] = filename or "document.pdf"
            if kind == "audio":
                obj["voice"] = mtype == "voice" or bool(req.get("voice"))
            if kind == "sticker":
                obj["animated"] = bool(req.get("animated"))
            message["type"] = kind
            message[kind] = obj
        elif mtype == "location":
            try:
                loc = {"latitude": float(req["latitude"]), "longitude": float(req["longitude"])}
            except (KeyError, TypeError, ValueError):
                raise missing_param("latitude/longitude") from None
            for key in ("name", "address", "url"):
                if req.get(key):
                    loc[key] = str(req[key])
            message["type"] = "location"
            message["location"] = loc
        elif mtype == "reaction":
            target = req.get("reaction_to") or req.get("reply_to")
            if not target:
                outs = [m for m in chat_msgs if m.direction == "out"]
                if not outs:
                    raise missing_param("reaction_to")
                target = outs[-1].wamid
            message["type"] = "reaction"
            message["reaction"] = {"message_id": str(target), "emoji": str(req.get("emoji",
                                                                                    "👍"))}
        elif mtype == "button":
            tpl_msg = self._template_msg(chat_msgs, req.get("reply_to"))
            text = req.get("button_text")
            payload = req.get("payload")
            if tpl_msg is not None and tpl_msg.rendered:
                qrs = [b for b in tpl_msg.rendered.get("buttons", [])
                       if b.get("type") == "QUICK_REPLY"]
                if not text and qrs:
                    text = qrs[0]["text"]
                if payload is None:
                    match = next((b for b in qrs if b.get("text") == text), None)
                    payload = match.get("payload") if match else None
            if not text:
                raise missing_param("button_text")
            message["type"] = "button"
            message["button"] = {"payload": str(payload if payload is not None else text),
                                 "text": str(text)}
            if tpl_msg is not None and not req.get("reply_to"):
                req = {**req, "reply_to": tpl_msg.wamid}
        elif mtype == "interactive":
            if isinstance(req.get("interactive"), dict):
                message["interactive"] = req["interactive"]
            else:
                title = str(req.get("button_text") or "Yes")
                reply_id = str(req.get("payload") or re.sub(r"\W+", "_", title.lower()))
                if req.get("list_reply"):
                    message["interactive"] = {"type": "list_reply", "list_reply": {
                        "id": reply_id, "title": title}}
                else:
                    message["interactive"] = {"type": "button_reply", "button_reply": {
                        "id": reply_id, "title": title}}
            message["type"] = "interactive"
        elif mtype == "contacts":
            cname = str(req.get("contact_name") or "Sam Baker")
            cphone = str(req.get("contact_phone") or "+15550100188")
            first, _, last = cname.partition(" ")
            message["type"] = "contacts"
            message["contacts"] = [{
                "name": {"formatted_name": cname, "first_name": first,
                         **({"last_name": last} if last else {})},
                "phones": [{"phone": cphone, "wa_id": re.sub(r"\D", "", cphone),
                            "type": "CELL"}],
            }]
        elif mtype == "order":
            message["type"] = "order"
            message["order"] = {
                "catalog_id": "400000000000001",
                "text": str(req.get("text") or "Please prepare this for pickup"),
                "product_items": req.get("product_items") or [
                    {"product_retailer_id": "croissant-01", "quantity": 6,
                     "item_price": 2.5, "currency": "USD"}],
            }
        elif mtype == "system":
            new_wa = str(req.get("new_wa_id") or "")
            message["type"] = "system"
            message["system"] = {
                "body": str(req.get("text") or "User changed number"),
                "type": str(req.get("system_type") or "user_changed_number"),
                **({"wa_id": new_wa} if new_wa else {}),
            }
        elif mtype == "unsupported":
            message["type"] = "unsupported"
            message["errors"] = [{
                "code": 131051, "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "This message type is not supported at the moment."},
            }]
            message["unsupported"] = {"type": str(req.get("unsupported_type") or "poll")}
        else:
            raise invalid_param("type", f"Unsupported simulated message type {mtype!r}")
        reply_to = req.get("reply_to")
        if reply_to and mtype != "reaction":
            message["context"] = {"from": pn.digits, "id": str(reply_to)}
        if req.get("forwarded"):
            message.setdefault("context", {})["forwarded"] = True
        if isinstance(req.get("referral"), dict):
            message["referral"] = req["referral"]
        if isinstance(req.get("raw"), dict):
            message.update(req["raw"])
        # order the keys like Meta: context, from, id, timestamp, type, <type>
        ordered = {k: message[k] for k in ("context", "from", "id", "timestamp", "type")
                   if k in message}
        ordered.update({k: v for k, v in message.items() if k not in ordered})
        self.state.messages.append(ChatMessage(
            wamid=wamid, pnid=pnid, wa_id=wa_id, direction="in", type=ordered["type"],
            payload=ordered, timestamp=ts, status="received", media_id=media_id,
        ))
        if ordered["type"] != "system":
            self.state.chat(pnid, wa_id).last_inbound_at = ts
        payload = messages_envelope(
            pn, [{"profile": {"name": cust.profile_name}, "wa_id": wa_id}], [ordered])
        self.dispatcher.enqueue("messages", payload, f"message {ordered['type']} from {wa_id}")
        self.mark_dirty()
        out = {"wamid": wamid, "timestamp": str(ts), "phone_number_id": pnid}
        if media_id:
            out["media_id"] = media_id
        return out

    def _template_msg(self, chat_msgs: list[ChatMessage], reply_to: Any) -> ChatMessage | None:
        if reply_to:
            return next((m for m in chat_msgs if m.wamid == reply_to), None)
        tpls = [m for m in chat_msgs if m.direction == "out" and m.type == "template"]
        return tpls[-1] if tpls else None

    def _sample_or_given(self, mtype: str, req: dict[str, Any]) -> tuple[bytes, str, str | None]:
        filename = req.get("filename")
        if req.get("media_base64"):
            try:
                data = base64.b64decode(str(req["media_base64"]), validate=False)
            except ValueError:
                raise invalid_param("media_base64", "media_base64 is not valid base64") from None
            mime = req.get("mime_type") or rules.sniff_mime(data) or "application/octet-stream"
            return data, str(mime), filename
        data, mime, default_name = samples.sample_for(mtype)
        if req.get("mime_type"):
            mime = str(req["mime_type"])
        return data, mime, filename or default_name

    # ---- templates -----------------------------------------------------------------------
    def set_template_status(self, template_id: str, status: str,
                            reason: str | None) -> dict[str, Any]:
        tpl = self.state.templates.get(template_id)
        if tpl is None:
            raise invalid_param("template_id", f"Unknown template {template_id}")
        status = status.upper()
        tpl.status = status
        if status == "REJECTED":
            tpl.rejected_reason = reason or "INVALID_FORMAT"
        elif status == "APPROVED":
            tpl.rejected_reason = "NONE"
        value: dict[str, Any] = {
            "event": status,
            "message_template_id": int(tpl.id),
            "message_template_name": tpl.name,
            "message_template_language": tpl.language,
            "reason": reason or ("NONE" if status != "REJECTED" else tpl.rejected_reason),
        }
        if status == "PAUSED":
            value["other_info"] = {
                "title": "FIRST_PAUSE",
                "description": "Your WhatsApp message template has been paused for 3 hours "
                               "until 1:00 AM UTC because it had issues.",
            }
        self.dispatcher.enqueue("message_template_status_update",
                                template_status_envelope(tpl.waba_id, value),
                                f"template {tpl.name}/{tpl.language} -> {status}")
        self.mark_dirty()
        return value

    # ---- numbers -------------------------------------------------------------------------
    def create_number(self, waba_id: str, params: dict[str, Any]) -> dict[str, str]:
        cc = str(params.get("cc") or params.get("country_code") or "").lstrip("+")
        number = re.sub(r"\D", "", str(params.get("phone_number") or ""))
        name = params.get("verified_name")
        if not cc:
            raise missing_param("cc")
        if not number:
            raise missing_param("phone_number")
        if not name:
            raise missing_param("verified_name")
        if number.startswith(cc) and len(number) > 10:
            number = number[len(cc):]
        for pn in self.state.phone_numbers.values():
            if pn.digits == cc + number:
                if pn.waba_id == waba_id:
                    return {"id": pn.id}
                raise GraphError(100, f"The phone number +{cc}{number} is already in use by "
                                      "another WhatsApp Business Account.")
        try:
            import phonenumbers

            parsed = phonenumbers.parse(f"+{cc}{number}")
            display = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except Exception:  # noqa: BLE001
            display = f"+{cc} {number}"
        pnid = self.state.next_id("2")
        self.state.phone_numbers[pnid] = PhoneNumber(
            id=pnid, waba_id=waba_id, cc=cc, number=number, display_phone_number=display,
            verified_name=str(name),
        )
        self.mark_dirty()
        return {"id": pnid}

    def request_code(self, pn: PhoneNumber, params: dict[str, Any]) -> dict[str, bool]:
        method = params.get("code_method")
        if not method:
            raise missing_param("code_method")
        if str(method).upper() not in ("SMS", "VOICE"):
            raise invalid_param("code_method", "Param code_method must be one of {SMS, VOICE}")
        language = params.get("language")
        if not language:
            raise missing_param("language")
        now = self.now()
        pn.code_requests = [t for t in pn.code_requests if now - t < 3600]
        if len(pn.code_requests) >= 5:
            raise GraphError(136024, "Too many verification code requests for this number. "
                                     "Try again later.")
        pn.code_requests.append(now)
        code = f"{secrets.randbelow(1_000_000):06d}"
        pn.pending_code = PendingCode(code=code, expires_at=now + CODE_TTL,
                                      method=str(method).upper(), language=str(language))
        self.mark_dirty()
        return {"success": True}

    def verify_code(self, pn: PhoneNumber, params: dict[str, Any]) -> dict[str, bool]:
        code = params.get("code")
        if code is None or str(code) == "":
            raise missing_param("code")
        pending = pn.pending_code
        if pending is None:
            raise GraphError(136025, "No verification code was requested for this number. "
                                     "Call request_code first.")
        if self.now() > pending.expires_at:
            raise GraphError(136025, "The verification code has expired. Request a new code.")
        if not hmac.compare_digest(str(code).strip(), pending.code):
            raise GraphError(136025, "Code couldn't be verified. You have either entered the "
                                     "wrong code or waited too long to enter the code.")
        pn.pending_code = None
        pn.code_verification_status = "VERIFIED"
        self.mark_dirty()
        return {"success": True}

    def _register_attempt(self, pn: PhoneNumber) -> None:
        now = self.now()
        pn.register_attempts = [t for t in pn.register_attempts if now - t < REGISTER_WINDOW]
        if len(pn.register_attempts) >= REGISTER_LIMIT:
            raise GraphError(133016, "Too many register/deregister requests for this number "
                                     "(10 in 72 hours). Try again later.")
        pn.register_attempts.append(now)

    def register(self, pn: PhoneNumber, params: dict[str, Any]) -> dict[str, bool]:
        if "messaging_product" not in params:
            raise missing_param("messaging_product")
        if params.get("messaging_product") != "whatsapp":
            raise invalid_param("messaging_product", "Param messaging_product must be "
                                                     "'whatsapp'.")
        pin = params.get("pin")
        if pin is None:
            raise missing_param("pin")
        pin = str(pin)
        if not re.fullmatch(r"\d{6}", pin):
            raise invalid_param("pin", "Param pin must be 6 digits.")
        self._register_attempt(pn)
        self.mark_dirty()
        if pn.code_verification_status != "VERIFIED":
            raise GraphError(133006, "The phone number must be verified (request_code + "
                                     "verify_code) before it can be registered.")
        if pn.pin is not None and pn.pin != pin:
            raise GraphError(133005, "The two-step verification PIN is incorrect.")
        pn.pin = pin
        pn.registered = True
        pn.status = "CONNECTED"
        pn.platform_type = "CLOUD_API"
        if pn.quality_rating == "UNKNOWN":
            pn.quality_rating = "GREEN"
        if pn.messaging_limit_tier is None:
            pn.messaging_limit_tier = "TIER_250"
        if params.get("data_localization_region"):
            pn.data_localization_region = str(params["data_localization_region"])
        return {"success": True}

    def deregister(self, pn: PhoneNumber) -> dict[str, bool]:
        self._register_attempt(pn)
        pn.registered = False
        pn.status = "DISCONNECTED"
        pn.platform_type = "NOT_APPLICABLE"
        self.mark_dirty()
        return {"success": True}


def create_simulator(config: SimulatorConfig | None = None) -> Simulator:
    return Simulator(config or SimulatorConfig())

