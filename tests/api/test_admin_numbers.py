"""The connect wizard against the simulator over HTTP: each Graph step, and each bad input in
Meta's words with a way forward."""

import pytest
from sqlmodel import select

from ctreflex import db
from ctreflex.models import Account, BusinessNumber, Template
from ctreflex.services import crypto, numbers, template_sync
from ctreflex.services.numbers import NumberError
from ctreflex.services.seed import DEMO_TOKEN, DEMO_WABA, HARBOR_TOKEN, HARBOR_WABA

NEW_PNID = "200000000000002"


def _account_id(name: str) -> int:
    with db.session_scope() as s:
        return s.exec(select(Account.id).where(Account.name == name)).one()


def test_connect_a_new_number_end_to_end(live_api):
    bakery = _account_id("Demo Bakery")
    listed = live_api.run(
        numbers.list_waba_numbers(account_id=bakery, waba_id=DEMO_WABA, token=DEMO_TOKEN)
    )
    by_id = {n.phone_number_id: n for n in listed}
    assert by_id["200000000000001"].connected_here
    assert not by_id[NEW_PNID].connected_here
    assert by_id[NEW_PNID].verified_name == "Demo Bakery Orders"

    live_api.run(
        numbers.request_code(
            account_id=bakery, token=DEMO_TOKEN, phone_number_id=NEW_PNID, method="VOICE"
        )
    )
    codes = live_api.control("GET", "/codes").json()["codes"]
    code = codes[NEW_PNID]["code"]
    assert codes[NEW_PNID]["method"] == "VOICE"

    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(NumberError) as err:
        live_api.run(
            numbers.verify_code(
                account_id=bakery, token=DEMO_TOKEN, phone_number_id=NEW_PNID, code=wrong
            )
        )
    assert err.value.code == 136025
    assert "wrong or has expired" in err.value.plain_words
    assert "request a new one" in err.value.what_to_do

    live_api.run(
        numbers.verify_code(
            account_id=bakery, token=DEMO_TOKEN, phone_number_id=NEW_PNID, code=code
        )
    )
    number_id = live_api.run(
        numbers.register_and_enable(
            account_id=bakery,
            waba_id=DEMO_WABA,
            token=DEMO_TOKEN,
            phone_number_id=NEW_PNID,
            pin="123456",
        )
    )
    with db.session_scope() as s:
        row = s.get(BusinessNumber, number_id)
        assert row.status == "connected" and row.channel == "whatsapp"
        assert row.verified_name == "Demo Bakery Orders"
        assert row.code_verification_status == "VERIFIED"
        assert row.access_token_encrypted and DEMO_TOKEN not in row.access_token_encrypted
        assert crypto.decrypt(row.access_token_encrypted) == DEMO_TOKEN


def test_an_expired_code_is_explained(live_api):
    bakery = _account_id("Demo Bakery")
    live_api.control(
        "POST",
        f"/phone_numbers/{NEW_PNID}/verification_code",
        json={"code": "654321", "expires_in": 1},
    )
    live_api.control("POST", "/clock", json={"advance_seconds": 120})
    with pytest.raises(NumberError) as err:
        live_api.run(
            numbers.verify_code(
                account_id=bakery, token=DEMO_TOKEN, phone_number_id=NEW_PNID, code="654321"
            )
        )
    assert err.value.code == 136025
    assert "expired" in err.value.plain_words.lower()


def test_a_wrong_token_and_an_unknown_waba_get_plain_words(live_api):
    bakery = _account_id("Demo Bakery")
    with pytest.raises(NumberError) as bad_token:
        live_api.run(
            numbers.list_waba_numbers(
                account_id=bakery, waba_id=DEMO_WABA, token="not-a-real-token-at-all"
            )
        )
    assert bad_token.value.code == 190
    assert "refused the access token" in bad_token.value.plain_words
    assert "new token" in bad_token.value.what_to_do

    with pytest.raises(NumberError) as other_waba:  # a token without permission on this WABA
        live_api.run(
            numbers.list_waba_numbers(account_id=bakery, waba_id=HARBOR_WABA, token=DEMO_TOKEN)
        )
    assert other_waba.value.code == 100
    assert f"cannot find the WhatsApp Business Account {HARBOR_WABA}" in (
        other_waba.value.plain_words
    )

    with pytest.raises(NumberError) as missing:
        live_api.run(
            numbers.list_waba_numbers(
                account_id=bakery, waba_id="199999999999999", token=DEMO_TOKEN
            )
        )
    assert "cannot find" in missing.value.plain_words


def test_wrong_pin_is_explained(live_api):
    bakery = _account_id("Demo Bakery")
    live_api.control(
        "POST", f"/phone_numbers/{NEW_PNID}/verification_code", json={"code": "246810"}
    )
    live_api.run(
        numbers.verify_code(
            account_id=bakery, token=DEMO_TOKEN, phone_number_id=NEW_PNID, code="246810"
        )
    )
    live_api.run(
        numbers.register_and_enable(
            account_id=bakery,
            waba_id=DEMO_WABA,
            token=DEMO_TOKEN,
            phone_number_id=NEW_PNID,
            pin="111111",
        )
    )
    # the PIN is now set: another PIN is refused with Meta's reason
    with pytest.raises(NumberError) as err:
        live_api.run(
            numbers.register_and_enable(
                account_id=bakery,
                waba_id=DEMO_WABA,
                token=DEMO_TOKEN,
                phone_number_id=NEW_PNID,
                pin="222222",
            )
        )
    assert err.value.code == 133005 and "PIN" in err.value.plain_words


def test_plans_without_whatsapp_are_refused_before_meta_is_called(live_api):
    for name in ("Corner Florist", "Northwind Cafe"):
        with pytest.raises(NumberError) as err:
            live_api.run(
                numbers.list_waba_numbers(
                    account_id=_account_id(name), waba_id=HARBOR_WABA, token=HARBOR_TOKEN
                )
            )
        assert err.value.title == "WhatsApp is not available"


def test_template_sync_upserts_each_connected_waba_and_is_idempotent(live_api):
    first = live_api.run(template_sync.sync_templates())
    assert first.wabas == 2 and first.created > 0 and not first.errors
    with db.session_scope() as s:
        rows = s.exec(select(Template)).all()
        bakery = _account_id("Demo Bakery")
        mine = [t for t in rows if t.account_id == bakery]
        assert {"order_ready", "weekend_treats_offer"} <= {t.name for t in mine}
        offer = next(t for t in mine if t.name == "weekend_treats_offer")
        assert offer.category == "MARKETING" and offer.status == "APPROVED"
        assert offer.components and offer.quality
    again = live_api.run(template_sync.sync_templates())
    assert again.created == 0 and again.updated == 0 and again.unchanged == first.created
    live_api.control(
        "POST", "/templates/300000000000101/status", json={"status": "PAUSED", "reason": "LOW"}
    )
    third = live_api.run(template_sync.sync_templates())
    assert third.updated >= 1
