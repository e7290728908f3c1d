"""Template variables filled in advance from what is known (issue 14): the customer's first
name and the business's name. The agent sees the values in the form and can change them.

How a variable is recognised:
* a named variable (``{{customer_name}}``, ``{{first_name}}``, ``{{name}}`` …) by its name:
  a name word alone or with a customer/first/client prefix is the customer's first name;
  ``{{business_name}}``, ``{{shop}}``, ``{{store_name}}``, ``{{company}}`` … the business's;
* a numbered variable (``{{1}}``) by the words just before it in the body: a greeting or a
  thanks ("Hi {{1}}", "Hola {{1}}", "Bonjour {{1}}", "Dear {{1}}", "Thanks for your visit,
  {{1}}!") is followed by the customer's first name.
Anything else stays empty: a wrong guess would go to a customer.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from ctreflex.models import Account, Contact, Template
from ctreflex.services.templates import _get, to_graph
from ctreflex.whatsapp.templates import required_fields

CUSTOMER_NAMES = {
    "name",
    "first_name",
    "firstname",
    "customer",
    "customer_name",
    "customer_first_name",
    "client_name",
    "contact_name",
    "nombre",
    "prenom",
    "vorname",
}
BUSINESS_NAMES = {
    "business",
    "business_name",
    "company",
    "company_name",
    "shop",
    "shop_name",
    "store",
    "store_name",
    "brand",
    "brand_name",
}
_GREETING = re.compile(
    r"(?:\b(?:hi|hello|hey|dear|hola|bonjour|salut|hallo|ciao|ol[aá]|buenos d[ií]as)"
    r"|\b(?:thanks|thank you|gracias|merci|danke)\b[^.!?\n{}]{0,60},)\s*$",
    re.IGNORECASE,
)


def first_name(contact: Contact | None, typed_name: str = "") -> str:
    name = (contact.name or contact.profile_name) if contact is not None else typed_name
    return (name or "").split()[0] if (name or "").split() else ""


def _text_before(template: Template, name: str) -> str:
    for comp in template.components or []:
        if str(comp.get("type", "")).upper() == "BODY":
            text = str(comp.get("text") or "")
            at = text.find("{{" + name + "}}")
            return text[:at] if at >= 0 else ""
    return ""


def kind_of(template: Template, key: str) -> str:
    """ "customer" | "business" | "" for a form key (``body.1``, ``body.customer_name`` …)."""
    part, _, name = key.partition(".")
    if part not in ("body", "header") or not name:
        return ""
    low = name.lower()
    if low in CUSTOMER_NAMES:
        return "customer"
    if low in BUSINESS_NAMES:
        return "business"
    if part == "body" and name.isdigit() and _GREETING.search(_text_before(template, name)):
        return "customer"
    return ""


def known_values(
    *,
    session: Session,
    account_id: int,
    template_id: int,
    contact_id: int = 0,
    typed_name: str = "",
) -> dict[str, str]:
    """Form values for the variables this template's text identifies (see the module doc)."""
    row = _get(session, account_id, template_id)
    if row is None:
        return {}
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact is not None and contact.account_id != account_id:
        contact = None
    account = session.get(Account, account_id)
    known = {
        "customer": first_name(contact, typed_name),
        "business": account.name if account is not None else "",
    }
    out: dict[str, str] = {}
    for spec in required_fields(to_graph(row)):
        if spec.kind != "text":
            continue
        value = known.get(kind_of(row, spec.key), "")
        if value:
            out[spec.key] = value[: spec.max_length] if spec.max_length else value
    return out
