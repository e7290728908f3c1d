"""The simulator's configuration and state holder: persistence, ids, access tokens."""

from __future__ import annotations

import base64
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from .app import build_app
from .errors import GraphError, unknown_object
from .seed import DEMO_WABA, build_seed_state
from .state import PhoneNumber, SimState
from .webhooks import Dispatcher, Sender

log = logging.getLogger("ctreflex.simulator")


@dataclass
class SimulatorConfig:
    """Knobs of the simulator. Defaults suit a developer machine."""

    webhook_url: str | None = "http://127.0.0.1:3000/webhooks/whatsapp"
    app_secret: str = "sim-app-secret"
    verify_token: str = "sim-verify-token"
    access_tokens: dict[str, str] | list[str] | None = None  # token -> WABA id (or a list)
    public_base_url: str | None = None  # e.g. http://127.0.0.1:3000/simulator
    state_path: str | None = None
    seed: bool = True
    sent_delay: float = 0.3  # accepted -> "sent" status
    auto_deliver: float | None = 1.0  # seconds until "delivered" (None = never)
    auto_read: float | None = None  # seconds until "read" (None = only when the customer reads)
    retry_schedule: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
    give_up_after: float = 7 * 24 * 3600.0
    throughput_mps: int = 80
    include_conversation: bool = True
    webhook_timeout: float = 10.0
    webhook_sender: Sender | None = field(default=None, repr=False)  # tests: custom transport
    link_fetch_timeout: float = 5.0


class SimulatorBase:
    """The state holder: configuration, persistence, ids and access tokens."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.state = self._initial_state()
        self._send_times: dict[str, deque[float]] = {}
        self._dirty = False
        self._save_scheduled = False
        self._resumed = False
        self.dispatcher = Dispatcher(
            lambda: self.state,
            webhook_url=config.webhook_url,
            app_secret=config.app_secret,
            retry_schedule=config.retry_schedule,
            give_up_after=config.give_up_after,
            timeout=config.webhook_timeout,
            sender=config.webhook_sender,
            on_change=self.mark_dirty,
        )
        self.app = build_app(self)

    # ---- lifecycle -----------------------------------------------------------------------
    def _initial_state(self) -> SimState:
        if self.config.state_path:
            loaded = SimState.load(self.config.state_path)
            if loaded is not None:
                self._apply_tokens(loaded)
                return loaded
        return self._fresh_state()

    def _fresh_state(self) -> SimState:
        state = build_seed_state() if self.config.seed else SimState()
        self._apply_tokens(state)
        return state

    def _apply_tokens(self, state: SimState) -> None:
        toks = self.config.access_tokens
        if not toks:
            return
        mapping = {t: DEMO_WABA for t in toks} if isinstance(toks, list | tuple) else dict(toks)
        for token, waba_id in mapping.items():
            waba = state.wabas.get(waba_id)
            if waba is not None and token not in waba.tokens:
                waba.tokens.append(token)

    def mark_dirty(self) -> None:
        if not self.config.state_path:
            return
        self._dirty = True
        if not self._save_scheduled:
            self._save_scheduled = True
            self.dispatcher.call_later(0.5, self._save_tick)

    def _save_tick(self) -> None:
        self._save_scheduled = False
        self.save_now()

    def save_now(self) -> None:
        if self.config.state_path and self._dirty:
            try:
                self.state.save(self.config.state_path)
                self._dirty = False
            except OSError:
                log.exception("could not save simulator state")

    def reset(self) -> None:
        self.dispatcher.clear_timers()
        self._save_scheduled = False
        self.state = self._fresh_state()
        self._send_times.clear()
        self._dirty = True
        self.mark_dirty()

    def now(self) -> float:
        return self.state.now()

    # ---- ids -----------------------------------------------------------------------------
    def new_wamid(self, wa_id: str) -> str:
        raw = b"\x15\x02\x00\x11\x18\x12" + f"{wa_id}:{uuid.uuid4().hex.upper()}".encode()
        return "wamid." + base64.b64encode(raw).decode()

    # ---- auth ----------------------------------------------------------------------------
    def waba_for_token(self, token: str | None) -> str:
        if not token:
            raise GraphError(190, "An active access token must be used to query information.")
        waba = self.state.tokens().get(token)
        if waba is None:
            raise GraphError(190, "The access token could not be decrypted or is not valid.")
        return waba

    def phone_for(self, waba_id: str, pnid: str, method: str = "post") -> PhoneNumber:
        pn = self.state.phone_numbers.get(pnid)
        if pn is None or pn.waba_id != waba_id:
            raise unknown_object(pnid, method)
        return pn
