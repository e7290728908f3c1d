"""Who may connect WhatsApp numbers, how many, and what the checklist says."""

import pytest
from sqlmodel import select

from ctreflex.models import Account, BusinessNumber
from ctreflex.services import numbers
from ctreflex.services.numbers import NumberError


def _account(s, name):
    return s.exec(select(Account).where(Account.name == name)).one()


def test_plan_without_whatsapp_is_refused_with_the_reason(seeded):
    florist = _account(seeded, "Corner Florist")
    gate = numbers.gate(session=seeded, account_id=florist.id)
    assert (
        not gate.allowed and "Basic" in gate.reason and "does not include WhatsApp" in gate.reason
    )
    with pytest.raises(NumberError, match="does not include WhatsApp"):
        numbers.require_can_connect(session=seeded, account_id=florist.id)


def test_no_early_access_is_refused_with_the_reason(seeded):
    northwind = _account(seeded, "Northwind Cafe")
    gate = numbers.gate(session=seeded, account_id=northwind.id)
    assert not gate.allowed and "early access" in gate.reason
    with pytest.raises(NumberError, match="early access"):
        numbers.require_can_connect(session=seeded, account_id=northwind.id)


def test_unverified_business_gets_two_numbers_then_the_reason(seeded):
    harbor = _account(seeded, "Harbor Tools")
    gate = numbers.gate(session=seeded, account_id=harbor.id)
    assert (gate.allowed, gate.cap, gate.used, gate.verified) == (True, 2, 1, False)
    numbers.require_can_connect(session=seeded, account_id=harbor.id)  # the second is fine
    seeded.add(
        BusinessNumber(
            account_id=harbor.id,
            channel="whatsapp",
            e164="+15550100301",
            phone_number_id="200000000000012",
            status="connected",
        )
    )
    seeded.commit()
    with pytest.raises(NumberError) as err:
        numbers.require_can_connect(session=seeded, account_id=harbor.id)
    assert "not verified" in err.value.plain_words and "20" in err.value.plain_words
    # a number it already has can be re-connected (it does not count twice)
    numbers.require_can_connect(
        session=seeded, account_id=harbor.id, phone_number_id="200000000000012"
    )
    # a disabled number frees its place
    second = seeded.exec(
        select(BusinessNumber).where(BusinessNumber.phone_number_id == "200000000000012")
    ).one()
    numbers.disable(session=seeded, account_id=harbor.id, number_id=second.id)
    numbers.require_can_connect(session=seeded, account_id=harbor.id)


def test_verified_business_gets_twenty(seeded):
    bakery = _account(seeded, "Demo Bakery")
    gate = numbers.gate(session=seeded, account_id=bakery.id)
    assert gate.cap == 20 and gate.verified and gate.payment_method


def test_a_number_of_another_account_is_refused(seeded):
    bakery = _account(seeded, "Demo Bakery")
    with pytest.raises(NumberError, match="another CT Text account"):
        numbers.require_can_connect(
            session=seeded, account_id=bakery.id, phone_number_id="200000000000011"
        )


def test_prerequisites_show_payment_and_verification(seeded):
    harbor = _account(seeded, "Harbor Tools")
    florist = _account(seeded, "Corner Florist")
    h = {p.key: p for p in numbers.prerequisites(session=seeded, account_id=harbor.id)}
    assert h["payment"].state == "done"
    assert h["verification"].state == "recommended"
    assert "20" in h["verification"].detail and "1,000" in h["verification"].detail
    f = {p.key: p for p in numbers.prerequisites(session=seeded, account_id=florist.id)}
    assert f["payment"].state == "missing" and "sending stays disabled" in f["payment"].detail
    assert {"portfolio", "admin", "code"} <= set(h)


def test_disable_and_enable_only_own_numbers(seeded):
    bakery = _account(seeded, "Demo Bakery")
    harbor = _account(seeded, "Harbor Tools")
    theirs = seeded.exec(
        select(BusinessNumber).where(BusinessNumber.account_id == harbor.id)
    ).first()
    with pytest.raises(NumberError, match="not in your account"):
        numbers.disable(session=seeded, account_id=bakery.id, number_id=theirs.id)
    mine = seeded.exec(
        select(BusinessNumber).where(
            BusinessNumber.account_id == bakery.id, BusinessNumber.channel == "whatsapp"
        )
    ).first()
    assert numbers.disable(session=seeded, account_id=bakery.id, number_id=mine.id).status == (
        "disabled"
    )
    assert numbers.enable(session=seeded, account_id=bakery.id, number_id=mine.id).status == (
        "connected"
    )


def test_wizard_inputs_are_checked_before_calling_meta(seeded):
    import asyncio

    bakery = _account(seeded, "Demo Bakery")
    with pytest.raises(NumberError, match="long number"):
        asyncio.run(numbers.list_waba_numbers(account_id=bakery.id, waba_id="abc", token="x" * 20))
    with pytest.raises(NumberError, match="whole access token"):
        asyncio.run(
            numbers.list_waba_numbers(account_id=bakery.id, waba_id="100000000000001", token="x")
        )
    with pytest.raises(NumberError, match="6 digits"):
        asyncio.run(
            numbers.verify_code(
                account_id=bakery.id, token="t" * 20, phone_number_id="200000000000002", code="12"
            )
        )
    with pytest.raises(NumberError, match="6 digits"):
        asyncio.run(
            numbers.register_and_enable(
                account_id=bakery.id,
                waba_id="100000000000001",
                token="t" * 20,
                phone_number_id="200000000000002",
                pin="12a",
            )
        )


def test_the_wizard_keeps_the_token_sealed():
    sealed = numbers.sealed("sim-token-demo-bakery")
    assert "sim-token" not in sealed
    assert numbers.unsealed(sealed) == "sim-token-demo-bakery"


@pytest.mark.parametrize(
    ("fn", "code", "words"),
    [
        (numbers.name_status_label, "PENDING_REVIEW", "Name in review"),
        (numbers.name_status_label, "APPROVED", "Name approved"),
        (numbers.name_status_label, "AVAILABLE_WITHOUT_REVIEW", "Name usable, review not needed"),
        (numbers.tier_label, "TIER_2K", "2,000 customers / 24 h"),
        (numbers.tier_label, "TIER_250", "250 customers / 24 h"),
        (numbers.tier_label, "TIER_UNLIMITED", "Unlimited customers / 24 h"),
        (numbers.quality_label, "GREEN", "High quality"),
        (numbers.quality_label, "YELLOW", "Medium quality"),
        (numbers.status_label, "connected", "Connected"),
        (numbers.throughput_label, "STANDARD", "Up to 80 messages a second"),
        (numbers.name_status_label, "SOMETHING_NEW", "Something new"),
    ],
)
def test_meta_codes_in_plain_words(fn, code, words):
    assert fn(code) == words
