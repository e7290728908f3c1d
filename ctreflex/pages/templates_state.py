"""/templates' state: rows and filters, the selected template, sync, the live listener."""

from __future__ import annotations

import logging
import time

import reflex as rx

from ctreflex import db, routes
from ctreflex.realtime import broker
from ctreflex.services import numbers
from ctreflex.services import templates as svc
from ctreflex.services.templates import FormField, PreviewView, TemplateRow
from ctreflex.state.auth import AuthState

log = logging.getLogger("ctreflex.pages.templates")

ALL = "all"
HEARTBEAT_MS = 60_000
IDLE_LIMIT = 300.0  # seconds without a heartbeat before the listener stops
WAIT = 30.0

EMPTY_ROW = TemplateRow(
    id=0,
    name="",
    language="",
    category="",
    status="",
    quality="",
    rejected_reason="",
    body="",
    header="",
    buttons=0,
    sendable=False,
    updated="",
)

CATEGORY_LABELS = {
    "MARKETING": "Marketing",
    "UTILITY": "Utility",
    "AUTHENTICATION": "Authentication",
}
STATUS_LABELS = {
    "APPROVED": "Approved",
    "PENDING": "Pending",
    "REJECTED": "Rejected",
    "PAUSED": "Paused",
    "DISABLED": "Disabled",
}


class TemplatesState(AuthState):
    rows: list[TemplateRow] = []
    language_options: list[str] = []
    search: str = ""
    status_filter: str = ALL
    category_filter: str = ALL
    language_filter: str = ALL
    total: int = 0

    selected: TemplateRow = EMPTY_ROW
    selected_preview: PreviewView = PreviewView()
    selected_fields: list[FormField] = []
    dialog_open: bool = False

    syncing: bool = False
    sync_note: str = ""
    live_note: str = ""
    wa_reason: str = ""  # why this account has no WhatsApp ("" when it has)

    _account_id: int = 0
    _listen_gen: int = 0
    _last_beat: float = 0.0

    # ------------------------------------------------------------------ loading

    def _reload(self) -> None:
        with db.session_scope() as session:
            rows = svc.list_templates(
                session=session,
                account_id=self._account_id,
                search=self.search,
                status="" if self.status_filter == ALL else self.status_filter,
                category="" if self.category_filter == ALL else self.category_filter,
                language="" if self.language_filter == ALL else self.language_filter,
            )
            self.rows = rows
            self.total = len(svc.list_templates(session=session, account_id=self._account_id))
            self.language_options = svc.languages(session=session, account_id=self._account_id)
            if self.selected.id:
                self._load_selected(session, self.selected.id)

    def _load_selected(self, session, template_id: int) -> None:
        detail = svc.get_detail(
            session=session, account_id=self._account_id, template_id=template_id
        )
        if detail is None:
            self.selected = EMPTY_ROW
            self.selected_preview = PreviewView()
            self.selected_fields = []
            self.dialog_open = False
            return
        self.selected = detail.row
        self.selected_preview = detail.preview
        self.selected_fields = detail.fields

    @rx.event
    def load(self):
        user = self._current_user()
        if user is None:
            return rx.redirect(routes.LOGIN, replace=True)
        self._account_id = user.account_id
        self.dialog_open = False
        self.selected = EMPTY_ROW
        self.sync_note = ""
        self.live_note = ""
        with db.session_scope() as session:
            self.wa_reason = numbers.gate(session=session, account_id=user.account_id).reason
        if self.wa_reason:
            self.rows, self.total = [], 0
            return
        self._reload()
        self._last_beat = time.monotonic()
        return TemplatesState.listen

    # ------------------------------------------------------------------ filters

    @rx.event
    def set_search(self, value: str):
        self.search = value[:200]
        self._reload()

    @rx.event
    def set_status_filter(self, value: str):
        self.status_filter = value if value in (ALL, *svc.STATUSES) else ALL
        self._reload()

    @rx.event
    def set_category_filter(self, value: str):
        self.category_filter = value if value in (ALL, *svc.CATEGORIES) else ALL
        self._reload()

    @rx.event
    def set_language_filter(self, value: str):
        self.language_filter = value[:16] or ALL
        self._reload()

    @rx.event
    def clear_filters(self):
        self.search = ""
        self.status_filter = self.category_filter = self.language_filter = ALL
        self._reload()

    # ------------------------------------------------------------------ preview

    @rx.event
    def open_template(self, template_id: int):
        if not self._account_id:
            return
        with db.session_scope() as session:
            self._load_selected(session, int(template_id))
        self.dialog_open = self.selected.id != 0

    @rx.event
    def set_dialog_open(self, value: bool):
        self.dialog_open = value

    # ------------------------------------------------------------------ sync (admins)

    @rx.event(background=True)
    async def sync(self):
        async with self:
            user = self._current_user()
            if user is None:
                return rx.redirect(routes.LOGIN, replace=True)
            if not user.is_admin:
                self.sync_note = "Only an admin of the account can sync templates."
                return
            with db.session_scope() as session:
                refusal = numbers.gate(session=session, account_id=user.account_id).reason
            if refusal:
                self.sync_note = refusal
                return
            if self.syncing:
                return
            self.syncing = True
            self.sync_note = ""
            account_id = user.account_id
        try:
            result = await svc.sync_account_templates(account_id)
            note = result.message
        except Exception:  # noqa: BLE001 - shown to the admin; details in the log
            log.exception("template sync failed")
            note = "Sync failed: WhatsApp could not be reached. Try again in a minute."
        async with self:
            self.syncing = False
            self.sync_note = note
            self._reload()

    # ------------------------------------------------------------------ live updates

    @rx.event
    def heartbeat(self, _value: str = ""):
        self._last_beat = time.monotonic()

    @rx.event
    def stop_listening(self):
        self._listen_gen += 1

    def _still_here(self, gen: int) -> bool:
        path = self.router.page.path or ""
        return (
            self._listen_gen == gen
            and path.startswith(routes.TEMPLATES)
            and time.monotonic() - self._last_beat < IDLE_LIMIT
        )

    @rx.event(background=True)
    async def listen(self):
        async with self:
            self._listen_gen += 1
            gen = self._listen_gen
            account_id = self._account_id
        if not account_id:
            return
        try:
            async with broker.subscribe(account_id) as sub:
                while True:
                    batch = await sub.next_batch(WAIT)
                    async with self:
                        if not self._still_here(gen) or self._current_user() is None:
                            return
                        changed = [e for e in batch if e.get("type") == "template"]
                        if not changed and not sub.overflowed:
                            continue
                        sub.overflowed = False
                        before = {r.id: r.status for r in self.rows}
                        self._reload()
                        moves = [
                            f"{r.name} ({r.language}) is now {r.status.lower()}"
                            for r in self.rows
                            if r.id in before and before[r.id] != r.status
                        ]
                        if moves:
                            self.live_note = "Updated by Meta: " + "; ".join(moves[:3]) + "."
        except Exception:  # noqa: BLE001 - the page still works; reload shows fresh data
            log.exception("templates listener stopped by an error")
