"""State and behaviour of the simulated SMS provider: accounts, numbers, customers, messages,
and the signed webhooks it sends (incoming texts and delivery receipts), retried with backoff.

Written from the provider's public contract (Twilio's Messages API), independently of the
app's adapter in ctreflex/sms: it imports nothing from the app, so each checks the other.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import itertools
import logging
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import phonenumbers

from ctreflex.sms_simulator.app import build_app
from ctreflex.sms_simulator.records import (
    API_VERSION,
    SEED_ACCOUNTS,
    Account,
    Customer,
    Delivery,
    ProviderError,
    SimMessage,
    SmsSimulatorConfig,
    normalise,
    now_utc,
    sign,
)

log = logging.getLogger("ctreflex.sms_simulator")

MAX_BODY = 1600
MAX_MEDIA = 10
MAX_MMS_BYTES = 5 * 1024 * 1024
MMS_REGIONS = frozenset({"US", "CA"})

STOP_WORDS = frozenset(
    {
        "STOP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "OPT OUT",
        "REVOKE",
    }
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
STOP_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
START_REPLY = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
HELP_REPLY = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."

# A 1x1 PNG, used when a simulated customer sends a photo without giving one.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
    "rkJggg=="
)

def keyword(body: str) -> str:
    return " ".join((body or "").strip().strip(".!").upper().split())


class SmsSimulator:
    def __init__(self, config: SmsSimulatorConfig | None = None):
        self.config = config or SmsSimulatorConfig()
        self._tasks: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self._ids = itertools.count(1)
        self.webhook_paused = False
        self.fail_next_webhooks = 0
        self.reset()
        self.app = build_app(self)

    # ------------------------------------------------------------------------------ state

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self.accounts: dict[str, Account] = {}
        self.messages: list[SimMessage] = []
        self.customers: dict[str, Customer] = {}
        self.deliveries: list[Delivery] = []
        self.media: dict[str, tuple[str, bytes]] = {}
        self.webhook_paused = False
        self.fail_next_webhooks = 0
        if self.config.seed:
            for acc in SEED_ACCOUNTS:
                self.add_account(acc["sid"], acc["auth_token"], acc["name"], acc["numbers"])

    def add_account(self, sid: str, token: str, name: str, numbers: list[str]) -> Account:
        account = Account(sid, token, name, {n: self.config.inbound_url or "" for n in numbers})
        self.accounts[sid] = account
        return account

    def seed_view(self) -> dict[str, Any]:
        # No auth token: the app has its own copy (encrypted, from its seed); a control
        # response must never hand out a credential.
        return {
            "accounts": [
                {
                    "sid": a.sid,
                    "name": a.name,
                    "numbers": [{"e164": n, "sms_url": url} for n, url in a.numbers.items()],
                }
                for a in self.accounts.values()
            ]
        }

    def account_for_number(self, e164: str) -> Account | None:
        return next((a for a in self.accounts.values() if e164 in a.numbers), None)

    def customer(self, number: str) -> Customer:
        number = normalise(number)
        return self.customers.setdefault(number, Customer(number))

    def find(self, sid: str) -> SimMessage | None:
        return next((m for m in self.messages if m.sid == sid), None)

    def authenticate(self, path_sid: str, auth_header: str | None) -> Account:
        unauthorised = ProviderError(20003, "Authenticate", 401)
        if not auth_header or not auth_header.lower().startswith("basic "):
            raise unauthorised
        try:
            user, _, password = base64.b64decode(auth_header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise unauthorised from None
        account = self.accounts.get(user)
        if account is None or not hmac.compare_digest(account.auth_token, password):
            raise unauthorised
        if user != path_sid:
            raise ProviderError(
                20404, f"The requested resource /Accounts/{path_sid} was not found", 404
            )
        return account

    # ------------------------------------------------------------------------------ sending

    def validate(self, account: Account, form: list[tuple[str, str]]) -> SimMessage:
        fields: dict[str, str] = {}
        media_urls: list[str] = []
        for name, value in form:
            if name == "MediaUrl":
                media_urls.append(value.strip())
            else:
                fields[name] = value
        to, from_ = fields.get("To", "").strip(), fields.get("From", "").strip()
        body = fields.get("Body", "")
        if not to:
            raise ProviderError(21604, "A 'To' phone number is required.")
        if not from_:
            raise ProviderError(21603, "A 'From' phone number is required.")
        if from_ not in account.numbers:
            raise ProviderError(
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound "
                "phone number or short code for your account.",
            )
        try:
            parsed = phonenumbers.parse(to, None)
            valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            parsed, valid = None, False
        if not valid or not to.startswith("+"):
            raise ProviderError(21211, f"The 'To' number {to} is not a valid phone number.")
        if not body and not media_urls:
            raise ProviderError(21602, "Message body is required.")
        if len(body) > MAX_BODY:
            raise ProviderError(
                21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if len(media_urls) > MAX_MEDIA:
            raise ProviderError(
                21623, f"The number of media files exceeds the allowed limit of {MAX_MEDIA}."
            )
        if any(not u.lower().startswith(("http://", "https://")) for u in media_urls):
            raise ProviderError(21620, "Invalid media URL(s).")
        if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.FIXED_LINE:
            raise ProviderError(21614, f"'To' number {to} is not a valid mobile number.")
        if from_ in self.customer(to).unsubscribed_from:
            raise ProviderError(21610, "Attempt to send to unsubscribed recipient.")
        if media_urls and phonenumbers.region_code_for_number(parsed) not in MMS_REGIONS:
            raise ProviderError(
                21612,
                f"The 'To' phone number {to} is not currently "
                "reachable via MMS: MMS is available to US and Canadian numbers.",
            )
        return SimMessage(
            sid="SM" + secrets.token_hex(16),
            account_sid=account.sid,
            direction="outbound-api",
            from_=from_,
            to=to,
            body=body,
            media_urls=media_urls,
            status="queued",
            status_callback=fields.get("StatusCallback") or None,
            num_segments=max(1, -(-len(body) // 153)) if len(body) > 160 else 1,
        )

    def accept(self, message: SimMessage) -> SimMessage:
        message.statuses.append("queued")
        self.messages.append(message)
        self._spawn(self._lifecycle(message))
        return message

    async def _lifecycle(self, message: SimMessage) -> None:
        self._status(message, "queued")
        if message.media_urls:
            error = await self._check_media(message.media_urls)
            if error is not None:
                await asyncio.sleep(self.config.sent_delay)
                self._status(message, "failed", *error)
                return
        await asyncio.sleep(self.config.sent_delay)
        message.sent_at = now_utc()
        self._status(message, "sent")
        await asyncio.sleep(self.config.deliver_delay)
        code = self.customer(message.to).carrier_error
        if code:
            self._status(message, "undelivered", code, "Carrier reported the message undelivered.")
        else:
            self._status(message, "delivered")

    async def _check_media(self, urls: list[str]) -> tuple[int, str] | None:
        total = 0
        for url in urls:
            try:
                status, _ctype, data = await self._fetch(url)
            except Exception as exc:  # noqa: BLE001 - any failure is the provider's 63019
                log.info("media %s not fetched: %s", url, exc)
                return 63019, "Media failed to download."
            if status != 200:
                return 63019, f"Media failed to download (HTTP {status})."
            total += len(data)
        if total > MAX_MMS_BYTES:
            return 11751, "Media exceeds messaging provider size limit (5 MB)."
        return None

    async def _fetch(self, url: str) -> tuple[int, str, bytes]:
        if self.config.media_fetcher is not None:
            return await self.config.media_fetcher(url)
        response = await self._http().get(url, follow_redirects=True)
        return response.status_code, response.headers.get("content-type", ""), response.content

    def _status(
        self, message: SimMessage, status: str, code: int | None = None, error: str | None = None
    ) -> None:
        message.status = status
        message.updated_at = now_utc()
        if code is not None:
            message.error_code, message.error_message = code, error
        if not message.statuses or message.statuses[-1] != status:
            message.statuses.append(status)
        if not message.status_callback:
            return
        params = [
            ("AccountSid", message.account_sid),
            ("ApiVersion", API_VERSION),
            ("From", message.from_),
            ("MessageSid", message.sid),
            ("MessageStatus", status),
            ("SmsSid", message.sid),
            ("SmsStatus", status),
            ("To", message.to),
        ]
        if code is not None:
            params.append(("ErrorCode", str(code)))
        self.send_webhook(message.account_sid, message.status_callback, params, "status")

    # ------------------------------------------------------------------- customers texting

    def customer_texts(
        self,
        number: str,
        *,
        body: str,
        to: str | None = None,
        media: list[dict[str, Any]] | None = None,
    ) -> SimMessage:
        customer = self.customer(number)
        to = (
            normalise(to)
            if to
            else next((n for a in self.accounts.values() for n in a.numbers), "")
        )
        account = self.account_for_number(to)
        if account is None:
            raise ProviderError(21606, f"{to} is not a number of any simulated account.", 404)
        message = SimMessage(
            sid=("MM" if media else "SM") + secrets.token_hex(16),
            account_sid=account.sid,
            direction="inbound",
            from_=customer.number,
            to=to,
            body=body,
            media_urls=[],
            status="received",
        )
        message.statuses.append("received")
        params = [
            ("AccountSid", account.sid),
            ("ApiVersion", API_VERSION),
            ("Body", body),
            ("From", customer.number),
            ("FromCountry", self._region(customer.number)),
            ("MessageSid", message.sid),
            ("NumSegments", "1"),
            ("SmsMessageSid", message.sid),
            ("SmsSid", message.sid),
            ("SmsStatus", "received"),
            ("To", to),
            ("ToCountry", self._region(to) or "US"),
        ]
        for index, item in enumerate(media or []):
            ctype = str(item.get("content_type") or "image/png")
            data = base64.b64decode(item["base64"]) if item.get("base64") else TINY_PNG
            media_id = "ME" + secrets.token_hex(16)
            self.media[media_id] = (ctype, data)
            url = f"{(self.config.public_base_url or '').rstrip('/')}/media/{media_id}"
            message.media_urls.append(url)
            params += [(f"MediaContentType{index}", ctype), (f"MediaUrl{index}", url)]
        params.append(("NumMedia", str(len(message.media_urls))))
        self.messages.append(message)

        word = keyword(body)
        if word in STOP_WORDS:
            customer.unsubscribed_from.add(to)
            self._auto_reply(account, to, customer.number, STOP_REPLY)
        elif word in START_WORDS:
            customer.unsubscribed_from.discard(to)
            self._auto_reply(account, to, customer.number, START_REPLY)
        elif word in HELP_WORDS:
            self._auto_reply(account, to, customer.number, HELP_REPLY)
        self.send_webhook(account.sid, account.numbers[to], params, "inbound")
        return message

    def _auto_reply(self, account: Account, from_: str, to: str, body: str) -> None:
        now = now_utc()
        self.messages.append(
            SimMessage(
                sid="SM" + secrets.token_hex(16),
                account_sid=account.sid,
                direction="outbound-reply",
                from_=from_,
                to=to,
                body=body,
                media_urls=[],
                status="delivered",
                sent_at=now,
                statuses=["delivered"],
            )
        )

    @staticmethod
    def _region(number: str) -> str:
        try:
            return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
        except phonenumbers.NumberParseException:
            return ""

    # --------------------------------------------------------------------------- webhooks

    def send_webhook(
        self, account_sid: str, url: str, params: list[tuple[str, str]], kind: str
    ) -> Delivery | None:
        if not url:
            return None
        token = self.accounts[account_sid].auth_token
        headers = {
            "X-Twilio-Signature": sign(token, url, params),
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "TwilioProxy/1.1 (ctreflex sms simulator)",
        }
        delivery = Delivery(next(self._ids), url, list(params), headers, kind)
        self.deliveries.append(delivery)
        self._spawn(self._deliver(delivery))
        return delivery

    async def _deliver(self, delivery: Delivery) -> None:
        schedule = list(self.config.retry_schedule) or [1.0]
        while delivery.state == "pending":
            while self.webhook_paused:
                await asyncio.sleep(0.05)
            code, error = await self._post(delivery)
            delivery.attempts.append(
                {"at": now_utc().isoformat(), "status_code": code, "error": error}
            )
            if code is not None and 200 <= code < 300:
                delivery.state = "delivered"
                return
            if len(delivery.attempts) >= self.config.max_attempts:
                delivery.state = "failed"
                return
            await asyncio.sleep(schedule[min(len(delivery.attempts) - 1, len(schedule) - 1)])

    async def _post(self, delivery: Delivery) -> tuple[int | None, str]:
        if self.fail_next_webhooks > 0:
            self.fail_next_webhooks -= 1
            return 503, "fault injected"
        try:
            if self.config.webhook_sender is not None:
                return await self.config.webhook_sender(
                    delivery.url, delivery.params, delivery.headers
                ), ""
            response = await self._http().post(
                delivery.url, content=urlencode(delivery.params).encode(), headers=delivery.headers
            )
            return response.status_code, ""
        except Exception as exc:  # noqa: BLE001 - retried like any failed delivery
            return None, f"{exc.__class__.__name__}: {exc}"

    async def retry_now(self) -> int:
        """Attempt every pending delivery again now (besides its own schedule)."""
        pending = [d for d in self.deliveries if d.state == "pending"]
        for delivery in pending:
            code, error = await self._post(delivery)
            delivery.attempts.append(
                {"at": now_utc().isoformat(), "status_code": code, "error": error}
            )
            if code is not None and 200 <= code < 300:
                delivery.state = "delivered"
        return len(pending)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled status and delivery has run (tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------------------- plumbing

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.config.timeout)
        return self._client

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def create_sms_simulator(config: SmsSimulatorConfig | None = None) -> SmsSimulator:
    return SmsSimulator(config)
