"""In-memory state of the simulated Meta side (JSON-serialisable for ``state_path``)."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any


@dataclass
class Waba:
    id: str
    name: str
    tokens: list[str]
    currency: str = "USD"
    timezone_id: str = "1"
    message_template_namespace: str = ""


@dataclass
class PendingCode:
    code: str
    expires_at: float
    method: str
    language: str


@dataclass
class PhoneNumber:
    id: str
    waba_id: str
    cc: str
    number: str  # national significant number, digits
    display_phone_number: str  # formatted, e.g. "+1 555-010-0100"
    verified_name: str
    code_verification_status: str = "NOT_VERIFIED"
    name_status: str = "PENDING_REVIEW"
    quality_rating: str = "UNKNOWN"
    platform_type: str = "NOT_APPLICABLE"
    throughput_level: str = "STANDARD"
    status: str = "PENDING"
    account_mode: str = "LIVE"
    messaging_limit_tier: str | None = None
    is_official_business_account: bool = False
    registered: bool = False
    pin: str | None = None
    register_attempts: list[float] = field(default_factory=list)
    code_requests: list[float] = field(default_factory=list)
    pending_code: PendingCode | None = None
    data_localization_region: str | None = None

    @property
    def digits(self) -> str:
        return f"{self.cc}{self.number}"


@dataclass
class Template:
    id: str
    waba_id: str
    name: str
    language: str
    status: str
    category: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    quality_score: dict[str, Any] | None = None
    rejected_reason: str | None = None


@dataclass
class Media:
    id: str
    waba_id: str
    pnid: str
    mime_type: str
    sha256: str  # hex
    file_size: int
    data: bytes
    filename: str | None = None
    origin: str = "upload"  # upload | inbound | link
    created_at: float = 0.0
    deleted: bool = False


@dataclass
class Customer:
    wa_id: str
    profile_name: str
    read_receipts: bool = True


class Side(StrEnum):
    """Which way a simulated message went."""

    IN = "in"  # customer -> business
    OUT = "out"  # business -> customer


class SimStatus(StrEnum):
    """A simulated message's status: Meta's status-webhook values, plus the send answer's
    ``accepted`` and ``received`` for a customer's message."""

    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    RECEIVED = "received"


@dataclass
class ChatMessage:
    """One message in a (business number, customer) chat, either direction."""

    wamid: str
    pnid: str
    wa_id: str
    direction: str  # a Side
    type: str
    payload: dict[str, Any]  # the inbound message object, or the send request body
    timestamp: int
    status: str = SimStatus.ACCEPTED  # out: accepted…read|failed; in: received
    errors: list[dict[str, Any]] = field(default_factory=list)
    pricing: dict[str, Any] | None = None
    conversation_id: str | None = None
    read_by_business: bool = False
    media_id: str | None = None  # media the customer's phone shows (inbound or resolved)
    rendered: dict[str, Any] | None = None  # templates: header/body/footer/buttons as shown
    status_times: dict[str, int] = field(default_factory=dict)


@dataclass
class Chat:
    pnid: str
    wa_id: str
    last_inbound_at: int | None = None
    conversation_id: str | None = None
    conversation_expires_at: int | None = None


@dataclass
class Faults:
    error_rate: float = 0.0
    latency_ms: int = 0
    drop_webhooks: float = 0.0
    duplicate_webhooks: float = 0.0
    shuffle_webhooks: bool = False
    force_error_code: int | None = None
    force_error_count: int | None = None  # None = until cleared
    force_error_async: bool = False  # accept the send, then a failed status with the code
    force_error_scope: str = "messages"  # messages | all
    webhook_paused: bool = False
    skip_delivered: bool = False
    # accept a send (stored, statuses follow as usual), then hold its answer this long: a
    # client with a shorter timeout sees a read timeout, as when Meta's answer is lost
    hang_after_accept_ms: int = 0
    hang_after_accept_count: int | None = None  # None = until cleared


