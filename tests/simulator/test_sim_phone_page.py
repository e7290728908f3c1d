"""The customer-phone page in Chromium, driven by role and accessible name."""

from __future__ import annotations

import httpx
import pytest

from ctreflex.simulator import samples

from .conftest import AUTH, PNID, Receiver

pytestmark = pytest.mark.browser


def test_phone_page_chat(served: str, receiver: Receiver, page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served}/")
    page.get_by_role("combobox", name="Customer").select_option("14165550123")
    page.get_by_role("textbox", name="Message").fill("Hello, any croissants left?")
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_role("log", name="Conversation").get_by_text(
        "Hello, any croissants left?").wait_for()
    page.get_by_role("button", name="Sample photo").click()
    page.locator("img.media").first.wait_for()

    mid = httpx.post(f"{served}/v23.0/{PNID}/media", headers=AUTH,
                     data={"messaging_product": "whatsapp", "type": "image/png"},
                     files={"file": ("p.png", samples.png(), "image/png")}).json()["id"]
    r = httpx.post(f"{served}/v23.0/{PNID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": "14165550123", "type": "template",
        "template": {"name": "weekend_treats_offer", "language": {"code": "en_US"},
                     "components": [
                         {"type": "header", "parameters": [{"type": "image",
                                                            "image": {"id": mid}}]},
                         {"type": "body", "parameters": [
                             {"type": "text", "text": "Liam"},
                             {"type": "text", "text": "cinnamon rolls"},
                             {"type": "text", "text": "15%"}]},
                         {"type": "button", "sub_type": "url", "index": 0,
                          "parameters": [{"type": "text", "text": "W15"}]}]}})
    assert r.status_code == 200
    wamid = r.json()["messages"][0]["id"]
    page.get_by_text("our cinnamon rolls are fresh").wait_for()
    page.get_by_role("link", name="Order online").wait_for()
    page.get_by_role("button", name="Stop promotions").click()
    page.get_by_role("button", name="Mark read").click()
    page.wait_for_function("document.getElementById('status').textContent.includes('read')")

    def have() -> bool:
        taps = [m for m in receiver.messages() if m["type"] == "button"]
        reads = [s for s in receiver.statuses(wamid) if s["status"] == "read"]
        return bool(taps and reads)

    page.wait_for_timeout(100)
    for _ in range(50):
        if have():
            break
        page.wait_for_timeout(100)
    assert have()
    tap = [m for m in receiver.messages() if m["type"] == "button"][0]
    assert tap["context"]["id"] == wamid and tap["button"]["text"] == "Stop promotions"
    assert errors == []
