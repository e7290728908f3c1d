"""The one settings class. Every setting reads from CTREFLEX_<NAME> or a `.env` file."""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"  # the default home of the database, media, simulator state, secret key

# Values published in this code and its docs: never a secret where other machines can reach us.
PLACEHOLDER_SECRETS = frozenset(
    {
        "dev-only-secret-change-me",
        "sim-app-secret",
        "sim-verify-token",
        "change-me",
        "changeme",
        "secret",
    }
)

log = logging.getLogger("ctreflex")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CTREFLEX_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'data' / 'ctreflex.db'}",
        description="SQLAlchemy URL: a SQLite file under data/ by default; postgresql://…",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Encrypts access tokens at rest and signs media URLs. Unset: a random key "
        "generated once into secret_key_file and reused.",
    )
    secret_key_file: Path = Field(
        default=DATA_DIR / "secret_key",
        description="Where the generated secret key is kept (created once, mode 0600) when "
        "CTREFLEX_SECRET_KEY is not set.",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address the server listens on: loopback unless set (0.0.0.0: every "
        "interface, e.g. behind a reverse proxy on another machine or in a container).",
    )
    port: int = Field(
        default=3000, description="Port the app is served on (pages, socket, routes)."
    )
    public_url: str = Field(
        default="",
        description="URL the app is reachable at; default http://127.0.0.1:<port>.",
    )
    allowed_origins: str = Field(
        default="",
        description="Other origins (comma separated, e.g. https://admin.example.com) allowed to "
        "call the routes with credentials and to open the websocket, besides the public URL's.",
    )
    api_rate_limit: int = Field(
        default=120,
        ge=1,
        description="Public API (/api/v1): requests per API key per minute; more get 429.",
    )
    webhooks_allow_local: bool = Field(
        default=False,
        description="Outbound webhooks may target http://127.0.0.1 / localhost (tests, the "
        "simulator); otherwise only public https:// URLs.",
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
    redis_prefix: str = Field(
        default="",
        description="Prefix of every Redis channel and key this deployment uses (live events); "
        "default ctreflex:<database name>, so deployments sharing one Redis never hear each "
        "other.",
    )
    job_interval_scale: float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="Multiplies every scheduled job's period (tests: 0.1 runs the one-minute "
        "jobs every 6 seconds).",
    )
    live_trace: str = Field(
        default="",
        description="A file to append each live update's stage times to (commit, publish, each "
        "tab's handler and delta; ctreflex/livetrace.py), for bench/live.py. Empty: off, no cost.",
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

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("CTREFLEX_HOST is empty")
        return value.strip()

    @model_validator(mode="after")
    def _generated_secret_key(self) -> Settings:
        if not self.secret_key.get_secret_value().strip():
            self.secret_key = SecretStr(load_or_create_secret_key(self.secret_key_file))
        return self

    @property
    def host_is_loopback(self) -> bool:
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def origins(self) -> list[str]:
        """Origins the browser may use this app from: the public URL's (with both loopback
        names when it is a loopback one: http://localhost:3000 is what `make run` prints), the
        pages' port too when that differs (make dev), and CTREFLEX_ALLOWED_ORIGINS."""
        from urllib.parse import urlsplit

        base = urlsplit(self.base_url)
        found = [f"{base.scheme}://{base.netloc}"]
        if (base.hostname or "") in ("127.0.0.1", "localhost", "::1"):
            for port in dict.fromkeys([base.port, self.port]):
                suffix = f":{port}" if port else ""
                found += [f"{base.scheme}://127.0.0.1{suffix}", f"{base.scheme}://localhost{suffix}"]
        for item in self.allowed_origins.split(","):
            item = item.strip().rstrip("/")
            if item and item != "*":
                found.append(item)
        return list(dict.fromkeys(found))

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
    def simulator_in_process(self) -> bool:
        """Simulator mode with the Graph base URL left at its default (or pointing at our own
        /simulator): this process serves the simulator. A base URL elsewhere (the simulator as
        its own process, `python -m ctreflex.simulator`) means no copy here."""
        return self.whatsapp_mode == "simulator" and self.graph_url == f"{self.base_url}/simulator"

    @property
    def sms_simulator_in_process(self) -> bool:
        return self.sms_mode == "simulator" and self.sms_api_url == f"{self.base_url}/sms-simulator"

    @property
    def redis_namespace(self) -> str:
        """CTREFLEX_REDIS_PREFIX, or ctreflex:<database name> (the SQLite file's stem)."""
        if self.redis_prefix.strip():
            return self.redis_prefix.strip().rstrip(":")
        from sqlalchemy.engine import make_url

        try:
            name = make_url(self.database_url).database or ""
        except Exception:  # noqa: BLE001 - the database check names a bad URL
            name = ""
        name = Path(name).stem if name else ""
        return f"ctreflex:{name}" if name else "ctreflex"

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


def load_or_create_secret_key(path: Path) -> str:
    """The key kept in `path`; created once (random, mode 0600) when the file does not exist.

    Several processes may start at once (web workers, the processor child, the CLI): the key is
    written to a private temporary file and hard-linked into place, so exactly one wins and
    every process reads the same key."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # atomic; FileExistsError when another process won the race
            log.warning("generated a new secret key in %s (CTREFLEX_SECRET_KEY is not set)", path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(
            f"the secret key file {path} is empty: delete it to have a new key generated, or "
            "set CTREFLEX_SECRET_KEY"
        )
    if path.stat().st_mode & 0o077:
        log.warning("the secret key file %s is readable by other users: chmod 600 it", path)
    return key


class InsecureSettings(ValueError):
    """A setting that must be secret holds a value everyone knows."""


def is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDER_SECRETS or not value.strip()


def secret_problems(settings: Settings) -> list[str]:
    """Why these settings must not serve other machines (empty: nothing known-default).

    With CTREFLEX_WHATSAPP_MODE=cloud or CTREFLEX_SMS_MODE=provider, Meta / the SMS provider
    and the public reach the app: the secret key, the app secret and the verify token must be
    the operator's own. A placeholder secret key is also refused on a non-loopback CTREFLEX_HOST.
    """
    serving = []
    if settings.whatsapp_mode == "cloud":
        serving.append("CTREFLEX_WHATSAPP_MODE=cloud")
    if settings.sms_mode == "provider":
        serving.append("CTREFLEX_SMS_MODE=provider")
    checks = [("CTREFLEX_SECRET_KEY", settings.secret_key)]
    if serving:
        checks += [
            ("CTREFLEX_APP_SECRET", settings.app_secret),
            ("CTREFLEX_VERIFY_TOKEN", settings.verify_token),
        ]
    elif not settings.host_is_loopback:
        serving.append(f"CTREFLEX_HOST={settings.host}")
    else:
        return []
    why = " and ".join(serving)
    return [
        f"{name} is a placeholder value that is published in the code and docs; with {why} "
        f"set {name} to your own secret (e.g. python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))')"
        for name, value in checks
        if is_placeholder(value.get_secret_value())
    ]


def check_secrets(settings: Settings | None = None) -> None:
    """Raise InsecureSettings (one line per setting) when secret_problems finds any."""
    problems = secret_problems(settings or get_settings())
    if problems:
        raise InsecureSettings("; ".join(problems))


@functools.cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