@dataclass
class Delivery:
    id: str
    body: str  # exactly the bytes sent (ascii JSON)
    kind: str  # messages | statuses | message_template_status_update
    summary: str
    created_at: float
    next_attempt_at: float
    state: str = "pending"  # pending | delivered | dropped | gave_up
    attempts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SimState:
    wabas: dict[str, Waba] = field(default_factory=dict)
    phone_numbers: dict[str, PhoneNumber] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    chats: dict[str, Chat] = field(default_factory=dict)  # key "pnid:wa_id"
    messages: list[ChatMessage] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    clock_offset: float = 0.0
    id_counter: int = 0

    # ---- helpers -------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def next_id(self, prefix: str) -> str:
        """Numeric id strings like Meta's (15 digits, prefix chooses the kind)."""
        self.id_counter += 1
        return f"{prefix}{self.id_counter:0{15 - len(prefix)}d}"

    def chat(self, pnid: str, wa_id: str) -> Chat:
        key = f"{pnid}:{wa_id}"
        if key not in self.chats:
            self.chats[key] = Chat(pnid=pnid, wa_id=wa_id)
        return self.chats[key]

    def message(self, wamid: str) -> ChatMessage | None:
        for msg in reversed(self.messages):
            if msg.wamid == wamid:
                return msg
        return None

    def tokens(self) -> dict[str, str]:
        """token -> WABA id."""
        return {tok: w.id for w in self.wabas.values() for tok in w.tokens}

    # ---- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def media_dict(m: Media) -> dict[str, Any]:
            d = asdict(m)
            d["data"] = base64.b64encode(m.data).decode()
            return d

        return {
            "wabas": {k: asdict(v) for k, v in self.wabas.items()},
            "phone_numbers": {k: asdict(v) for k, v in self.phone_numbers.items()},
            "templates": {k: asdict(v) for k, v in self.templates.items()},
            "media": {k: media_dict(v) for k, v in self.media.items()},
            "customers": {k: asdict(v) for k, v in self.customers.items()},
            "chats": {k: asdict(v) for k, v in self.chats.items()},
            "messages": [asdict(m) for m in self.messages],
            "deliveries": [asdict(d) for d in self.deliveries],
            "faults": asdict(self.faults),
            "clock_offset": self.clock_offset,
            "id_counter": self.id_counter,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimState:
        def build(klass: type, d: dict[str, Any]) -> Any:
            names = {f.name for f in fields(klass)}
            return klass(**{k: v for k, v in d.items() if k in names})

        def phone(d: dict[str, Any]) -> PhoneNumber:
            p = build(PhoneNumber, d)
            if isinstance(p.pending_code, dict):
                p.pending_code = PendingCode(**p.pending_code)
            return p

        def media(d: dict[str, Any]) -> Media:
            m = build(Media, d)
            m.data = base64.b64decode(d.get("data") or b"")
            return m

        return cls(
            wabas={k: build(Waba, v) for k, v in data.get("wabas", {}).items()},
            phone_numbers={k: phone(v) for k, v in data.get("phone_numbers", {}).items()},
            templates={k: build(Template, v) for k, v in data.get("templates", {}).items()},
            media={k: media(v) for k, v in data.get("media", {}).items()},
            customers={k: build(Customer, v) for k, v in data.get("customers", {}).items()},
            chats={k: build(Chat, v) for k, v in data.get("chats", {}).items()},
            messages=[build(ChatMessage, m) for m in data.get("messages", [])],
            deliveries=[build(Delivery, d) for d in data.get("deliveries", [])],
            faults=build(Faults, data.get("faults", {})),
            clock_offset=float(data.get("clock_offset", 0.0)),
            id_counter=int(data.get("id_counter", 0)),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".sim-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.to_dict(), fh)
        os.replace(tmp, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SimState | None:
        target = Path(path)
        if not target.exists():
            return None
        try:
            return cls.from_dict(json.loads(target.read_text()))
        except (ValueError, TypeError, KeyError):
            return None
