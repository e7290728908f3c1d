"""The authorization matrix: what every HTTP route, page and state event handler of ctreflex must
answer to each of six roles. This is the ONE place a new route, page or handler is listed.

tests/security/test_authz_matrix.py enumerates what the app really has (the FastAPI app of
ctreflex.api.build_api(), the pages registered by ctreflex.pages, every rx.State subclass's
event_handlers) and fails, naming them, on anything missing here or listed here but gone.

It lives with the tests, not in ctreflex/: the app enforces access in its dependencies
(api/deps.py), its session guard (state/auth.py) and each handler; this table is the oracle that
checks them, and the app must not be able to satisfy it by reading it.

Roles (tests/security/conftest.py): anonymous, logged_out (a revoked session; over the websocket
a tab that was signed in and filled before its session ended), agent and admin of Demo Bakery,
other_admin (Harbor Tools' admin), operator (the platform operator).

Answers
-------
HTTP routes
  "401" / "403"    that status, and a body without any tenant's data
  "ok"             2xx, and nothing of another tenant in the body
  "own-only"       a route with an id: the role's own id answers 2xx, the other tenant's id 404
                   (or 403) and its body shows nothing of the other tenant
  "404"            a route with an id, the other tenant's id: 404/403, nothing of it in the body
  "cookie-blind"   public by design (signed webhooks, the simulators): the cookie changes nothing,
                   every role gets the same status, never a 5xx, no tenant data
Pages (GET of the static shell for every role: 200; then the on_load events over the websocket)
  "redirect-login" the tab is sent to /login, and no delta carries any tenant's data
  "redirect-inbox" the tab is sent to /inbox, and no delta carries data it may not see
  "ok"             no redirect away; no data of another tenant
Event handlers (sent over the websocket as the browser sends them)
  "no-data"        no delta carries any tenant's rows, nothing changes in the database
  "no-admin-data"  (agent on an admin page) nothing of the other tenant, none of its own
                   account's admin-only data, nothing changes in the database
  "ok"             the handler may work for the role's own account: no delta carries another
                   tenant's data and nothing of another tenant changes in the database
  "refused"        nothing changes in the database (platform jobs for a tenant admin)
"""

from __future__ import annotations

import dataclasses

ROLES = ("anonymous", "logged_out", "agent", "admin", "other_admin", "operator")
PLATFORM_JOB_ID = "window_sweep"


@dataclasses.dataclass(frozen=True)
class Row:
    """The expected answer per role, plus how to call the thing."""

    cells: dict[str, str]
    # path params / arguments by name -> what to pass: "foreign:<thing>" (the other tenant's id),
    # "own:<thing>", or a literal
    args: dict = dataclasses.field(default_factory=dict)
    # May be absent from the app (a slice that adds it has not landed / a mode-dependent mount).
    optional: bool = False
    note: str = ""


def row(anonymous, logged_out, agent, admin, other_admin, operator, **kw) -> Row:
    values = (anonymous, logged_out, agent, admin, other_admin, operator)
    return Row(cells=dict(zip(ROLES, values, strict=True)), **kw)


# ----------------------------------------------------------------------------- HTTP routes
# Shapes
SIGNED_IN = ("401", "401", "ok", "ok", "ok", "ok")
ADMIN_ONLY = ("401", "401", "403", "ok", "ok", "ok")
BLIND = ("cookie-blind",) * 6
API_KEY_ONLY = ("401",) * 6
API_ARGS = {
    "contact_id": 1,
    "conversation_id": "conversation",
    "message_id": "message",
    "webhook_id": 1,
}

