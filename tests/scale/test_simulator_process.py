"""The simulators as their own process (several workers): with CTREFLEX_GRAPH_BASE_URL pointing at
it the app builds no copy of its own, and /simulator and /sms-simulator on the app's port answer
from that one process (its state, whoever asks)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from ctreflex.api import build_api, simulator, sms_simulator
from ctreflex.settings import get_settings, reset_settings_cache
from tests.conftest import ROOT
from tests.e2e.conftest import free_port


@pytest.fixture(scope="module")
def sim_process(tmp_path_factory):
    port = free_port()
    state = tmp_path_factory.mktemp("sim") / "simulator.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctreflex.simulator", "--port", str(port), "--mount", "/simulator",
         "--sms-mount", "/sms-simulator", "--webhook-url", "", "--sms-inbound-url", "",
         "--state-path", str(state)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/simulator/control/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("the standalone simulator did not start")
        time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def external(sim_process, monkeypatch):
    monkeypatch.setenv("CTREFLEX_WHATSAPP_MODE", "simulator")
    monkeypatch.setenv("CTREFLEX_SMS_MODE", "simulator")
    monkeypatch.setenv("CTREFLEX_GRAPH_BASE_URL", f"{sim_process}/simulator")
    monkeypatch.setenv("CTREFLEX_SMS_BASE_URL", f"{sim_process}/sms-simulator")
    reset_settings_cache()
    yield sim_process
    monkeypatch.undo()
    reset_settings_cache()


def test_the_app_builds_no_copy_and_forwards_to_the_one_simulator(external):
    assert not get_settings().simulator_in_process
    assert not get_settings().sms_simulator_in_process
    api = build_api()
    assert simulator.current() is None and sms_simulator.current() is None  # no copy here
    workers = [TestClient(api), TestClient(build_api())]  # two "workers"
    # a change made through one worker is what the other one (and the simulator) sees
    r = workers[0].put("/simulator/control/customers/15550109999",
                       json={"profile_name": "Scale Test", "phone_number_id": "200000000000001",
                             "last_inbound_at": int(time.time())})
    assert r.status_code == 200, r.text
    seen = [w.get("/simulator/control/customers").json() for w in workers]
    direct = httpx.get(f"{external}/simulator/control/customers").json()
    assert seen[0] == seen[1] == direct
    assert "15550109999" in str(direct)
    page = workers[1].get("/simulator/")
    assert page.status_code == 200 and '"/simulator"' in page.text  # the phone's API base
    sms = workers[1].get("/sms-simulator/control/outbox")
    assert sms.status_code == 200
    assert sms.json() == httpx.get(f"{external}/sms-simulator/control/outbox").json()


def test_an_absent_simulator_is_a_clear_502(monkeypatch):
    monkeypatch.setenv("CTREFLEX_WHATSAPP_MODE", "simulator")
    monkeypatch.setenv("CTREFLEX_GRAPH_BASE_URL", f"http://127.0.0.1:{free_port()}/simulator")
    reset_settings_cache()
    try:
        r = TestClient(build_api()).get("/simulator/control/health")
        assert r.status_code == 502
        assert "python -m ctreflex.simulator" in r.text
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_the_default_still_mounts_the_simulator_in_process(monkeypatch):
    for name in ("CTREFLEX_GRAPH_BASE_URL", "CTREFLEX_SMS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_settings_cache()
    try:
        assert get_settings().simulator_in_process
        build_api()
        assert simulator.current() is not None and sms_simulator.current() is not None
    finally:
        reset_settings_cache()
