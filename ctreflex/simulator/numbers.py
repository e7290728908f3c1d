"""Phone-number management: add a number, request and verify its code, (de)register it."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

import phonenumbers

from .base import SimulatorBase
from .errors import GraphError, invalid_param, missing_param
from .state import PendingCode, PhoneNumber

CODE_TTL = 600.0  # verification codes expire after 10 minutes
REGISTER_WINDOW = 72 * 3600
REGISTER_LIMIT = 10


class NumbersMixin(SimulatorBase):
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
