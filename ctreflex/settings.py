"""The one settings class. Every setting reads from CTREFLEX_<NAME> or a `.env` file."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CTREFLEX_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'data' / 'ctreflex.db'}",
        description="SQLAlchemy URL: a SQLite file under data/ by default; postgresql://…",
    )
    secret_key: SecretStr = Field(
        default=SecretStr("dev-only-secret-change-me"),
        description="Encrypts WhatsApp access tokens at rest. Set your own in production.",
    )
    port: int = Field(
        default=3000, description="Port the app is served on (pages, socket, routes)."
    )
    public_url: str = Field(
        default="",
        description="URL the app is reachable at; default http://127.0.0.1:<port>.",
    )
    whatsapp_mode: Literal["simulator", "cloud"] = Field(
        default="simulator",
        description="simulator: the local Cloud API simulator under /simulator; cloud: Meta.",
    )
    graph_base_url: str = Field(
        default="",
        description="Graph API base URL; default <public_url>/simulator or https://graph.facebook.com.",
    )
    graph_api_version: str = Field(default="v23.0", description="Graph API version in each call.")
    app_secret: SecretStr = Field(
        default=SecretStr("sim-app-secret"),
        description="Meta app secret: X-Hub-Signature-256 of every webhook is checked with it.",
    )
    verify_token: SecretStr = Field(
        default=SecretStr("sim-verify-token"),
        description="Token Meta echoes in the webhook GET handshake.",
    )
    media_dir: Path = Field(
        default=ROOT / "data" / "media", description="Folder where media files are stored."
    )
    simulator_state_path: Path | None = Field(
        default=ROOT / "data" / "simulator.json",
        description="Where the in-process simulator keeps its state (empty: memory only).",
    )
    simulator_auto_read: float | None = Field(
        default=None,
        description="Simulated customers read business messages after this many seconds.",
    )
    session_hours: int = Field(default=12, description="How long a login lasts, in hours.")
    sms_mode: Literal["simulator", "provider"] = Field(
        default="simulator",
        description="simulator: the local SMS provider simulator under /sms-simulator; "
        "provider: the real SMS provider (Twilio's REST API).",
    )
    sms_base_url: str = Field(
        default="",
        description="SMS provider REST base URL; default <public_url>/sms-simulator or "
        "https://api.twilio.com.",
    )
    run_scheduler: bool = Field(
        default=True,
        description="Take part in the scheduled jobs; one process (a DB lease) runs them.",
    )
    processor: Literal["process", "inline"] = Field(
        default="process",
        description="process: webhook events are turned into messages by a child process of "
        "each web worker (its own core, its own GIL); inline: by a thread of the web worker.",
    )
    media_retention_days: int = Field(
        default=90, ge=1, description="Media files older than this are deleted from disk."
    )

    @field_validator("database_url")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("CTREFLEX_DATABASE_URL is empty")
        return value.strip()

    @field_validator("simulator_state_path", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value in ("", None) else value

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def graph_url(self) -> str:
        if self.graph_base_url:
            return self.graph_base_url.rstrip("/")
        if self.whatsapp_mode == "simulator":
            return f"{self.base_url}/simulator"
        return "https://graph.facebook.com"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/whatsapp"

    @property
    def sms_api_url(self) -> str:
        if self.sms_base_url:
            return self.sms_base_url.rstrip("/")
        if self.sms_mode == "simulator":
            return f"{self.base_url}/sms-simulator"
        return "https://api.twilio.com"

    @property
    def sms_webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/sms"

    @property
    def sms_status_url(self) -> str:
        return f"{self.base_url}/webhooks/sms/status"


@functools.cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
