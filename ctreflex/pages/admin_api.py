"""/admin/api (admins): API keys for the public REST API (created and shown once, revoked) and
outbound webhooks (endpoints with their events and a signing secret shown once, the recent
deliveries with their attempts, Replay). The guide is docs/API.md; the reference is
/api/v1/docs."""

from __future__ import annotations

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.pages.admin import admin_user, error_callout, notice_callout, page_body
from ctreflex.pages.admin_action import admin_action
from ctreflex.services import api_keys, timefmt, webhook_queue
from ctreflex.services import outbound_webhooks as hooks
from ctreflex.services.api_keys import KeyRow
from ctreflex.services.outbound_webhooks import DeliveryRow, EndpointRow
from ctreflex.state.auth import AuthState

INPUT_STYLE = {"width": "100%"}
CLEAR = ("notice", "error", "key_error", "endpoint_error")  # the page's messages


class ApiKeysState(AuthState):
    keys: list[KeyRow] = []
    endpoints: list[EndpointRow] = []
    deliveries: list[DeliveryRow] = []
    notice: str = ""
    error: str = ""
    key_error: str = ""
    endpoint_error: str = ""
    # shown once, right after creation; gone on the next load
    new_key: str = ""
    new_key_name: str = ""
    new_secret: str = ""
    new_secret_url: str = ""

    def _refresh(self, user) -> None:
        fmt = lambda d: timefmt.format_local(d, user.timezone)  # noqa: E731
        with db.session_scope() as session:
            self.keys = api_keys.list_keys(session=session, account_id=user.account_id, fmt=fmt)
            self.endpoints = hooks.list_endpoints(
                session=session, account_id=user.account_id, fmt=fmt
            )
            self.deliveries = hooks.list_deliveries(
                session=session, account_id=user.account_id, fmt=fmt
            )

    @rx.event
    def load(self):
        for name in CLEAR:
            setattr(self, name, "")
        self.new_key = self.new_key_name = self.new_secret = self.new_secret_url = ""
        user = admin_user(self)
        if user is None:
            self.keys, self.endpoints, self.deliveries = [], [], []
            return
        self._refresh(user)

    # ------------------------------------------------------------------------- API keys

    @rx.event
    def create_key(self, form: dict):
        form = form or {}
        scopes = [s for s in api_keys.SCOPES if form.get(f"scope-{s}")]

        def work(session, user) -> None:
            new = api_keys.create_key(
                session=session,
                account_id=user.account_id,
                name=str(form.get("key-name", "")),
                scopes=scopes,
                created_by_id=user.user_id,
            )
            self.new_key, self.new_key_name = new.key, new.name

        if admin_action(self, work, clear=CLEAR, error="key_error"):
            return rx.set_focus("new-key-value")

    @rx.event
    def dismiss_key(self):
        self.new_key = self.new_key_name = ""

    @rx.event
    def revoke(self, key_id: int):
        def work(session, user) -> str:
            row = api_keys.revoke_key(
                session=session, account_id=user.account_id, key_id=int(key_id)
            )
            return f"The key {row.name} ({row.prefix}…) is revoked: it stops working now."

        admin_action(self, work, clear=CLEAR, not_found="No such API key in your account.")

    # -------------------------------------------------------------------------- webhooks

    @rx.event
    def create_endpoint(self, form: dict):
        form = form or {}
        events = [e for e in hooks.EVENTS if form.get(f"event-{e}")]

        def work(session, user) -> None:
            new = hooks.create_endpoint(
                session=session,
                account_id=user.account_id,
                url=str(form.get("endpoint-url", "")),
                events=events,
                description=str(form.get("endpoint-description", "")),
            )
            self.new_secret, self.new_secret_url = new.secret, new.url

        if admin_action(self, work, clear=CLEAR, error="endpoint_error"):
            return rx.set_focus("new-secret-value")

    @rx.event
    def dismiss_secret(self):
        self.new_secret = self.new_secret_url = ""

    @rx.event
    def set_endpoint_active(self, endpoint_id: int, active: bool):
        def work(session, user) -> str:
            hooks.set_active(
                session=session,
                account_id=user.account_id,
                endpoint_id=int(endpoint_id),
                active=bool(active),
            )
            return "Endpoint turned on." if active else "Endpoint turned off."

        admin_action(self, work, clear=CLEAR, not_found="No such endpoint in your account.")

    @rx.event
    async def replay(self, delivery_id: int):
        def work(session, user) -> str:
            hooks.replay(
                session=session, account_id=user.account_id, delivery_id=int(delivery_id)
            )
            return f"Delivery {delivery_id} will be sent again now."

        if admin_action(self, work, clear=CLEAR, not_found="No such delivery in your account."):
            webhook_queue.kick_soon()

    @rx.event
    def refresh(self):
        user = admin_user(self)
        if user is not None:
            self._refresh(user)


