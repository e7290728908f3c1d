"""Phone-number endpoints of the client: list, look up, add, request/verify code, register."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from .models import PhoneNumber, TemplatePage
from .transport import next_cursor

if TYPE_CHECKING:
    from .transport import RetryMode

__all__ = ["PHONE_NUMBER_FIELDS", "PhoneNumbersAPI"]

PHONE_NUMBER_FIELDS = (
    "id,display_phone_number,verified_name,code_verification_status,quality_rating,"
    "platform_type,throughput,name_status,status,account_mode,messaging_limit_tier,"
    "is_official_business_account"
)


class PhoneNumbersAPI:
    """The phone-number endpoints; the client supplies ``url`` and ``_request``."""

    if TYPE_CHECKING:

        def url(self, *parts: str) -> str: ...

        async def _request(
            self, method: str, url: str, *, mode: RetryMode, **kwargs: Any
        ) -> dict[str, Any]: ...

    async def list_phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        params: dict[str, Any] = {"fields": PHONE_NUMBER_FIELDS}
        out: list[PhoneNumber] = []
        seen: set[str] = set()
        while True:
            data = await self._request(
                "GET", self.url(waba_id, "phone_numbers"), params=params, mode="idempotent"
            )
            rows = data.get("data") or []
            out.extend(PhoneNumber.model_validate(r) for r in rows)
            page = TemplatePage.model_validate({"paging": data.get("paging")})
            after = next_cursor(page)
            if not after or after in seen or not rows:
                return out
            seen.add(after)
            params = {**params, "after": after}

    async def get_phone_number(self, phone_number_id: str) -> PhoneNumber:
        data = await self._request(
            "GET",
            self.url(phone_number_id),
            params={"fields": PHONE_NUMBER_FIELDS},
            mode="idempotent",
        )
        return PhoneNumber.model_validate(data)

    async def add_phone_number(
        self, waba_id: str, cc: str, phone_number: str, verified_name: str
    ) -> str:
        """Create a number on the WABA (step 1 of 4); returns the new phone-number id."""
        data = await self._request(
            "POST",
            self.url(waba_id, "phone_numbers"),
            json={"cc": str(cc), "phone_number": str(phone_number), "verified_name": verified_name},
            mode="not_accepted",
        )
        return str(data["id"])

    async def request_code(
        self,
        phone_number_id: str,
        method: Literal["SMS", "VOICE"] = "SMS",
        language: str = "en_US",
    ) -> bool:
        """Ask Meta to send the verification code by SMS or voice call (step 2)."""
        method_u = method.upper()
        if method_u not in ("SMS", "VOICE"):
            raise ValueError("method must be SMS or VOICE")
        data = await self._request(
            "POST",
            self.url(phone_number_id, "request_code"),
            json={"code_method": method_u, "language": language},
            mode="not_accepted",
        )
        return bool(data.get("success"))

    async def verify_code(self, phone_number_id: str, code: str) -> bool:
        """Submit the 6-digit verification code (step 3)."""
        data = await self._request(
            "POST",
            self.url(phone_number_id, "verify_code"),
            json={"code": str(code)},
            mode="not_accepted",
        )
        return bool(data.get("success"))

    async def register(
        self, phone_number_id: str, pin: str, data_localization_region: str | None = None
    ) -> bool:
        """Register for Cloud API (step 4). Limited to 10 per 72 h (133016)."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "pin": str(pin)}
        if data_localization_region:
            body["data_localization_region"] = data_localization_region
        data = await self._request(
            "POST", self.url(phone_number_id, "register"), json=body, mode="not_accepted"
        )
        return bool(data.get("success"))

    async def deregister(self, phone_number_id: str) -> bool:
        data = await self._request(
            "POST", self.url(phone_number_id, "deregister"), json={}, mode="not_accepted"
        )
        return bool(data.get("success"))
