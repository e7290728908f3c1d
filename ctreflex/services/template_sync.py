"""Template sync: Meta's templates for each connected WhatsApp Business Account, upserted into
the read-only Template table (created and edited in Meta only)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import Account, BusinessNumber, Plan, Template, utc_now
from ctreflex.services import graph
from ctreflex.services.crypto import decrypt
from ctreflex.whatsapp import GraphError


@dataclasses.dataclass
class SyncResult:
    wabas: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def summary(self) -> str:
        text = (
            f"{self.wabas} WhatsApp account(s): {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged template(s)"
        )
        if self.errors:
            text += f"; {len(self.errors)} account(s) failed"
        return text


def connected_wabas(*, session: Session, account_id: int | None = None) -> list[tuple]:
    """(account id, WABA id, encrypted token) for every connected number on an enabled plan."""
    query = (
        select(
            BusinessNumber.account_id, BusinessNumber.waba_id, BusinessNumber.access_token_encrypted
        )
        .join(Account, Account.id == BusinessNumber.account_id)
        .join(Plan, Plan.id == Account.plan_id)
        .where(
            BusinessNumber.channel == "whatsapp",
            BusinessNumber.status == "connected",
            BusinessNumber.waba_id.is_not(None),
            BusinessNumber.access_token_encrypted.is_not(None),
            Plan.whatsapp_included.is_(True),
            Account.early_access.is_(True),
        )
        .order_by(BusinessNumber.account_id, BusinessNumber.id)
    )
    if account_id is not None:
        query = query.where(BusinessNumber.account_id == account_id)
    seen: dict[tuple[int, str], str] = {}
    for acc, waba, token in session.exec(query).all():
        seen.setdefault((acc, waba), token)
    return [(acc, waba, token) for (acc, waba), token in seen.items()]


def _quality(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("score") or "UNKNOWN")[:16]
    return str(value or "UNKNOWN")[:16]


def upsert_templates(
    *, session: Session, account_id: int, waba_id: str, templates: list, result: SyncResult
) -> None:
    now = utc_now()
    for tpl in templates:
        if not tpl.id:
            continue
        row = session.exec(
            select(Template).where(Template.provider_template_id == str(tpl.id))
        ).first()
        if row is None:
            row = session.exec(
                select(Template).where(
                    Template.waba_id == waba_id,
                    Template.name == tpl.name,
                    Template.language == tpl.language,
                )
            ).first()
        values = {
            "account_id": account_id,
            "waba_id": waba_id,
            "provider_template_id": str(tpl.id),
            "name": tpl.name,
            "language": tpl.language,
            "category": (tpl.category or "").upper(),
            "status": (tpl.status or "").upper(),
            "quality": _quality(tpl.quality_score),
            "parameter_format": (tpl.parameter_format or "POSITIONAL").upper(),
            "rejected_reason": tpl.rejected_reason
            if tpl.rejected_reason not in (None, "NONE")
            else None,
            "components": [
                c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in tpl.components
            ],
        }
        if row is None:
            session.add(Template(**values, synced_at=now, updated_at=now))
            result.created += 1
            continue
        if all(getattr(row, k) == v for k, v in values.items()):
            row.synced_at = now
            result.unchanged += 1
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.synced_at = now
            row.updated_at = now
            result.updated += 1
        session.add(row)
    session.commit()


async def sync_templates(*, account_id: int | None = None) -> SyncResult:
    """Fetch and upsert every connected WABA's templates; one WABA's failure does not stop
    the others (its error is in the result)."""
    result = SyncResult()
    with db.session_scope() as session:
        wabas = connected_wabas(session=session, account_id=account_id)
    for acc, waba, token in wabas:
        result.wabas += 1
        try:
            client = graph.client_for_token(decrypt(token))
            templates = await client.list_templates(waba)
        except (GraphError, ValueError) as exc:
            result.errors.append(f"WABA {waba}: {exc}")
            continue
        with db.session_scope() as session:
            upsert_templates(
                session=session, account_id=acc, waba_id=waba, templates=templates, result=result
            )
    return result
