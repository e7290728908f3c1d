"""Business sends: ``POST /{PNID}/messages`` validation and each message's status flow."""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections import deque
from typing import Any

import httpx

from . import rules
from .base import SimulatorBase
from .errors import GraphError, invalid_param, missing_param, webhook_error
from .state import ChatMessage, Customer, PhoneNumber, Side, SimStatus
from .webhooks import statuses_envelope

#: The simulator's outbound message statuses in the order they happen (a status is never sent
#: twice or out of order; FAILED is terminal and handled apart).
DELIVERY_ORDER = {
    SimStatus.ACCEPTED: 0,
    SimStatus.SENT: 1,
    SimStatus.DELIVERED: 2,
    SimStatus.READ: 3,
}


class SendingMixin(SimulatorBase):
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
            if rules.chars(text) > rules.MAX_TEXT:
                raise invalid_param(
                    "text['body']",
                    f"Param text['body'] must be at most {rules.MAX_TEXT} characters long "
                    f"(got {rules.chars(text)}).",
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
                if not isinstance(caption, str) or rules.chars(caption) > rules.MAX_CAPTION:
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
            wamid=wamid, pnid=pn.id, wa_id=wa_id, direction=Side.OUT, type=mtype,
            payload=body, timestamp=int(now), status=SimStatus.ACCEPTED, media_id=media_id,
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
            resp_msg["message_status"] = SimStatus.ACCEPTED
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
        if target is None or target.pnid != pn.id or target.direction != Side.IN:
            raise invalid_param("message_id", f"Invalid message_id {mid}: no such incoming "
                                              "message for this phone number.")
        for m in self.state.messages:
            if (m.pnid == pn.id and m.wa_id == target.wa_id and m.direction == Side.IN
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
        self.dispatcher.call_later(first_delay, lambda: self.emit_status(msg, SimStatus.SENT))
        if cfg.auto_deliver is not None and not self.state.faults.skip_delivered:
            self.dispatcher.call_later(first_delay + max(cfg.auto_deliver, 0.001),
                                       lambda: self.emit_status(msg, SimStatus.DELIVERED))
        if cfg.auto_read is not None:
            delay = first_delay + max(cfg.auto_read, (cfg.auto_deliver or 0) + 0.001)

            def auto_read() -> None:
                cust = self.state.customers.get(msg.wa_id)
                if cust is None or cust.read_receipts:
                    self.emit_status(msg, SimStatus.READ)

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
        if status != SimStatus.FAILED and msg.pricing:
            if self.config.include_conversation and msg.conversation_id:
                conv: dict[str, Any] = {"id": msg.conversation_id}
                chat = self.state.chat(msg.pnid, msg.wa_id)
                if status == SimStatus.SENT and chat.conversation_expires_at:
                    conv["expiration_timestamp"] = str(chat.conversation_expires_at)
                conv["origin"] = {"type": msg.pricing["category"]}
                obj["conversation"] = conv
            obj["pricing"] = dict(msg.pricing)
        if status == SimStatus.FAILED:
            obj["errors"] = msg.errors
        return obj

    def emit_status(self, msg: ChatMessage, status: str) -> bool:
        if msg.status == SimStatus.FAILED:
            return False
        if DELIVERY_ORDER.get(status, 0) <= DELIVERY_ORDER.get(msg.status, 0):
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
        if msg.status == SimStatus.FAILED:
            return
        msg.status = SimStatus.FAILED
        msg.status_times[SimStatus.FAILED] = int(self.now())
        msg.errors = [webhook_error(code, details)]
        msg.pricing = None
        pn = self.state.phone_numbers.get(msg.pnid)
        if pn is None:
            return
        payload = statuses_envelope(pn, [self._status_object(msg, SimStatus.FAILED)])
        self.dispatcher.enqueue("statuses", payload, f"status failed {code} {msg.wamid[:24]}…")
        self.mark_dirty()

    def _resume_flows(self) -> None:
        """After a restart from ``state_path``: finish flows whose timers were lost."""
        for msg in self.state.messages:
            if msg.direction == Side.OUT and msg.status in (SimStatus.ACCEPTED, SimStatus.SENT):
                self._normal_flow(msg, 0.1)
