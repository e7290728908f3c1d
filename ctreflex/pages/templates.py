"""/templates: the account's WhatsApp templates, a read-only copy of what is in Meta.

Search and filters, a phone-style preview of each (filled with Meta's approved examples), a
"Sync templates" button for admins (the role is checked again on the server), and live
status changes: each open tab runs one listener on the account's event stream while the page
is open and the tab keeps beating.
"""

from __future__ import annotations

import logging
import time

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.components.template_preview import template_preview
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


# ---------------------------------------------------------------------------- components


def _status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.badge(
        rx.match(
            status,
            ("APPROVED", "Approved"),
            ("PENDING", "Pending"),
            ("REJECTED", "Rejected"),
            ("PAUSED", "Paused"),
            ("DISABLED", "Disabled"),
            ("DELETED", "Deleted"),
            status,
        ),
        color_scheme=rx.match(
            status,
            ("APPROVED", "green"),
            ("PENDING", "blue"),
            ("REJECTED", "red"),
            ("PAUSED", "amber"),
            ("DISABLED", "gray"),
            "gray",
        ),
        variant=rx.cond(status == "APPROVED", "soft", "surface"),
        radius="full",
    )


def _category_text(category: rx.Var[str]) -> rx.Var:
    return rx.match(
        category,
        ("MARKETING", "Marketing"),
        ("UTILITY", "Utility"),
        ("AUTHENTICATION", "Authentication"),
        category,
    )


def _quality(quality: rx.Var[str]) -> rx.Component:
    color = rx.match(
        quality,
        ("GREEN", "var(--grass-9)"),
        ("YELLOW", "var(--amber-9)"),
        ("RED", "var(--red-9)"),
        "var(--gray-7)",
    )
    label = rx.match(
        quality,
        ("GREEN", "High"),
        ("YELLOW", "Medium"),
        ("RED", "Low"),
        "Not rated",
    )
    return rx.hstack(
        rx.box(width="8px", height="8px", border_radius="999px", background=color),
        rx.text(label, size="2"),
        align="center",
        spacing="2",
    )


def _header_icon(kind: rx.Var[str]) -> rx.Component:
    return rx.match(
        kind,
        ("image", rx.icon("image", size=14, aria_label="Image header")),
        ("video", rx.icon("video", size=14, aria_label="Video header")),
        ("document", rx.icon("file-text", size=14, aria_label="Document header")),
        rx.fragment(),
    )


HIDE_ON_MOBILE = rx.breakpoints(initial="none", sm="table-cell")


