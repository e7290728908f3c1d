"""Start-up with an unreachable database stops with a message naming the setting."""

import subprocess
import sys

from tests.conftest import ROOT


def test_unreachable_database_names_the_setting():
    env = {
        "CTREFLEX_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "ctreflex.cli", "check-db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "CTREFLEX_DATABASE_URL" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_settings_read_the_prefix(monkeypatch):
    from ctreflex.settings import Settings

    monkeypatch.setenv("CTREFLEX_WHATSAPP_MODE", "cloud")
    monkeypatch.setenv("CTREFLEX_PORT", "3100")
    s = Settings()
    assert s.whatsapp_mode == "cloud"
    assert s.graph_url == "https://graph.facebook.com"
    assert s.webhook_url == "http://127.0.0.1:3100/webhooks/whatsapp"
