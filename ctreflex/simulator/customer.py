"""The customer's side: reading, uploaded and received media, and messages to the business."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any

from . import rules, samples
from .base import SimulatorBase
from .errors import invalid_param, missing_param
from .seed import DEMO_PNID
from .state import ChatMessage, Customer, Media, PhoneNumber, Side, SimStatus
from .webhooks import messages_envelope

MEDIA_URL_TTL = 300


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class CustomerMixin(SimulatorBase):
    # ---- customer side -------------------------------------------------------------------
    def customer_reads(self, wa_id: str, pnid: str | None = None,
                       message_id: str | None = None) -> list[str]:
        cust = self.state.customers.get(wa_id)
        receipts = cust.read_receipts if cust else True
        read: list[str] = []
        for msg in self.state.messages:
            if msg.direction != Side.OUT or msg.wa_id != wa_id:
                continue
            if pnid and msg.pnid != pnid:
                continue
            if message_id and msg.wamid != message_id:
                continue
            if msg.status not in (SimStatus.SENT, SimStatus.DELIVERED):
                continue
            if receipts:
                if self.emit_status(msg, SimStatus.READ):
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
                outs = [m for m in chat_msgs if m.direction == Side.OUT]
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
            wamid=wamid, pnid=pnid, wa_id=wa_id, direction=Side.IN, type=ordered["type"],
            payload=ordered, timestamp=ts, status=SimStatus.RECEIVED, media_id=media_id,
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
        tpls = [m for m in chat_msgs if m.direction == Side.OUT and m.type == "template"]
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