HTTP_ROUTES: dict[str, Row] = {
    # signing in and out (C): a form POST; the answer never depends on who asks
    "POST /auth/login": row(*BLIND, optional=True, note="303 back to /login for bad input"),
    "POST /auth/logout": row(*BLIND, optional=True, note="303 to /login; clears the cookie"),
    "GET /api/me": row(*SIGNED_IN),
    # health for load balancers (issue 13): public, no tenant data, no URL or secret
    "GET /healthz": row(*BLIND),
    "GET /readyz": row(*BLIND),
    "GET /api/admin/numbers": row(*ADMIN_ONLY),
    "GET /api/admin/users": row(*ADMIN_ONLY),
    "GET /api/admin/usage.csv": row(*ADMIN_ONLY),
    "GET /api/admin/usage": row(*ADMIN_ONLY),
    "GET /api/admin/whatsapp": row(*ADMIN_ONLY),
    "GET /api/admin/events": row(*ADMIN_ONLY),
    # a tenant admin's Jobs list holds only its own account's work; the operator sees the platform
    "GET /api/admin/jobs": row(*ADMIN_ONLY),
    # window_sweep is a platform-wide job (no account-scoped variant): only the operator runs it
    "POST /api/admin/jobs/{job_id}/run": row(
        "401", "401", "403", "403", "403", "ok", args={"job_id": PLATFORM_JOB_ID}
    ),
    # parked webhook events: an admin of the owning account (the operator: any account's)
    "POST /api/admin/events/{event_id}/retry": row(
        "401", "401", "403", "own-only", "own-only", "ok", args={"event_id": "event"}
    ),
    "POST /api/admin/events/{event_id}/discard": row(
        "401", "401", "403", "own-only", "own-only", "ok", args={"event_id": "event_b"}
    ),
    "GET /api/templates": row(*SIGNED_IN),
    # an agent records an opt-out / opt-in the customer asked for in words (issue 14)
    "POST /api/conversations/{conversation_id}/opt-out": row(
        "401", "401", "own-only", "own-only", "own-only", "404",
        args={"conversation_id": "conversation"},
    ),
    "POST /api/conversations/{conversation_id}/opt-in": row(
        "401", "401", "own-only", "own-only", "own-only", "404",
        args={"conversation_id": "conversation"},
    ),
    "POST /api/templates/sync": row(*ADMIN_ONLY),
    "GET /media/{media_id}": row(
        "401", "401", "own-only", "own-only", "own-only", "404", args={"media_id": "media"}
    ),
    # the MMS fetch URL for the SMS provider: only a valid signature opens it, never a cookie
    "GET /webhooks/sms/media/{media_id}": row(*BLIND, args={"media_id": "media"}),
    "GET /webhooks/whatsapp": row(*BLIND),
    "POST /webhooks/whatsapp": row(*BLIND),
    "POST /webhooks/sms": row(*BLIND),
    "POST /webhooks/sms/status": row(*BLIND),
    # The public REST API (issue 16): an API key (Bearer) opens it, never the session cookie, so
    # every cookie role gets 401; the key's scopes and tenant are tests/api_v1's matrix.
    **{
        route: row(*API_KEY_ONLY, args=API_ARGS)
        for route in (
            "GET /api/v1/contacts",
            "POST /api/v1/contacts",
            "GET /api/v1/contacts/{contact_id}",
            "PATCH /api/v1/contacts/{contact_id}",
            "GET /api/v1/contacts/{contact_id}/opt-out",
            "GET /api/v1/conversations",
            "GET /api/v1/conversations/{conversation_id}",
            "GET /api/v1/conversations/{conversation_id}/messages",
            "GET /api/v1/messages/{message_id}",
            "POST /api/v1/messages",
            "POST /api/v1/media",
            "GET /api/v1/templates",
            "GET /api/v1/numbers",
            "GET /api/v1/usage",
            "GET /api/v1/usage.csv",
            "GET /api/v1/webhooks",
            "POST /api/v1/webhooks",
            "GET /api/v1/webhooks/{webhook_id}",
            "DELETE /api/v1/webhooks/{webhook_id}",
            # the team inbox (issue 15, team-a): api/v1/team.py
            "GET /api/v1/users",
            "POST /api/v1/conversations/{conversation_id}/assign",
            "POST /api/v1/conversations/{conversation_id}/resolve",
        )
    },
    # its OpenAPI document and reference page are public (no account data)
    "GET /api/v1/openapi.json": row(*BLIND),
    "GET /api/v1/docs": row(*BLIND),
    # The simulators are fakes of Meta / Twilio, mounted only in their simulator modes; their data
    # is the simulator's own, never the app's sessions.
    "MOUNT /simulator": row(*BLIND, optional=True),
    "MOUNT /sms-simulator": row(*BLIND, optional=True),
}

