"""Secrets, what is mounted in which mode, and where the server listens (issue 11, items 1, 9).

- No known default secret key: an unset CTREFLEX_SECRET_KEY becomes a random key generated once
  into a 0600 file and reused; placeholders refused where other machines reach the app.
- Each simulator is mounted only in its own mode; no control response hands out a credential.
- The server listens on loopback unless CTREFLEX_HOST says otherwise.
"""

from __future__ import annotations

import asyncio
import re
import runpy
import stat
import threading

import httpx
import pytest

from tests.conftest import ROOT

APP_SECRET = "app-secret-for-the-mount-test-4f9c2e"
VERIFY_TOKEN = "verify-token-for-the-mount-test-8a1d"


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean CTREFLEX_ environment (no .env, no inherited secrets), key file under tmp."""
    from ctreflex.settings import Settings, reset_settings_cache

    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"CTREFLEX_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env picked up from the working directory
    monkeypatch.setenv("CTREFLEX_SECRET_KEY_FILE", str(tmp_path / "data" / "secret_key"))
    monkeypatch.setenv("CTREFLEX_SIMULATOR_STATE_PATH", "")
    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path / "media"))
    reset_settings_cache()
    yield monkeypatch
    reset_settings_cache()


# ------------------------------------------------------------------------ the secret key


def test_unset_secret_key_is_generated_once_0600_and_reused(env, tmp_path):
    from ctreflex.settings import Settings

    key_file = tmp_path / "data" / "secret_key"
    assert not key_file.exists()
    first = Settings().secret_key.get_secret_value()
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == first
    assert len(first) >= 43 and first != "dev-only-secret-change-me"
    inode = key_file.stat().st_ino
    again = Settings().secret_key.get_secret_value()
    assert again == first
    assert key_file.stat().st_ino == inode  # reused, not rewritten
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]  # no temp files left

    # Another install (another data folder) gets another key.
    env.setenv("CTREFLEX_SECRET_KEY_FILE", str(tmp_path / "other" / "secret_key"))
    assert Settings().secret_key.get_secret_value() != first


def test_processes_starting_together_share_one_generated_key(tmp_path):
    from ctreflex.settings import load_or_create_secret_key

    path = tmp_path / "data" / "secret_key"
    keys: list[str] = []
    barrier = threading.Barrier(8)

    def start():
        barrier.wait()
        keys.append(load_or_create_secret_key(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert path.read_text().strip() == keys[0]
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]


def test_an_explicit_secret_key_is_used_and_no_file_is_written(env, tmp_path):
    from ctreflex.settings import Settings

    env.setenv("CTREFLEX_SECRET_KEY", "an-operator-chosen-secret-0123456789")
    assert Settings().secret_key.get_secret_value() == "an-operator-chosen-secret-0123456789"
    assert not (tmp_path / "data" / "secret_key").exists()


def test_an_empty_key_file_is_a_clear_error(env, tmp_path):
    from ctreflex.settings import Settings

    key_file = tmp_path / "data" / "secret_key"
    key_file.parent.mkdir()
    key_file.write_text("\n")
    with pytest.raises(ValueError, match="secret key file .* is empty"):
        Settings()


def test_the_generated_key_is_the_one_that_encrypts(env):
    """Tokens at rest are encrypted under the generated key, not the old published default."""
    from ctreflex.services import crypto
    from ctreflex.settings import get_settings

    token = crypto.encrypt("EAAG-demo")
    assert crypto.decrypt(token) == "EAAG-demo"
    assert get_settings().secret_key.get_secret_value() != "dev-only-secret-change-me"
    with pytest.raises(Exception):  # noqa: B017,PT011 - cryptography's InvalidToken
        crypto._fernet("dev-only-secret-change-me").decrypt(token.encode())


# ------------------------------------------------------------- placeholders refused


@pytest.mark.parametrize(
    ("mode", "named"),
    [
        ({"CTREFLEX_WHATSAPP_MODE": "cloud"}, "CTREFLEX_WHATSAPP_MODE=cloud"),
        ({"CTREFLEX_SMS_MODE": "provider"}, "CTREFLEX_SMS_MODE=provider"),
    ],
)
def test_cloud_or_provider_mode_refuses_each_placeholder_by_name(env, mode, named):
    from ctreflex.settings import InsecureSettings, Settings, check_secrets, secret_problems

    for key, value in mode.items():
        env.setenv(key, value)
    # Defaults: the generated key is fine; the simulator's app secret and verify token are not.
    problems = secret_problems(Settings())
    assert len(problems) == 2
    assert problems[0].startswith("CTREFLEX_APP_SECRET is a placeholder")
    assert problems[1].startswith("CTREFLEX_VERIFY_TOKEN is a placeholder")
    assert all(named in p for p in problems)

    env.setenv("CTREFLEX_SECRET_KEY", "dev-only-secret-change-me")
    env.setenv("CTREFLEX_APP_SECRET", APP_SECRET)
    env.setenv("CTREFLEX_VERIFY_TOKEN", VERIFY_TOKEN)
    with pytest.raises(InsecureSettings, match=r"^CTREFLEX_SECRET_KEY is a placeholder"):
        check_secrets(Settings())
    env.setenv("CTREFLEX_SECRET_KEY", "  ")  # blank: generated, not a placeholder
    check_secrets(Settings())
    env.setenv("CTREFLEX_APP_SECRET", "")
    with pytest.raises(InsecureSettings, match="CTREFLEX_APP_SECRET"):
        check_secrets(Settings())
    env.setenv("CTREFLEX_APP_SECRET", APP_SECRET)
    env.setenv("CTREFLEX_VERIFY_TOKEN", "SIM-VERIFY-TOKEN")
    with pytest.raises(InsecureSettings, match="CTREFLEX_VERIFY_TOKEN"):
        check_secrets(Settings())


def test_simulator_mode_on_loopback_accepts_the_simulator_values(env):
    from ctreflex.settings import Settings, secret_problems

    env.setenv("CTREFLEX_SECRET_KEY", "dev-only-secret-change-me")  # e.g. an old local install
    assert secret_problems(Settings()) == []
    env.setenv("CTREFLEX_HOST", "0.0.0.0")
    problems = secret_problems(Settings())
    assert len(problems) == 1 and problems[0].startswith("CTREFLEX_SECRET_KEY is a placeholder")
    assert "CTREFLEX_HOST=0.0.0.0" in problems[0]


def test_startup_refuses_with_a_message_naming_the_setting(env, capsys):
    from ctreflex import lifespan

    env.setattr(lifespan, "tune_gc", lambda: None)
    env.setenv("CTREFLEX_WHATSAPP_MODE", "cloud")
    env.setenv("CTREFLEX_APP_SECRET", APP_SECRET)
    with pytest.raises(SystemExit) as exited:
        lifespan.startup_checks()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "refusing to start" in err and "CTREFLEX_VERIFY_TOKEN" in err
    assert "CTREFLEX_APP_SECRET" not in err


def test_check_db_refuses_before_make_run_starts_the_server(env, capsys):
    from ctreflex import cli

    env.setenv("CTREFLEX_SMS_MODE", "provider")
    assert cli.main(["check-db"]) == 2
    err = capsys.readouterr().err
    assert "CTREFLEX_APP_SECRET" in err and "CTREFLEX_SMS_MODE=provider" in err


# ----------------------------------------------------------------- what is mounted


async def _status(app, path: str) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return (await client.get(path)).status_code


def _build(env, **settings: str):
    from ctreflex.api import build_api
    from ctreflex.settings import reset_settings_cache

    for key, value in settings.items():
        env.setenv(f"CTREFLEX_{key.upper()}", value)
    reset_settings_cache()
    return build_api()


@pytest.mark.parametrize(
    ("settings", "whatsapp_sim", "sms_sim"),
    [
        ({"whatsapp_mode": "cloud"}, False, True),
        ({"sms_mode": "provider"}, True, False),
        ({"whatsapp_mode": "cloud", "sms_mode": "provider"}, False, False),
        ({}, True, True),
    ],
)
def test_each_simulator_is_mounted_only_in_its_own_mode(env, settings, whatsapp_sim, sms_sim):
    from ctreflex.api import simulator, sms_simulator

    app = _build(env, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, **settings)
    assert (simulator.current() is not None) is whatsapp_sim
    assert (sms_simulator.current() is not None) is sms_sim
    wa = {p: asyncio.run(_status(app, p)) for p in ("/simulator/", "/simulator/control/seed")}
    sms = {p: asyncio.run(_status(app, p)) for p in ("/sms-simulator/control/seed",
                                                     "/sms-simulator/control/messages")}
    assert set(wa.values()) == ({200} if whatsapp_sim else {404}), wa
    assert set(sms.values()) == ({200} if sms_sim else {404}), sms


def _fill(path: str) -> str:
    from ctreflex.simulator.seed import DEMO_PNID

    values = {
        "wa_id": "15550100142",
        "pnid": DEMO_PNID,
        "media_id": "none",
        "template_id": "none",
        "number": "+15550100142",
    }
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def _routes(routes, prefix: str = ""):
    """(path, methods) of every route, through included routers."""
    for r in routes:
        if hasattr(r, "original_router"):  # FastAPI's include_router wrapper
            yield from _routes(r.original_router.routes, prefix + r.include_context.prefix)
        elif hasattr(r, "path"):
            yield prefix + r.path, getattr(r, "methods", None) or set()


def _control_gets(sub_app) -> list[str]:
    paths = [
        _fill(path)
        for path, methods in _routes(sub_app.routes)
        if path.startswith("/control") and "GET" in methods
    ]
    assert len(paths) >= 5
    return paths


def test_no_control_response_hands_out_a_secret(env):
    from ctreflex.api import simulator, sms_simulator
    from ctreflex.simulator.seed import DEMO_TOKEN, HARBOR_TOKEN
    from ctreflex.sms_simulator import SEED_ACCOUNTS

    app = _build(env, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)
    wa_sim, sms_sim = simulator.current(), sms_simulator.current()
    secrets = [APP_SECRET, VERIFY_TOKEN, DEMO_TOKEN, HARBOR_TOKEN]
    secrets += [a["auth_token"] for a in SEED_ACCOUNTS]
    paths = [f"/simulator{p}" for p in _control_gets(wa_sim.app)]
    paths += [f"/sms-simulator{p}" for p in _control_gets(sms_sim.app)]

    async def run() -> dict[str, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            # Activity first, so the views have messages, deliveries and codes to show.
            await client.post("/simulator/control/customers/15550100142/messages",
                              json={"type": "text", "text": {"body": "hello"}})
            await client.post("/sms-simulator/control/customers/+15550100142/messages",
                              json={"body": "hello by SMS"})
            await client.put("/simulator/control/faults", json={"webhook_paused": True})
            answers = {p: await client.get(p) for p in paths}
            answers["PUT faults"] = await client.put("/sms-simulator/control/faults", json={})
            answers["POST verify_webhook"] = await client.post(
                "/simulator/control/verify_webhook", json={"webhook_url": "http://127.0.0.1:9/x"})
        await wa_sim.stop()
        await sms_sim.stop()
        return answers

    answers = asyncio.run(run())
    seed = answers["/simulator/control/seed"].json()
    assert seed["wabas"] and seed["customers"] is not None  # the seed still describes the sim
    assert answers["/sms-simulator/control/seed"].json()["accounts"][0]["sid"] == (
        SEED_ACCOUNTS[0]["sid"])
    assert answers["/sms-simulator/control/messages"].json()["messages"]
    for path, response in answers.items():
        assert response.status_code < 500, path
        for secret in secrets:
            assert secret not in response.text, f"{path} publishes {secret!r}"


# ------------------------------------------------------------------ where we listen


def test_the_server_listens_on_loopback_unless_ctreflex_host_says_otherwise(env, capsys):
    from ctreflex import cli
    from ctreflex.settings import Settings

    assert Settings().host == "127.0.0.1" and Settings().host_is_loopback
    assert runpy.run_path(str(ROOT / "rxconfig.py"))["config"].backend_host == "127.0.0.1"
    assert cli.main(["host"]) == 0
    assert capsys.readouterr().out.strip() == "127.0.0.1"

    env.setenv("CTREFLEX_HOST", "0.0.0.0")
    assert Settings().host == "0.0.0.0" and not Settings().host_is_loopback
    assert runpy.run_path(str(ROOT / "rxconfig.py"))["config"].backend_host == "0.0.0.0"
    for host in ("::1", "localhost", "127.0.0.2"):
        env.setenv("CTREFLEX_HOST", host)
        assert Settings().host_is_loopback, host


def test_make_run_and_make_dev_pass_the_host():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "dev"):
        recipe = re.search(rf"^{target}:.*?(?=^\S)", makefile, re.M | re.S).group(0)
        assert "ctreflex.cli host" in recipe and '--backend-host "$$HOST"' in recipe, target


# ------------------------------------------------- an install from before the generated key


def test_tokens_under_the_retired_default_key_are_reencrypted_at_startup(seeded, monkeypatch):
    from cryptography.fernet import Fernet
    from sqlmodel import select

    from ctreflex.models import BusinessNumber
    from ctreflex.services import crypto, rekey
    from ctreflex.settings import reset_settings_cache

    monkeypatch.setenv("CTREFLEX_SECRET_KEY", "the-operators-own-key-7e3b1c9d5a")
    reset_settings_cache()
    legacy = crypto._fernet("dev-only-secret-change-me")
    stranger = Fernet(Fernet.generate_key()).encrypt(b"someone-elses").decode()
    numbers = seeded.exec(select(BusinessNumber).order_by(BusinessNumber.id)).all()
    wa = [n for n in numbers if n.channel == "whatsapp"]
    sms = next(n for n in numbers if n.channel == "sms")
    wa[0].access_token_encrypted = legacy.encrypt(b"EAAG-old-install").decode()
    wa[1].access_token_encrypted = stranger
    sms.sms_provider_config = {**sms.sms_provider_config,
                               "auth_token_encrypted": legacy.encrypt(b"sms-old").decode()}
    seeded.add_all([wa[0], wa[1], sms])
    seeded.commit()

    assert rekey.reencrypt_legacy_tokens(session=seeded) == 2
    for n in (wa[0], wa[1], sms):
        seeded.refresh(n)
    assert crypto.decrypt(wa[0].access_token_encrypted) == "EAAG-old-install"
    assert crypto.decrypt(sms.sms_provider_config["auth_token_encrypted"]) == "sms-old"
    assert wa[1].access_token_encrypted == stranger  # another key: left for the operator
    assert rekey.reencrypt_legacy_tokens(session=seeded) == 0