def _row(t: rx.Var[TemplateRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.hstack(
                    rx.el.button(
                        t.name,
                        on_click=TemplatesState.open_template(t.id),
                        aria_label="Preview " + t.name + " (" + t.language + ")",
                        class_name="ct-template-name",
                        style={
                            "all": "unset",
                            "cursor": "pointer",
                            "fontWeight": "600",
                            "fontFamily": "var(--code-font-family, monospace)",
                            "fontSize": "0.85rem",
                            "wordBreak": "break-all",
                        },
                    ),
                    _header_icon(t.header),
                    align="center",
                    spacing="2",
                ),
                rx.text(
                    t.body,
                    size="1",
                    color_scheme="gray",
                    class_name="ct-ellipsis",
                    max_width=rx.breakpoints(initial="calc(100vw - 12rem)", sm="28rem"),
                    width="100%",
                ),
                rx.text(
                    t.language,
                    " · ",
                    _category_text(t.category),
                    size="1",
                    color_scheme="gray",
                    display=rx.breakpoints(initial="block", sm="none"),
                ),
                spacing="1",
                min_width="0",
            ),
            max_width="30rem",
        ),
        rx.table.cell(rx.code(t.language, variant="ghost"), display=HIDE_ON_MOBILE),
        rx.table.cell(_category_text(t.category), display=HIDE_ON_MOBILE),
        rx.table.cell(
            rx.vstack(
                _status_badge(t.status),
                rx.cond(
                    t.rejected_reason != "",
                    rx.text(
                        "Reason: " + t.rejected_reason.lower().replace("_", " "),
                        size="1",
                        color_scheme="red",
                    ),
                ),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(_quality(t.quality), display=HIDE_ON_MOBILE),
        rx.table.cell(
            rx.icon_button(
                rx.icon("eye", size=16),
                variant="ghost",
                on_click=TemplatesState.open_template(t.id),
                aria_label="Preview " + t.name + " (" + t.language + ")",
            ),
            text_align="right",
            display=HIDE_ON_MOBILE,
        ),
        align="center",
        _hover={"background": "var(--gray-2)"},
    )


def _select(
    label: str, value: rx.Var[str], on_change, options: list[tuple[str, str]], width: str
) -> rx.Component:
    return rx.box(
        rx.select.root(
            rx.select.trigger(aria_label=label, width="100%"),
            rx.select.content(*[rx.select.item(text, value=val) for val, text in options]),
            value=value,
            on_change=on_change,
        ),
        flex=f"1 1 {width}",
        max_width=rx.breakpoints(initial="none", sm=width),
    )


def _language_select() -> rx.Component:
    return rx.box(
        rx.select.root(
            rx.select.trigger(aria_label="Language", width="100%"),
            rx.select.content(
                rx.select.item("All languages", value=ALL),
                rx.foreach(
                    TemplatesState.language_options, lambda lang: rx.select.item(lang, value=lang)
                ),
            ),
            value=TemplatesState.language_filter,
            on_change=TemplatesState.set_language_filter,
        ),
        flex="1 1 8rem",
        max_width=rx.breakpoints(initial="none", sm="9rem"),
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.input(
            rx.input.slot(rx.icon("search", size=16, aria_hidden="true")),
            placeholder="Search by name or text",
            value=TemplatesState.search,
            on_change=TemplatesState.set_search.debounce(250),
            aria_label="Search templates",
            type="search",
            flex="1 1 16rem",
            min_width="12rem",
        ),
        _select(
            "Category",
            TemplatesState.category_filter,
            TemplatesState.set_category_filter,
            [(ALL, "All categories")] + list(CATEGORY_LABELS.items()),
            "10rem",
        ),
        _select(
            "Status",
            TemplatesState.status_filter,
            TemplatesState.set_status_filter,
            [(ALL, "All statuses")] + list(STATUS_LABELS.items()),
            "9rem",
        ),
        _language_select(),
        gap="2",
        wrap="wrap",
        width="100%",
        align="center",
    )


def _intro() -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.icon(
                "lock",
                size=16,
                color="var(--gray-10)",
                aria_hidden="true",
                margin_top="3px",
                flex_shrink="0",
            ),
            rx.text(
                "Templates are created and edited in Meta's WhatsApp Manager. This is a "
                "read-only copy, kept fresh by sync and Meta's status updates. ",
                rx.link(
                    "Open WhatsApp Manager",
                    href="https://business.facebook.com/wa/manage/message-templates/",
                    is_external=True,
                    white_space="nowrap",
                ),
                size="2",
                color_scheme="gray",
            ),
            align="start",
            spacing="2",
            flex="1 1 20rem",
        ),
        rx.cond(
            AuthState.is_admin,
            rx.button(
                rx.cond(
                    TemplatesState.syncing,
                    rx.spinner(size="1"),
                    rx.icon("refresh-cw", size=15, aria_hidden="true"),
                ),
                rx.cond(TemplatesState.syncing, "Syncing…", "Sync templates"),
                on_click=TemplatesState.sync,
                disabled=TemplatesState.syncing,
                id="sync-templates",
            ),
        ),
        gap="3",
        align="center",
        justify="between",
        wrap="wrap",
        width="100%",
    )


