"""Plain-language help for WhatsApp Cloud API (Graph) error codes.

The inbox shows these to agents and admins next to a failed message or a failed admin action.
Every code listed in section 10.2 of the reference is covered, plus a few more seen in practice.
Build logic on the numeric code (Meta's advice), never on the English ``message`` text.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ERROR_HELP", "ErrorHelp", "describe_error"]


@dataclass(frozen=True, slots=True)
class ErrorHelp:
    """What an error code means, in words an agent or admin understands."""

    title: str
    plain_words: str
    what_to_do: str
    retryable: bool
    audience: str = "agent"  # "agent" (conversation-level) or "admin" (configuration/account)


def _h(title: str, plain: str, todo: str, retryable: bool = False, audience: str = "agent"):
    return ErrorHelp(title, plain, todo, retryable, audience)


_ADMIN = "admin"

ERROR_HELP: dict[int, ErrorHelp] = {
    # --- authorisation / permissions -------------------------------------------------------
    0: _h(
        "Authentication failed",
        "WhatsApp could not confirm who we are: the access token was refused.",
        "An admin must reconnect the WhatsApp account (new access token). Sending is paused "
        "until then.",
        audience=_ADMIN,
    ),
    190: _h(
        "Access token expired or invalid",
        "The access token used to talk to WhatsApp has expired or was revoked.",
        "An admin must reconnect the WhatsApp account to issue a new token. Sending is "
        "paused until then.",
        audience=_ADMIN,
    ),
    3: _h(
        "Missing capability",
        "The connected Meta app is not allowed to use this WhatsApp feature.",
        "An admin should check the app's WhatsApp product setup in Meta.",
        audience=_ADMIN,
    ),
    10: _h(
        "Permission denied",
        "The access token does not carry the WhatsApp permission this action needs.",
        "An admin should reconnect and grant the whatsapp_business_messaging and "
        "whatsapp_business_management permissions.",
        audience=_ADMIN,
    ),
    200: _h(
        "Permission missing",
        "The access token lacks a permission needed for this WhatsApp account or number.",
        "An admin should reconnect the account and grant all requested permissions.",
        audience=_ADMIN,
    ),
    4: _h(
        "Too many requests (app limit)",
        "Our app made too many calls to Meta in a short time.",
        "Wait a few minutes, then try again.",
        retryable=True,
    ),
    80007: _h(
        "Too many requests (WhatsApp account limit)",
        "The WhatsApp Business Account hit Meta's hourly request limit.",
        "Wait and try again later; template and number lists are cached meanwhile.",
        retryable=True,
    ),
    100: _h(
        "Invalid request",
        "Meta rejected a field in the request (misspelled, unsupported, or a wrong id).",
        "Not fixed by retrying. Report it to support with the error details.",
        audience=_ADMIN,
    ),
    368: _h(
        "Temporarily blocked for policy violations",
        "Meta has temporarily blocked this number for breaking WhatsApp policies.",
        "Stop sending; an admin should review the account quality in Meta Business Manager.",
        audience=_ADMIN,
    ),
    # --- sending -------------------------------------------------------------------------------
    130429: _h(
        "Sending too fast",
        "This number reached its messages-per-second limit.",
        "Wait a minute, then send it again.",
        retryable=True,
    ),
    130472: _h(
        "Customer is in a Meta experiment",
        "Meta held back this marketing message because the customer's number is part of "
        "a Meta experiment.",
        "Do not resend. Reach the customer another way if it is important.",
    ),
    130497: _h(
        "Country restricted",
        "This business is not allowed to message customers in the recipient's country.",
        "Do not retry. Use another channel (e.g. SMS) for this customer.",
    ),
    131000: _h(
        "Something went wrong at WhatsApp",
        "WhatsApp reported an unknown error while handling the message.",
        "Try sending again in a little while. If it keeps failing, contact support.",
        retryable=True,
    ),
    131005: _h(
        "Access denied",
        "Meta denied access: the token has no permission for this number or account.",
        "An admin should check the number's connection and app permissions in Meta.",
        audience=_ADMIN,
    ),
    131008: _h(
        "Required value missing",
        "Something the message needs was left out.",
        "Fill in all fields and send again. If it persists, contact support.",
    ),
    131009: _h(
        "Invalid value",
        "One of the values in the message is not valid (for example a bad media id, "
        "link or phone number).",
        "Check the message content and attachments, then send again.",
    ),
    131016: _h(
        "WhatsApp temporarily unavailable",
        "WhatsApp's service is temporarily overloaded or unavailable.",
        "Wait a few minutes, then send it again.",
        retryable=True,
    ),
    131021: _h(
        "Cannot message yourself",
        "The recipient is the business number itself.",
        "Use a different customer number.",
    ),
    131026: _h(
        "Message undeliverable",
        "The message could not be delivered: the number may not be on WhatsApp, the "
        "customer may use an old WhatsApp version or not have accepted new terms, or "
        "they blocked this business.",
        "Do not resend blindly. Confirm the number with the customer or use SMS.",
    ),
    131030: _h(
        "Recipient not in the test list",
        "This number is in test mode and can only message up to 5 approved test recipients.",
        "An admin should add the recipient in Meta's test list or finish going live.",
        audience=_ADMIN,
    ),
    131031: _h(
        "Account locked",
        "Meta locked the WhatsApp account (policy/integrity problem or a wrong two-step "
        "verification PIN).",
        "An admin must resolve this in Meta Business Manager.",
        audience=_ADMIN,
    ),
    131037: _h(
        "Display name not approved",
        "The business number has no approved display name yet.",
        "An admin must get the display name approved in Meta before sending.",
        audience=_ADMIN,
    ),
    131042: _h(
        "Payment problem",
        "Meta refused the message because of a billing issue: no valid payment method "
        "on the WhatsApp account, or a payment failed.",
        "An admin must add or fix the payment method in Meta Business Manager.",
        audience=_ADMIN,
    ),
    131045: _h(
        "Number registration problem",
        "The business number's registration with WhatsApp is incomplete or its "
        "certificate is invalid.",
        "An admin should re-register the number (Numbers page).",
        audience=_ADMIN,
    ),
    131047: _h(
        "24-hour window closed",
        "More than 24 hours have passed since the customer's last message, so only "
        "approved templates can be sent.",
        "Send an approved template instead; the window reopens when the customer replies.",
    ),
    131048: _h(
        "Spam rate limit",
        "Too many of this number's messages were blocked or reported as spam, so Meta "
        "is limiting it.",
        "Slow down, and check the number's quality rating before sending more.",
        audience=_ADMIN,
    ),
    131049: _h(
        "Not delivered by Meta (marketing limit)",
        "Meta chose not to deliver this marketing message to keep engagement healthy "
        "(per-customer marketing limit; also how the US marketing pause appears).",
        "Do not resend for at least 24 hours. Utility templates and replies are unaffected.",
    ),
    131050: _h(
        "Customer stopped marketing messages",
        "The customer opted out of marketing messages from this business.",
        "Do not send marketing to this customer; their opt-out is recorded.",
    ),
    131051: _h(
        "Unsupported message type",
        "The customer sent something WhatsApp cannot pass on to business apps (for "
        "example a poll), or we tried to send an unsupported type.",
        "Ask the customer to send it as text, a photo, a video or a PDF.",
    ),
    131052: _h(
        "Media download failed",
        "WhatsApp could not download the file the customer sent.",
        "Ask the customer to send the file again.",
    ),
    131053: _h(
        "Media upload failed",
        "WhatsApp could not use the file we sent (wrong type, too large, or the link "
        "could not be fetched).",
        "Check the file type and size (JPEG/PNG up to 5 MB, MP4/3GPP up to 16 MB, PDF up "
        "to 100 MB) and send again.",
    ),
    131056: _h(
        "Too many messages to this customer",
        "Too many messages were sent to the same customer in a short time.",
        "Wait a little before sending the next message to this customer.",
        retryable=True,
    ),
    131057: _h(
        "Account in maintenance",
        "The WhatsApp account is briefly in maintenance (for example during a throughput upgrade).",
        "Wait about a minute, then send it again.",
        retryable=True,
    ),
    131063: _h(
        "Marketing templates disabled",
        "Marketing templates cannot be sent through this account right now.",
        "An admin should check the account's marketing messaging settings in Meta.",
        audience=_ADMIN,
    ),
    131064: _h(
        "Marketing limited by template violations",
        "Marketing messages are limited because of template-category violations.",
        "An admin should review template categories in Meta.",
        audience=_ADMIN,
    ),
    # --- templates -----------------------------------------------------------------------
    132000: _h(
        "Template variables don't match",
        "The number of values filled in does not match the template's variables.",
        "Re-open the template, fill every field, and send again.",
    ),
    132001: _h(
        "Template not found",
        "The template does not exist in this language or is not approved.",
        "Pick another template or language; an admin can sync templates.",
    ),
    132005: _h(
        "Template text too long",
        "With the values filled in, the template text is longer than WhatsApp allows.",
        "Shorten the values you filled in.",
    ),
    132007: _h(
        "Template breaks content policy",
        "The template or the filled-in values violate WhatsApp's content policy.",
        "Change the values, or pick another template.",
    ),
    132008: _h(
        "Template value has the wrong type",
        "A filled-in value has the wrong format for the template.",
        "Check each field (e.g. the header file type) and send again.",
    ),
    132012: _h(
        "Template value format invalid",
        "A value does not match what the template expects (for example an image where "
        "a video header is required, or a bad button link).",
        "Fix the highlighted value and send again.",
    ),
    132015: _h(
        "Template paused",
        "Meta paused this template because of low quality (customers blocked or reported it).",
        "Pick another template.",
    ),
    132016: _h(
        "Template disabled",
        "Meta permanently disabled this template because of low quality.",
        "Pick another template; an admin may create a new one in Meta.",
    ),
    132068: _h(
        "Flow blocked",
        "The WhatsApp Flow attached to this template is blocked.",
        "Pick another template.",
        audience=_ADMIN,
    ),
    132069: _h(
        "Flow throttled",
        "Too many messages using this Flow were sent recently.",
        "Try again later.",
        retryable=True,
    ),
    # --- registration ----------------------------------------------------------------------
    133000: _h(
        "Previous deregistration incomplete",
        "An earlier attempt to remove this number from WhatsApp did not finish.",
        "An admin should deregister the number, then register it again.",
        audience=_ADMIN,
    ),
    133004: _h(
        "Registration service unavailable",
        "WhatsApp's registration service is temporarily unavailable.",
        "Try again in a few minutes.",
        retryable=True,
        audience=_ADMIN,
    ),
    133005: _h(
        "Wrong two-step PIN",
        "The two-step verification PIN entered does not match the number's PIN.",
        "Enter the correct 6-digit PIN, or reset it in Meta.",
        audience=_ADMIN,
    ),
    133006: _h(
        "Number must be verified first",
        "The number has to be verified with a code before it can be registered.",
        "Request a verification code, enter it, then register.",
        audience=_ADMIN,
    ),
    133008: _h(
        "Too many PIN attempts",
        "Too many wrong two-step PIN attempts for this number.",
        "Wait until the block expires, then try again.",
        audience=_ADMIN,
    ),
    133009: _h(
        "PIN entered too fast",
        "The two-step PIN was tried too quickly.",
        "Wait a moment and try again.",
        retryable=True,
        audience=_ADMIN,
    ),
    133010: _h(
        "Number not registered",
        "The business number is not registered for WhatsApp Cloud API.",
        "An admin must finish registering the number (Numbers page).",
        audience=_ADMIN,
    ),
    133015: _h(
        "Number recently deleted",
        "This number was recently removed and cannot be registered yet.",
        "Wait about 5 minutes and try again.",
        audience=_ADMIN,
    ),
    133016: _h(
        "Too many registration attempts",
        "The number was registered or deregistered too often (10 times in 72 hours) "
        "and is blocked from registering.",
        "Wait 72 hours before trying again.",
        audience=_ADMIN,
    ),
    135000: _h(
        "Generic user error",
        "WhatsApp rejected the request for an unspecified reason.",
        "Check the request and try again; contact support if it persists.",
    ),
    136024: _h(
        "Verification code request failed",
        "Meta could not send or accept a verification code request for this number "
        "(too many requests, or the number can't receive codes by this method).",
        "Wait a while, then request a new code, or try the other method (SMS / voice call).",
        audience=_ADMIN,
    ),
    136025: _h(
        "Verification code invalid",
        "The verification code entered is wrong or has expired.",
        "Check the code, or request a new one and enter it promptly.",
        audience=_ADMIN,
    ),
}

_PERMISSION_RANGE = range(200, 300)


def describe_error(code: int | str | None) -> ErrorHelp:
    """Help text for ``code``; codes 200–299 share one entry; unknown codes get a fallback."""
    try:
        c = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        c = None
    if c is not None:
        if c in ERROR_HELP:
            return ERROR_HELP[c]
        if c in _PERMISSION_RANGE:
            return ERROR_HELP[200]
    label = f" (code {code})" if code not in (None, "") else ""
    return ErrorHelp(
        title=f"WhatsApp error{label}",
        plain_words="WhatsApp reported an error this inbox does not recognise.",
        what_to_do="Try again later. If it keeps happening, contact support with the code.",
        retryable=False,
    )
