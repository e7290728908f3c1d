"""Customers and their consent ledger."""

from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy import UniqueConstraint, event
from sqlmodel import Field, SQLModel

from ctreflex.models._base import UTCDateTime, utc_now


class Contact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account_id", "e164", name="uq_contact_account_e164"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    e164: str = Field(max_length=20, description="Validated with phonenumbers")
    region: str = Field(default="", max_length=2, description="ISO region, e.g. US, CA, GB")
    wa_id: str | None = Field(default=None, max_length=32, index=True)
    profile_name: str = Field(default="", max_length=120, description="WhatsApp profile name")
    name: str = Field(default="", max_length=120, description="Name given by the business")
    sms_opted_out: bool = False
    marketing_opted_out: bool = False
    search_key: str = Field(
        default="",
        max_length=255,
        description="name and profile name folded for search (lower case, no accents)",
    )
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


def fold_for_search(text: str | None) -> str:
    """Lower case without accents, spaces collapsed: "Sofía  GARCÍA" -> "sofia garcia"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(plain.casefold().split())


def contact_search_key(name: str | None, profile_name: str | None) -> str:
    return fold_for_search(f"{name or ''} | {profile_name or ''}")[:255]


@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _keep_search_key(_mapper, _connection, target: Contact) -> None:
    target.search_key = contact_search_key(target.name, target.profile_name)


class OptOutEvent(SQLModel, table=True):
    """Each STOP / START or marketing opt-out, with where it came from."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    scope: str = Field(max_length=16, description="all (SMS STOP) or marketing")
    action: str = Field(max_length=8, description="out or in")
    source: str = Field(max_length=64, description="keyword, quick reply, agent…")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