def _notes() -> rx.Component:
    return rx.box(
        rx.cond(
            TemplatesState.sync_note != "",
            rx.callout(
                TemplatesState.sync_note,
                icon="info",
                size="1",
                color_scheme=rx.cond(TemplatesState.sync_note.contains("fail"), "red", "grass"),
                id="sync-note",
            ),
        ),
        rx.cond(
            TemplatesState.live_note != "",
            rx.callout(
                TemplatesState.live_note,
                icon="radio",
                size="1",
                color_scheme="amber",
                id="live-note",
            ),
        ),
        role="status",
        aria_live="polite",
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("layout-template", size=32, color="var(--gray-8)", aria_hidden="true"),
            rx.cond(
                TemplatesState.total == 0,
                rx.vstack(
                    rx.text("No templates synced yet", weight="medium"),
                    rx.text(
                        rx.cond(
                            AuthState.is_admin,
                            "Use “Sync templates” to copy your approved templates from Meta.",
                            "Ask an admin to sync the templates from Meta.",
                        ),
                        size="2",
                        color_scheme="gray",
                    ),
                    align="center",
                    spacing="1",
                ),
                rx.vstack(
                    rx.text("No template matches these filters", weight="medium"),
                    rx.button(
                        "Clear filters", variant="soft", on_click=TemplatesState.clear_filters
                    ),
                    align="center",
                    spacing="2",
                ),
            ),
            align="center",
            spacing="2",
        ),
        padding="3rem 1rem",
        border="1px dashed var(--gray-6)",
        border_radius="var(--radius-3)",
        width="100%",
    )


def _table() -> rx.Component:
    return rx.cond(
        TemplatesState.rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.el.caption("WhatsApp templates", class_name="sr-only"),
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Language", display=HIDE_ON_MOBILE),
                        rx.table.column_header_cell("Category", display=HIDE_ON_MOBILE),
                        rx.table.column_header_cell("Status"),
                        rx.table.column_header_cell("Quality", display=HIDE_ON_MOBILE),
                        rx.table.column_header_cell(
                            rx.el.span("Preview", class_name="sr-only"), display=HIDE_ON_MOBILE
                        ),
                    )
                ),
                rx.table.body(rx.foreach(TemplatesState.rows, _row)),
                variant="surface",
                size="2",
                width="100%",
                id="templates-table",
            ),
            width="100%",
            overflow_x="auto",
        ),
        _empty(),
    )


def _field_row(f: rx.Var[FormField]) -> rx.Component:
    return rx.hstack(
        rx.text(f.label, size="2", color_scheme="gray", flex="1", min_width="0"),
        rx.cond(
            f.is_media,
            rx.text("chosen when sending", size="2", color_scheme="gray", font_style="italic"),
            rx.code(rx.cond(f.example != "", f.example, "—"), variant="soft", size="2"),
        ),
        justify="between",
        align="center",
        width="100%",
        padding_y="0.3rem",
        border_bottom="1px solid var(--gray-4)",
    )


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray", width="6rem", flex_shrink="0"),
        value,
        align="center",
        width="100%",
    )


def _send_note() -> rx.Component:
    s = TemplatesState.selected
    return rx.callout(
        rx.cond(
            s.sendable,
            "Agents send this template from a conversation's composer, even when the 24-hour "
            "window is closed.",
            rx.cond(
                s.category == "AUTHENTICATION",
                "Authentication templates are shown here but can't be sent from the inbox.",
                "Only approved templates can be sent.",
            ),
        ),
        icon=rx.cond(s.sendable, "send", "ban"),
        color_scheme=rx.cond(s.sendable, "grass", "gray"),
        size="1",
        variant="surface",
    )