# ------------------------------------------------------------------------------- views


def _check(name: str, label: str, hint: str, checked: bool = False) -> rx.Component:
    return rx.el.label(
        rx.el.input(type="checkbox", name=name, id=name, default_checked=checked),
        rx.text(label, as_="span", weight="medium", size="2"),
        rx.text(" — " + hint, as_="span", size="2", color_scheme="gray"),
        html_for=name,
        style={"display": "flex", "gap": "0.4rem", "alignItems": "center"},
    )


def _shown_once(title: str, value, input_id: str, text: str, on_dismiss) -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("key-round", aria_hidden="true")),
        rx.vstack(
            rx.text(title, weight="bold"),
            rx.text(text, size="2"),
            rx.input(
                id=input_id,
                value=value,
                read_only=True,
                aria_label=title,
                width="100%",
                font_family="monospace",
            ),
            rx.button("I have copied it", size="1", variant="soft", on_click=on_dismiss),
            spacing="2",
            width="100%",
        ),
        color_scheme="amber",
        role="status",
        width="100%",
    )


def _key_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Create an API key", size="3", as_="h3"),
                rx.el.label("Name", html_for="key-name", style={"fontWeight": 500}),
                rx.input(
                    id="key-name",
                    name="key-name",
                    placeholder="e.g. Booking system",
                    max_length=api_keys.NAME_MAX,
                    style=INPUT_STYLE,
                ),
                rx.el.fieldset(
                    rx.el.legend("Scopes", style={"fontWeight": 500}),
                    *[
                        _check(f"scope-{s}", s, api_keys.SCOPE_HELP[s], checked=s == "read")
                        for s in api_keys.SCOPES
                    ],
                    style={"border": "none", "padding": 0, "display": "grid", "gap": "0.3rem"},
                ),
                rx.cond(
                    ApiKeysState.key_error != "",
                    rx.text(ApiKeysState.key_error, color="red", size="2", role="alert"),
                ),
                rx.button("Create key", type="submit"),
                spacing="2",
                width="100%",
            ),
            on_submit=ApiKeysState.create_key,
            reset_on_submit=True,
        ),
        width="100%",
    )


def _key_row(k: rx.Var[KeyRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(k.name),
        rx.table.cell(rx.code(k.prefix + "…")),
        rx.table.cell(k.scopes),
        rx.table.cell(k.created, white_space="nowrap"),
        rx.table.cell(k.last_used, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                k.revoked,
                rx.badge("Revoked " + k.revoked_at, color_scheme="gray"),
                rx.button(
                    "Revoke",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    aria_label="Revoke key " + k.name,
                    on_click=ApiKeysState.revoke(k.id),
                ),
            )
        ),
        id="key-" + k.id.to_string(),
    )


def _endpoint_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Add a webhook endpoint", size="3", as_="h3"),
                rx.el.label("URL (https://…)", html_for="endpoint-url", style={"fontWeight": 500}),
                rx.input(
                    id="endpoint-url",
                    name="endpoint-url",
                    placeholder="https://example.com/ctt-webhook",
                    style=INPUT_STYLE,
                ),
                rx.el.label(
                    "Description", html_for="endpoint-description", style={"fontWeight": 500}
                ),
                rx.input(
                    id="endpoint-description",
                    name="endpoint-description",
                    max_length=200,
                    style=INPUT_STYLE,
                ),
                rx.el.fieldset(
                    rx.el.legend("Events", style={"fontWeight": 500}),
                    *[_check(f"event-{e}", e, hooks.EVENT_HELP[e], True) for e in hooks.EVENTS],
                    style={"border": "none", "padding": 0, "display": "grid", "gap": "0.3rem"},
                ),
                rx.cond(
                    ApiKeysState.endpoint_error != "",
                    rx.text(ApiKeysState.endpoint_error, color="red", size="2", role="alert"),
                ),
                rx.button("Add endpoint", type="submit"),
                spacing="2",
                width="100%",
            ),
            on_submit=ApiKeysState.create_endpoint,
            reset_on_submit=True,
        ),
        width="100%",
    )


def _endpoint_row(e: rx.Var[EndpointRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.vstack(rx.code(e.url), rx.text(e.description, size="1"))),
        rx.table.cell(e.events),
        rx.table.cell(e.pending.to_string() + " pending, " + e.failed.to_string() + " failed"),
        rx.table.cell(
            rx.cond(
                e.active,
                rx.button(
                    "Turn off",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    aria_label="Turn off endpoint " + e.url,
                    on_click=ApiKeysState.set_endpoint_active(e.id, False),
                ),
                rx.button(
                    "Turn on",
                    size="1",
                    variant="soft",
                    aria_label="Turn on endpoint " + e.url,
                    on_click=ApiKeysState.set_endpoint_active(e.id, True),
                ),
            )
        ),
    )