# ----------------------------------------------------------------------------- pages
LOGIN_FIRST = ("redirect-login", "redirect-login")
PAGES: dict[str, Row] = {
    "/": row(*LOGIN_FIRST, "redirect-inbox", "redirect-inbox", "redirect-inbox", "redirect-inbox"),
    "/login": row(
        "ok", "ok", "redirect-inbox", "redirect-inbox", "redirect-inbox", "redirect-inbox"
    ),
    "/inbox": row(*LOGIN_FIRST, "ok", "ok", "ok", "ok"),
    # opened with the OTHER tenant's conversation id: the page shows nothing of it
    "/inbox/[conversation_id]": row(
        *LOGIN_FIRST, "ok", "ok", "ok", "ok", args={"conversation_id": "foreign:conversation"}
    ),
    "/templates": row(*LOGIN_FIRST, "ok", "ok", "ok", "ok"),
    "/numbers": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/usage": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/admin": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/admin/users": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/admin/plans": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/admin/jobs": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/admin/events": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/admin/api": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    # canned replies and labels (issue 15): admins manage them
    "/admin/replies": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    "/admin/labels": row(*LOGIN_FIRST, "redirect-inbox", "ok", "ok", "ok"),
    # the custom 404 page (issue 14): static, no on_load, nothing of any account
    "/404": row("ok", "ok", "ok", "ok", "ok", "ok"),
}

# ----------------------------------------------------------------------------- event handlers
# Keyed "<StateClass>.<handler>". Shapes per kind of state:
USER = ("no-data", "no-data", "ok", "ok", "ok", "ok")  # any signed-in user, own account only
ADMIN = ("no-data", "no-data", "no-admin-data", "ok", "ok", "ok")  # admins, own account only
PUBLIC = ("no-data", "no-data", "ok", "ok", "ok", "ok")  # the login page and Reflex's own events
# The run of a platform-wide job: the operator's only.
PLATFORM_JOB = ("no-data", "no-data", "no-admin-data", "refused", "refused", "ok")

FOREIGN = {
    "user_id": "foreign:user",
    "message_id": "foreign:message",
    "number_id": "foreign:number",
    "template_id": "foreign:template",
    "conversation_id": "foreign:conversation",
    "event_id": "foreign:event",
    "label_id": "foreign:label",
    "reply_id": "foreign:canned",
}


def handlers(state: str, shape: tuple, names: str, **kw) -> dict[str, Row]:
    return {f"{state}.{name}": row(*shape, **kw) for name in names.split()}


