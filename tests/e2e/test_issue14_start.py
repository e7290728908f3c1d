"""Issue 14 in Chromium, items 1, 3 and 10: "New conversation" by template to a number that
never wrote (the simulator receives it), the picker's refusals before Send (a US number and an
opted-out contact refused with the reason and Send disabled, Canada allowed), the name variable
filled in advance and the preview's time now, the contact panel's edit (a number another
contact has is refused), and a file over its kind's limit refused before any upload request.
Each test makes its own customers. CTREFLEX_SHOTS=<folder> saves screenshots at 1400/390 px."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
from zoneinfo import ZoneInfo

import httpx
import phonenumbers
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import conversation_name, login
from tests.e2e.test_templates_composer import outbox, picker_item, sync_templates

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CTREFLEX_SHOTS", "")
AGENT = ("agent@demo.test", "demo-agent-1")
MARKETING = "weekend_treats_offer (en_US)"
UTILITY = "order_ready (en_US)"


def _shot(page: Page, name: str, before_narrow=None) -> None:
    if not SHOTS:
        return
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        if width == 390 and before_narrow is not None:
            before_narrow()
        page.wait_for_timeout(400)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=False)
    page.set_viewport_size({"width": 1400, "height": 900})


def _fresh(prefix: str) -> str:
    """A valid number nobody in the seed has: 1212… New York (US), 1437… Toronto (CA)."""
    while True:
        digits = f"{prefix}{random.randint(2000000, 9999999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse("+" + digits)):
            return digits


def _customer_writes(base_url: str, wa_id: str, text: str, name: str) -> None:
    r = httpx.post(
        f"{base_url}/simulator/control/customers/{wa_id}/messages",
        json={"type": "text", "text": text, "profile_name": name},
        timeout=10,
    )
    r.raise_for_status()


def _new_conversation(page: Page):
    page.get_by_role("button", name="New conversation").click()
    dialog = page.get_by_role("dialog", name="New conversation")
    expect(dialog).to_be_visible()
    return dialog


def _to_number(page: Page, digits: str, name: str = ""):
    """New conversation → a typed number (with its + code) → the recipient's facts."""
    dialog = _new_conversation(page)
    dialog.get_by_label("Phone number").fill("+" + digits)
    if name:
        dialog.get_by_label("Name (optional)").fill(name)
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog.locator("#nc-limit")).to_contain_text(re.compile(r"of [\d,]+ in the last 24 h"))
    return dialog


def _to_picker(page: Page, dialog):
    dialog.get_by_role("button", name="Choose template").click()
    picker = page.get_by_role("dialog", name="Choose a template")
    expect(picker).to_be_visible()
    return picker


def _now_texts(tz: str) -> list[str]:
    now = dt.datetime.now(ZoneInfo(tz))
    return [(now + dt.timedelta(minutes=m)).strftime("%H:%M") for m in (-1, 0, 1)]