def _dialog() -> rx.Component:
    s = TemplatesState.selected
    return rx.dialog.root(
        rx.dialog.content(
            rx.flex(
                rx.vstack(
                    rx.dialog.title(
                        rx.code(s.name, variant="ghost", size="4", weight="bold"),
                        margin="0",
                        style={"wordBreak": "break-all"},
                    ),
                    rx.dialog.description(
                        "Preview with the examples approved by Meta.",
                        size="2",
                        color_scheme="gray",
                    ),
                    spacing="1",
                    flex="1",
                    min_width="0",
                ),
                rx.dialog.close(
                    rx.icon_button(
                        rx.icon("x", size=18),
                        variant="ghost",
                        color_scheme="gray",
                        aria_label="Close",
                    )
                ),
                justify="between",
                align="start",
                gap="3",
                margin_bottom="1rem",
            ),
            rx.grid(
                rx.box(
                    template_preview(TemplatesState.selected_preview, id="template-preview"),
                    width="100%",
                    max_width="24rem",
                ),
                rx.vstack(
                    _fact("Status", _status_badge(s.status)),
                    rx.cond(
                        s.rejected_reason != "",
                        _fact(
                            "Reason",
                            rx.text(
                                s.rejected_reason.lower().replace("_", " "),
                                size="2",
                                color_scheme="red",
                            ),
                        ),
                    ),
                    _fact("Category", rx.text(_category_text(s.category), size="2")),
                    _fact("Language", rx.code(s.language, variant="ghost")),
                    _fact("Quality", _quality(s.quality)),
                    _fact("Updated", rx.text(s.updated, size="2")),
                    rx.cond(
                        TemplatesState.selected_fields.length() > 0,
                        rx.vstack(
                            rx.text("Variables", size="2", weight="medium", margin_top="0.5rem"),
                            rx.vstack(
                                rx.foreach(TemplatesState.selected_fields, _field_row),
                                spacing="0",
                                width="100%",
                            ),
                            spacing="1",
                            width="100%",
                        ),
                    ),
                    _send_note(),
                    spacing="2",
                    width="100%",
                ),
                columns=rx.breakpoints(initial="1", sm="2"),
                gap="5",
                width="100%",
            ),
            max_width="52rem",
            width="calc(100vw - 2rem)",
        ),
        open=TemplatesState.dialog_open,
        on_open_change=TemplatesState.set_dialog_open,
    )


def _no_whatsapp() -> rx.Component:
    return rx.callout(
        TemplatesState.wa_reason,
        icon="lock",
        color_scheme="amber",
        role="status",
        id="whatsapp-unavailable",
        width="100%",
    )


def templates_body() -> rx.Component:
    return rx.cond(
        TemplatesState.wa_reason != "",
        rx.vstack(
            rx.heading("WhatsApp templates", size="4", as_="h2"),
            _no_whatsapp(),
            padding=rx.breakpoints(initial="1rem", sm="1.5rem"),
            spacing="3",
            width="100%",
            max_width="76rem",
        ),
        _templates_main(),
    )


def _templates_main() -> rx.Component:
    return rx.vstack(
        _intro(),
        _toolbar(),
        _notes(),
        rx.hstack(
            rx.text(
                TemplatesState.rows.length().to_string()
                + " of "
                + TemplatesState.total.to_string()
                + " templates",
                size="1",
                color_scheme="gray",
            ),
            width="100%",
        ),
        _table(),
        _dialog(),
        rx.box(
            rx.moment(interval=HEARTBEAT_MS, on_change=TemplatesState.heartbeat),
            display="none",
            aria_hidden="true",
        ),
        on_unmount=TemplatesState.stop_listening,
        padding=rx.breakpoints(initial="1rem", sm="1.5rem"),
        spacing="3",
        width="100%",
        max_width="76rem",
        height="100%",
        overflow_y="auto",
    )


@rx.page(
    route=routes.TEMPLATES,
    title="Templates · CT Text",
    on_load=[AuthState.require_login, TemplatesState.load],
)
def templates_page() -> rx.Component:
    return app_page("Templates", templates_body)