HANDLERS: dict[str, Row] = {
    # Reflex's own states (every tab has them): they must never replay a tab's old rows.
    **handlers("State", PUBLIC, "hydrate hydrate_and_load set_is_hydrated setvar"),
    **handlers("OnLoadInternalState", PUBLIC, "on_load_internal set_is_hydrated setvar"),
    **handlers("UpdateVarsInternalState", PUBLIC, "update_vars_internal setvar"),
    **handlers("FrontendEventExceptionState", PUBLIC, "handle_frontend_exception setvar"),
    **handlers("SharedStateBaseInternal", PUBLIC, "setvar"),
    # who is signed in
    **handlers("AuthState", PUBLIC, "require_login require_admin open_home"),
    # signing out: the tab goes to /login with nothing of the account left in it
    **handlers("AuthState", ("redirect-login",) * 6, "logout"),
    # a client may set any public var: pretending to be an admin must change nothing
    **handlers("AuthState", USER, "setvar", args={"var_name": "role", "value": "admin"}),
    **handlers("LoginState", PUBLIC, "on_load setvar"),
    # inbox (list, thread, composer, template picker: ctreflex/pages/inbox/)
    **handlers("InboxRowsState", USER, "setvar", args={"var_name": "counts", "value": {}}),
    **handlers("InboxListState", USER, "setvar", args={"var_name": "query", "value": "x"}),
    **handlers("InboxListState", USER, "set_query clear_query set_list_filter set_sort"),
    # the team inbox's views (issue 15, team-a); a client-set view/user is cleaned on the server
    **handlers("InboxListState", USER, "set_view set_status_filter set_queue_hours"),
    # the list's and the thread's next pages (issue 17): the cursors are backend vars, the
    # account the tab's own; a client-set open_id of another tenant loads nothing
    **handlers("InboxListState", USER, "show_more"),
    **handlers("InboxState", USER, "load_older"),
    # assign / status / bulk / settings (pages/inbox/assign.py): ids of another account (the
    # open conversation, a ticked one, a colleague) are refused by the services; the account's
    # auto-assign setting is an admin's (an agent is told so)
    **handlers(
        "TeamState",
        USER,
        "load assign_to assign_me unassign resolve reopen snooze open_snooze_dialog "
        "set_snooze_dialog set_snooze_at snooze_custom clear_selection bulk_assign "
        "bulk_assign_me bulk_unassign bulk_resolve set_auto_assign set_reminders dismiss_notice",
    ),
    **handlers("TeamState", USER, "toggle_selected setvar"),
    # the open conversation's id is a public var: set to the other tenant's, nothing may follow
    **handlers(
        "InboxState",
        USER,
        "setvar",
        args={"var_name": "open_id", "value": "foreign:conversation"},
    ),
    **handlers(
        "InboxState",
        USER,
        "load toggle_details heartbeat send_read_receipt listen set_tab_visibility",
    ),
    **handlers(
        "ComposerState",
        USER,
        "typed start_reply cancel_reply choose_channel send deliver retry resend_sms "
        "handle_upload upload_progressed upload_rejected upload_cancelled remove_attachment "
        "setvar",
    ),
    # the business's reactions (issue 14): another tenant's message is refused
    **handlers(
        "ReactionState",
        USER,
        "react",
        args={"message_id": "foreign:message", "emoji": "\N{THUMBS UP SIGN}"},
    ),
    **handlers("ReactionState", USER, "setvar"),
    **handlers(
        "TemplatePickerState",
        USER,
        "open_picker close_picker set_picker_open set_picker_query choose_template "
        "back_to_templates set_template_value submit_template deliver_template "
        "handle_header_upload header_upload_started header_upload_rejected remove_header_media "
        "setvar",
    ),
    # team inbox (issue 15): notes and @mentions, labels, canned replies; another account's
    # label, canned reply or user id is never found
    **handlers(
        "NotesState",
        USER,
        "set_mode draft_changed choose_mention close_mentions add_note toggle_mentions_view setvar",
    ),
    **handlers("LabelsState", USER, "add_label remove_label set_label_filter setvar"),
    **handlers("CannedState", USER, "draft_changed close_canned choose_canned setvar"),
    # "New conversation" (issue 14): a contact of the other tenant is "does not exist"; nothing
    # is created before the template is sent (that send is TemplatePickerState's)
    **handlers(
        "NewConversationState",
        USER,
        "open_new set_nc_open set_nc_query check_number clear_choice "
        "choose_template setvar",
    ),
    **handlers(
        "NewConversationState", USER, "pick_contact", args={"contact_id": "foreign:contact"}
    ),
    # the contact panel's edit (issue 14): only the open conversation's contact, own account
    **handlers("ContactPanelState", USER, "start_edit cancel_edit save_contact setvar"),
    # templates (agents and admins); sync is for admins (an agent is told so)
    **handlers(
        "TemplatesState",
        USER,
        "load set_search set_status_filter set_category_filter set_language_filter "
        "clear_filters open_template set_dialog_open sync heartbeat stop_listening listen setvar",
    ),
    # admin pages
    **handlers(
        "NumbersState",
        ADMIN,
        "load disable enable ask_disable set_confirm_open confirm_disable setvar",
    ),
    **handlers(
        "NumberWizardState",
        ADMIN,
        "open_wizard set_wizard_open set_waba_id set_token set_pnid "
        "set_method set_code set_pin back submit_account send_code submit_code submit_pin setvar",
    ),
    **handlers("UsageState", ADMIN, "load set_start set_end apply recompute setvar"),
    **handlers("AdminState", ADMIN, "load setvar"),
    **handlers("PlansState", ADMIN, "load setvar"),
    **handlers(
        "UsersState",
        ADMIN,
        "load toggle_form set_new_email set_new_name set_new_role set_new_password add "
        "change_role set_active setvar",
    ),
    **handlers("JobsState", ADMIN, "load setvar"),
    **handlers("JobsState", PLATFORM_JOB, "run_now", args={"job_id": PLATFORM_JOB_ID}),
    **handlers("EventsState", ADMIN, "load set_state_filter setvar"),
    # API keys and outbound webhooks (issue 16); ids of another account are refused
    **handlers(
        "ApiKeysState",
        ADMIN,
        "load create_key dismiss_key revoke create_endpoint dismiss_secret "
        "set_endpoint_active replay refresh setvar",
    ),
    **handlers("EventsState", ADMIN, "retry", args={"event_id": "foreign:event"}),
    **handlers("CannedAdminState", ADMIN, "load start_new start_edit cancel save delete setvar"),
    **handlers("LabelsAdminState", ADMIN, "load start_new start_edit cancel save delete setvar"),
    **handlers("EventsState", ADMIN, "discard", args={"event_id": "foreign:event_b"}),
}