def _delivery_row(d: rx.Var[DeliveryRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(d.created, white_space="nowrap"),
        rx.table.cell(d.event_type),
        rx.table.cell(rx.code(d.endpoint_url), max_width="18rem"),
        rx.table.cell(
            rx.badge(
                d.state,
                color_scheme=rx.match(d.state, ("delivered", "green"), ("failed", "red"), "amber"),
            )
        ),
        rx.table.cell(
            rx.el.details(
                rx.el.summary(d.attempts.to_string() + " · " + d.last_result),
                rx.el.pre(d.history_text, style={"fontSize": "0.75rem", "whiteSpace": "pre-wrap"}),
            ),
            max_width="22rem",
        ),
        rx.table.cell(d.next_attempt, white_space="nowrap"),
        rx.table.cell(
            rx.button(
                "Replay",
                size="1",
                variant="soft",
                aria_label="Replay delivery " + d.id.to_string(),
                on_click=ApiKeysState.replay(d.id),
            )
        ),
        id="delivery-" + d.id.to_string(),
    )


def _table(caption: str, headers: list[str], body: rx.Component) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.el.caption(caption, class_name="sr-only"),
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(body),
            variant="surface",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
    )


def api_body() -> rx.Component:
    return page_body(
        rx.text(
            "Connect your booking system, shop or CRM: the REST API (reference at ",
            rx.link("/api/v1/docs", href="/api/v1/docs", is_external=True),
            ", OpenAPI document at ",
            rx.link("/api/v1/openapi.json", href="/api/v1/openapi.json", is_external=True),
            ") and webhooks that tell your systems what happens in the inbox.",
            size="2",
            color_scheme="gray",
        ),
        notice_callout(ApiKeysState.notice),
        error_callout(ApiKeysState.error),
        rx.heading("API keys", size="4", as_="h2"),
        rx.cond(
            ApiKeysState.new_key != "",
            _shown_once(
                "New API key: " + ApiKeysState.new_key_name,
                ApiKeysState.new_key,
                "new-key-value",
                "Copy it now: it is shown only once and stored only as a hash. Send it as "
                "Authorization: Bearer <key>.",
                ApiKeysState.dismiss_key,
            ),
        ),
        _key_form(),
        rx.cond(
            ApiKeysState.keys.length() > 0,
            _table(
                "API keys",
                ["Name", "Key", "Scopes", "Created", "Last used", "Action"],
                rx.foreach(ApiKeysState.keys, _key_row),
            ),
            rx.text("No API keys yet.", size="2", color_scheme="gray"),
        ),
        rx.heading("Webhooks", size="4", as_="h2"),
        rx.cond(
            ApiKeysState.new_secret != "",
            _shown_once(
                "Signing secret for " + ApiKeysState.new_secret_url,
                ApiKeysState.new_secret,
                "new-secret-value",
                "Copy it now: it is shown only once. Check each delivery's CTText-Signature "
                "header with it (docs/API.md).",
                ApiKeysState.dismiss_secret,
            ),
        ),
        _endpoint_form(),
        rx.cond(
            ApiKeysState.endpoints.length() > 0,
            _table(
                "Webhook endpoints",
                ["Endpoint", "Events", "Deliveries", "Action"],
                rx.foreach(ApiKeysState.endpoints, _endpoint_row),
            ),
        ),
        rx.hstack(
            rx.heading("Recent deliveries", size="3", as_="h3"),
            rx.button(
                rx.icon("refresh-cw", size=14, aria_hidden="true"),
                "Refresh",
                size="1",
                variant="soft",
                on_click=ApiKeysState.refresh,
            ),
            align="center",
            spacing="3",
        ),
        rx.cond(
            ApiKeysState.deliveries.length() > 0,
            _table(
                "Webhook deliveries",
                ["Queued", "Event", "Endpoint", "State", "Attempts", "Next try", "Action"],
                rx.foreach(ApiKeysState.deliveries, _delivery_row),
            ),
            rx.text("No deliveries yet.", size="2", color_scheme="gray"),
        ),
    )


@rx.page(
    route=routes.ADMIN_API,
    title="API & webhooks · CT Text",
    on_load=[AuthState.require_admin, ApiKeysState.load],
)
def api_page() -> rx.Component:
    return app_page("API & webhooks", api_body, admin=True)
