"""Fixtures for the public API tests: API keys per account, an in-process client on
build_api() (reads, refusals), and the served app with the simulators (sends)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.models import Account, Contact, Conversation
from tests.api.conftest import live_api, wait_for  # noqa: F401 - shared fixtures

BAKERY = "Demo Bakery"
HARBOR = "Harbor Tools"


def account_id(name: str) -> int:
    with Session(db.get_engine()) as s:
        return s.exec(select(Account).where(Account.name == name)).one().id


def make_key(name: str = BAKERY, scopes=("read", "send", "admin")) -> str:
    from ctreflex.services import api_keys

    with Session(db.get_engine()) as s:
        return api_keys.create_key(
            session=s,
            account_id=account_id(name),
            name="test",
            scopes=scopes,
            created_by_id=None,
        ).key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def contact(e164: str) -> Contact:
    with Session(db.get_engine()) as s:
        return s.exec(select(Contact).where(Contact.e164 == e164)).one()


def conversation_of(e164: str) -> int:
    with Session(db.get_engine()) as s:
        c = s.exec(select(Contact).where(Contact.e164 == e164)).one()
        return s.exec(select(Conversation).where(Conversation.contact_id == c.id)).one().id


@pytest.fixture
def client(seeded, monkeypatch, tmp_path):
    from ctreflex.api import build_api
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path / "media"))
    reset_settings_cache()
    with TestClient(build_api()) as c:
        yield c
    reset_settings_cache()


@pytest.fixture
def key(seeded) -> str:
    return make_key()


@pytest.fixture
def live(live_api, monkeypatch):  # noqa: F811 - the imported fixture
    """The served app (simulators included), sends go out for real; the outbox timer off."""
    from ctreflex.services import outbound

    monkeypatch.setattr(outbound, "AUTO_WAKE", False)
    return live_api


def load_templates() -> dict[tuple[str, str], int]:
    """The simulator's seeded Demo Bakery templates, stored as a sync would store them."""
    from ctreflex.models import Template
    from ctreflex.simulator.seed import DEMO_WABA, build_seed_state

    out = {}
    with Session(db.get_engine()) as s:
        bakery = account_id(BAKERY)
        for t in build_seed_state().templates.values():
            if t.waba_id != DEMO_WABA:
                continue
            row = Template(
                account_id=bakery,
                waba_id=t.waba_id,
                provider_template_id=t.id,
                name=t.name,
                language=t.language,
                category=t.category,
                status=t.status,
                quality=(t.quality_score or {}).get("score", "UNKNOWN"),
                parameter_format=t.parameter_format,
                rejected_reason=t.rejected_reason if t.rejected_reason != "NONE" else None,
                components=t.components,
            )
            s.add(row)
            s.flush()
            out[(t.name, t.language)] = row.id
        s.commit()
    return out


@pytest.fixture
def templates(seeded) -> dict[tuple[str, str], int]:
    return load_templates()