# Arguments by parameter name for handlers without their own `args` (the rest get a harmless
# literal by annotation: "matrix" for str, False for bool, {} for dict, [] for list).
DEFAULT_ARGS = {
    **FOREIGN,
    "role": "admin",  # change_role: an escalation attempt on the other tenant's user
    "active": False,  # set_active: a deactivation attempt on the other tenant's user
    "job_id": PLATFORM_JOB_ID,
    "channel": "whatsapp",
    "form": {"message": "MATRIX-PROBE", "email": "x@y.test", "password": "x"},
    "files": [],
    "progress": {"progress": 0.5},
    "rejected": [],
}

# Which page a state's events are sent from (router_data); ids as in PAGES' args.
STATE_PAGES = {
    "InboxState": "/inbox/[conversation_id]",
    "InboxRowsState": "/inbox/[conversation_id]",
    "InboxListState": "/inbox/[conversation_id]",
    "ComposerState": "/inbox/[conversation_id]",
    "TeamState": "/inbox/[conversation_id]",
    "TemplatePickerState": "/inbox/[conversation_id]",
    "NotesState": "/inbox/[conversation_id]",
    "LabelsState": "/inbox/[conversation_id]",
    "CannedState": "/inbox/[conversation_id]",
    "CannedAdminState": "/admin/replies",
    "LabelsAdminState": "/admin/labels",
    "NewConversationState": "/inbox/[conversation_id]",
    "ContactPanelState": "/inbox/[conversation_id]",
    "ReactionState": "/inbox/[conversation_id]",
    "TemplatesState": "/templates",
    "NumbersState": "/numbers",
    "NumberWizardState": "/numbers",
    "UsageState": "/usage",
    "AdminState": "/admin",
    "UsersState": "/admin/users",
    "PlansState": "/admin/plans",
    "JobsState": "/admin/jobs",
    "EventsState": "/admin/events",
    "ApiKeysState": "/admin/api",
    "LoginState": "/login",
}


# ----------------------------------------------------------------------------- what the app has
def app_http_routes() -> dict[str, object]:
    """Every HTTP entry of the FastAPI app the Reflex app mounts: "METHOD /path" per route (HEAD
    left out), "MOUNT /path" per mounted sub-app, and the POST paths ASGI middlewares answer
    themselves (a `routes` dict, like the webhook lane). Value: the route object."""
    from ctreflex.api import build_api

    api = build_api()
    found: dict[str, object] = {}

    def add_route(methods, path, obj):
        for method in sorted(set(methods or ()) - {"HEAD"}):
            found[f"{method} {path}"] = obj

    for route in api.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI's included router (lazy)
            for ctx in contexts() if callable(contexts) else contexts:
                add_route(ctx.methods, ctx.path_format, ctx)
        elif type(route).__name__ == "Mount":
            found[f"MOUNT {route.path}"] = route
        elif hasattr(route, "methods"):
            add_route(route.methods, getattr(route, "path_format", route.path), route)
    for mw in api.user_middleware:
        try:
            instance = mw.cls(None, *mw.args, **mw.kwargs)
        except Exception:  # noqa: BLE001 - a middleware that cannot be built bare has no routes
            continue
        lane = getattr(instance, "routes", None)
        if isinstance(lane, dict):
            for path in lane:
                if not path.startswith("/bench"):
                    found[f"POST {path}"] = instance
    return found


def app_pages() -> dict[str, list]:
    """Every page route the app registers, with its on_load handlers."""
    from ctreflex.ctreflex import app

    pages = {}
    for _render, kwargs in app._registration_context.decorated_pages:
        on_load = kwargs.get("on_load") or []
        pages[kwargs.get("route", "/")] = on_load if isinstance(on_load, list) else [on_load]
    return pages


def app_states() -> list[type]:
    """rx.State and every substate (the app's pages and Reflex's own)."""
    import reflex as rx

    import ctreflex.pages  # noqa: F401  (registers every page state)

    out, todo = [], [rx.State]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(sorted(cls.get_substates(), key=lambda c: c.get_full_name()))
    return out


def app_handlers() -> dict[str, tuple[type, str]]:
    """Map "<StateClass>.<handler>" to (state class, handler name), for every event handler a
    browser can name over the websocket (own handlers, setters and setvar)."""
    found: dict[str, tuple[type, str]] = {}
    for cls in app_states():
        for name in cls.event_handlers:
            key = f"{cls.__name__}.{name}"
            assert key not in found, f"two states are called {cls.__name__}"
            found[key] = (cls, name)
    return found