def test_start_a_conversation_by_template_to_a_number_that_never_wrote(
    page: Page, browser: Browser, base_url
):
    sync_templates(browser, base_url)
    login(page, base_url, *AGENT)
    wa_id = _fresh("1437")
    name = f"Nadia Start {random.randint(100, 999)}"

    dialog = _new_conversation(page)
    _shot(page, "new-conversation-finder")
    # a bad number is refused with a clear error, and nothing is lost
    dialog.get_by_label("Phone number").fill("555 12")
    dialog.get_by_label("Name (optional)").fill(name)
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog.get_by_role("alert")).to_contain_text("is not a valid phone number")
    expect(dialog.get_by_label("Name (optional)")).to_have_value(name)
    dialog.get_by_label("Phone number").fill("+" + wa_id)
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog).to_contain_text(name)
    expect(dialog).to_contain_text("Canada")
    expect(dialog.locator("#nc-limit")).to_contain_text(
        re.compile(r"\d of [\d,]+ in the last 24 h")
    )
    expect(dialog.locator("#nc-cost")).to_contain_text("platform fee per message")
    _shot(page, "new-conversation-chosen")
    # nothing exists yet: the list has no conversation with this customer
    expect(page.get_by_role("link", name=conversation_name(name))).to_have_count(0)

    picker = _to_picker(page, dialog)
    expect(picker).to_contain_text(f"To {name}")
    picker.get_by_role("searchbox", name="Search templates").fill("order")
    picker_item(picker, UTILITY).click()
    # the name variable is filled in advance ("Hi {{1}}, your {{2}} is ready …")
    expect(picker.get_by_label("Body variable {{1}}")).to_have_value(name.split()[0])
    preview = picker.get_by_role("figure", name="Message preview")
    expect(preview).to_contain_text(f"Hi {name.split()[0]},")
    # the preview's time is now, in the user's zone (Demo Bakery: New York), not "12:00"
    expect(preview).to_contain_text(re.compile("|".join(_now_texts("America/New_York"))))
    expect(picker.locator("#template-cost")).to_contain_text("Utility")
    picker.get_by_label("Header").fill("A-17")
    picker.get_by_label("Body variable {{2}}").fill("sourdough loaf")
    picker.get_by_label("Body variable {{3}}").fill("5 pm")
    picker.get_by_role("button", name="Send template").click()

    # the conversation exists now and opens; the simulator got the template
    page.wait_for_url(re.compile(r"/inbox/\d+"), timeout=20_000)
    expect(page.get_by_role("heading", name=name, level=2).first).to_be_visible()
    expect(page.get_by_role("log", name="Conversation history")).to_contain_text(
        "sourdough loaf", timeout=15_000
    )
    expect(page.get_by_role("link", name=conversation_name(name))).to_be_visible()
    sent = outbox(base_url, wa_id)
    assert [m["request"]["template"]["name"] for m in sent] == ["order_ready"], sent

    # the contact panel: edit the name and the number; another contact's number is refused
    panel = page.get_by_role("complementary", name="Contact details")
    panel.get_by_role("button", name="Edit contact").click()
    form = panel.get_by_role("form", name="Edit contact")
    form.get_by_label("Name").fill(name + " Ortiz")
    form.get_by_label("Phone number (WhatsApp and SMS)").fill("+1 416 555 0123")  # Emma's
    form.get_by_role("button", name="Save contact").click()
    expect(form.get_by_role("alert")).to_contain_text("already the number of Emma Tremblay")

    def show_panel():
        page.get_by_role("button", name="Contact details").click()

    if SHOTS:  # (the phone-width shot opened the panel; at 1400 px that toggle hides it)
        _shot(page, "contact-edit", before_narrow=show_panel)
        page.get_by_role("button", name="Contact details").click()
    expect(form.get_by_label("Phone number (WhatsApp and SMS)")).to_be_visible()
    new_number = _fresh("1437")
    form.get_by_label("Phone number (WhatsApp and SMS)").fill("+" + new_number)
    form.get_by_role("button", name="Save contact").click()
    expect(panel.get_by_role("status")).to_contain_text(f"Saved: {name} Ortiz")
    expect(page.get_by_role("heading", name=f"{name} Ortiz", level=2).first).to_be_visible()
    pretty = phonenumbers.format_number(
        phonenumbers.parse("+" + new_number), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    expect(panel).to_contain_text(pretty)


def test_picker_shows_refusals_before_send(page: Page, browser: Browser, base_url):
    sync_templates(browser, base_url)
    login(page, base_url, *AGENT)

    # a US number that never wrote: marketing is refused before Send, with the reason
    dialog = _to_number(page, _fresh("1212"), "Uma Refused")
    picker = _to_picker(page, dialog)
    picker.get_by_role("searchbox", name="Search templates").fill("weekend")
    row = picker_item(picker, MARKETING)
    expect(row).to_be_visible()
    expect(picker).to_contain_text(
        "Can't be sent: Meta does not deliver marketing templates to United States phone numbers"
    )
    _shot(page, "picker-refusals")
    row.click()
    expect(picker.get_by_role("button", name="Send template")).to_be_disabled()
    expect(picker.locator("#template-blocked")).to_contain_text("United States")
    picker.get_by_role("button", name="Close").click()

    # a Canadian number: the same template is allowed (Send enabled, name filled in advance)
    dialog = _to_number(page, _fresh("1437"), "Carla Allowed")
    picker = _to_picker(page, dialog)
    picker.get_by_role("searchbox", name="Search templates").fill("weekend")
    expect(picker_item(picker, MARKETING)).to_be_visible()
    expect(picker).not_to_contain_text("Can't be sent")
    picker_item(picker, MARKETING).click()
    expect(picker.get_by_label("Body variable {{1}}")).to_have_value("Carla")
    expect(picker.get_by_role("button", name="Send template")).to_be_enabled()
    expect(picker.locator("#template-blocked")).to_have_count(0)
    picker.get_by_role("button", name="Close").click()

    # a Canadian contact who replied STOP on WhatsApp: marketing refused, utility allowed
    wa_id, name = _fresh("1437"), f"Otto Optout {random.randint(100, 999)}"
    _customer_writes(base_url, wa_id, "STOP", name)
    expect(page.get_by_role("link", name=conversation_name(name))).to_be_visible(timeout=20_000)
    dialog = _new_conversation(page)
    dialog.get_by_label("Find a contact").fill(name)
    dialog.get_by_role("button", name=re.compile(name)).click()
    expect(dialog.locator("#nc-limit")).to_be_visible()
    picker = _to_picker(page, dialog)
    picker.get_by_role("searchbox", name="Search templates").fill("weekend")
    expect(picker).to_contain_text("opted out of marketing")
    picker_item(picker, MARKETING).click()
    expect(picker.get_by_role("button", name="Send template")).to_be_disabled()
    expect(picker.locator("#template-blocked")).to_contain_text("opted out of marketing")
    picker.get_by_role("button", name="All templates").click()
    picker.get_by_role("searchbox", name="Search templates").fill("order")
    # the search has answered (its list replaced the last one) before the click: a click on
    # a list being replaced can land on nothing
    expect(picker_item(picker, MARKETING)).to_have_count(0)
    picker_item(picker, UTILITY).click()
    expect(picker.get_by_role("button", name="Send template")).to_be_enabled()


def test_a_file_over_its_limit_is_refused_before_any_upload(page: Page, base_url, tmp_path):
    wa_id, name = _fresh("1437"), f"Fiona Files {random.randint(100, 999)}"
    _customer_writes(base_url, wa_id, "Can I send you my order form?", name)
    login(page, base_url, *AGENT)
    link = page.get_by_role("link", name=conversation_name(name))
    expect(link).to_be_visible(timeout=20_000)
    link.click()
    expect(page.get_by_role("heading", name=name, level=2).first).to_be_visible()

    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if "_upload" in r.url else None)
    pdf = tmp_path / "catalogue.pdf"
    with pdf.open("wb") as fh:
        fh.write(b"%PDF-1.7\n")
        fh.truncate(101_000_000)  # 101 MB (sparse on disk)
    attach = page.locator("#composer input[type=file]")
    attach.set_input_files(str(pdf))
    expect(page.get_by_role("alert")).to_contain_text("PDF documents can be at most 100 MB")
    expect(page.get_by_role("alert")).to_contain_text("this file is 101.0 MB")

    photo = tmp_path / "cake.png"
    with photo.open("wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.truncate(6_000_000)
    attach.set_input_files(str(photo))
    expect(page.get_by_role("alert")).to_contain_text("Photos can be at most 5 MB")
    page.wait_for_timeout(500)
    assert uploads == [], uploads  # refused at selection: not one upload request
    expect(page.locator("#attachment-chip")).to_have_count(0)
