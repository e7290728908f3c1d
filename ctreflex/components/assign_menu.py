"""The team inbox's controls: the bar under the thread header (assignee menu, status menu with
snooze), the list's view switcher with its status filter, queue horizon and settings, the bulk
bar for ticked conversations, the row's tick box and assignee/status line, and the reminders
shown to an assignee. They read the states they render (InboxListState, TeamState)."""

from __future__ import annotations

import reflex as rx

from ctreflex.pages.inbox.assign import TeamState
from ctreflex.pages.inbox.listing import InboxListState
from ctreflex.services.conversations import ConversationRow
from ctreflex.services.inbox_views import VIEWS
from ctreflex.services.status import QUEUE_HOURS

STATUS_LABELS = [
    ("open", "Open"),
    ("snoozed", "Snoozed"),
    ("resolved", "Resolved"),
    ("any", "All statuses"),
]
STATUS_COLORS = {"open": "green", "snoozed": "amber", "resolved": "gray"}


def status_badge(status: rx.Var[str], text: rx.Var[str], **props) -> rx.Component:
    return rx.badge(
        rx.icon(
            rx.match(status, ("snoozed", "alarm-clock"), ("resolved", "circle-check"), "circle"),
            size=12,
            aria_hidden="true",
        ),
        text,
        color_scheme=rx.match(status, ("snoozed", "amber"), ("resolved", "gray"), "green"),
        variant="soft",
        radius="full",
        **props,
    )


# ---------------------------------------------------------------------------- thread bar


def _assignee_menu() -> rx.Component:
    detail = TeamState.detail
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("user-round", size=14, aria_hidden="true"),
                rx.cond(
                    detail.assignee_id > 0,
                    rx.text.span("Assigned to ", detail.assignee_name),
                    rx.text.span("Unassigned"),
                ),
                rx.icon("chevron-down", size=14, aria_hidden="true"),
                variant="soft",
                color_scheme="gray",
                size="1",
                id="assignee-button",
                class_name="ct-team-trigger",
            )
        ),
        rx.menu.content(
            rx.menu.item("Assign to me", on_select=TeamState.assign_me),
            rx.menu.separator(),
            rx.foreach(
                TeamState.colleagues,
                lambda c: rx.menu.item("Assign to " + c.name, on_select=TeamState.assign_to(c.id)),
            ),
            rx.cond(
                detail.assignee_id > 0,
                rx.fragment(
                    rx.menu.separator(),
                    rx.menu.item("Unassign", color="red", on_select=TeamState.unassign),
                ),
            ),
            size="1",
        ),
    )


def _status_menu() -> rx.Component:
    detail = TeamState.detail
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.text.span(detail.status_text),
                rx.icon("chevron-down", size=14, aria_hidden="true"),
                variant="soft",
                color_scheme=rx.match(
                    detail.status, ("snoozed", "amber"), ("resolved", "gray"), "green"
                ),
                size="1",
                id="status-button",
                class_name="ct-team-trigger",
            )
        ),
        rx.menu.content(
            rx.cond(
                detail.status == "open",
                rx.menu.item("Resolve", on_select=TeamState.resolve),
                rx.menu.item("Reopen", on_select=TeamState.reopen),
            ),
            rx.menu.separator(),
            rx.menu.item("Snooze 1 hour", on_select=TeamState.snooze("1h")),
            rx.menu.item("Snooze 3 hours", on_select=TeamState.snooze("3h")),
            rx.menu.item("Snooze until tomorrow 09:00", on_select=TeamState.snooze("tomorrow")),
            rx.menu.item("Snooze until Monday 09:00", on_select=TeamState.snooze("monday")),
            rx.menu.item("Snooze until a time…", on_select=TeamState.open_snooze_dialog),
            size="1",
        ),
    )


def _snooze_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Snooze until a time"),
            rx.dialog.description(
                "The conversation leaves the Open list and comes back at this time, or as soon "
                "as the customer writes. Times are in your time zone (",
                TeamState.timezone,
                ").",
                size="2",
            ),
            rx.el.label(
                "Snooze until",
                rx.input(
                    type="datetime-local",
                    value=TeamState.snooze_at,
                    min=TeamState.snooze_min,
                    step="1",
                    on_change=TeamState.set_snooze_at,
                    id="snooze-until",
                ),
                class_name="ct-team-field",
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.button("Snooze", on_click=TeamState.snooze_custom),
                justify="end",
                spacing="2",
                margin_top="1rem",
            ),
            max_width="26rem",
        ),
        open=TeamState.snooze_dialog,
        on_open_change=TeamState.set_snooze_dialog,
    )


def team_bar() -> rx.Component:
    """Under the thread header: who has it and its status, each a menu."""
    return rx.el.div(
        _assignee_menu(),
        _status_menu(),
        _snooze_dialog(),
        class_name="ct-team-bar",
        role="group",
        aria_label="Assignment and status",
    )


# ---------------------------------------------------------------------------- list


def _settings_popover() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.icon_button(
                rx.icon("settings-2", size=15),
                variant="ghost",
                color_scheme="gray",
                size="1",
                aria_label="Inbox settings",
                title="Inbox settings",
                type="button",
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Inbox settings", weight="bold", size="2"),
                rx.el.label(
                    rx.switch(
                        checked=TeamState.auto_assign,
                        on_change=TeamState.set_auto_assign,
                        disabled=~TeamState.can_admin,
                        size="1",
                    ),
                    rx.text.span("Assign a conversation to whoever replies first", size="2"),
                    class_name="ct-team-switch",
                ),
                rx.cond(
                    ~TeamState.can_admin,
                    rx.text("Only admins change this setting.", size="1", color="var(--gray-11)"),
                ),
                rx.el.label(
                    rx.switch(
                        checked=TeamState.reminders,
                        on_change=TeamState.set_reminders,
                        size="1",
                    ),
                    rx.text.span(
                        "Remind me 60 min before a window closes on my unanswered conversations",
                        size="2",
                    ),
                    class_name="ct-team-switch",
                ),
                spacing="3",
            ),
            max_width="20rem",
            side="bottom",
            align="end",
        ),
    )


def view_switcher() -> rx.Component:
    """Views (every inbox_views.VIEWS entry), the status filter, the queue's horizon."""
    current = InboxListState.view
    buttons = [
        rx.el.button(
            spec.label,
            type="button",
            aria_pressed=rx.cond(current == key, "true", "false"),
            class_name=rx.cond(current == key, "ct-view ct-view-active", "ct-view"),
            on_click=InboxListState.set_view(key),
        )
        for key, spec in VIEWS.items()
    ]
    return rx.el.div(
        rx.el.div(*buttons, role="group", aria_label="Views", class_name="ct-views"),
        rx.el.div(
            rx.cond(
                current == "queue",
                rx.select.root(
                    rx.select.trigger(
                        aria_label="Closing within", variant="soft", id="queue-hours"
                    ),
                    rx.select.content(
                        *[
                            rx.select.item(f"Closing within {h} h", value=str(h))
                            for h in QUEUE_HOURS
                        ]
                    ),
                    value=InboxListState.queue_hours.to_string(),
                    on_change=InboxListState.set_queue_hours,
                    size="1",
                ),
                rx.select.root(
                    rx.select.trigger(aria_label="Status", variant="soft", id="status-filter"),
                    rx.select.content(
                        *[rx.select.item(label, value=key) for key, label in STATUS_LABELS]
                    ),
                    value=InboxListState.status_filter,
                    on_change=InboxListState.set_status_filter,
                    size="1",
                ),
            ),
            _settings_popover(),
            class_name="ct-view-tools",
        ),
        class_name="ct-view-bar",
    )


def bulk_bar() -> rx.Component:
    """Shown while conversations are ticked: assign, unassign, resolve them at once."""
    return rx.cond(
        TeamState.selected_count > 0,
        rx.el.div(
            rx.text(
                TeamState.selected_count.to_string(),
                " selected",
                size="1",
                weight="medium",
                id="bulk-count",
            ),
            rx.button("Assign to me", size="1", variant="soft", on_click=TeamState.bulk_assign_me),
            rx.menu.root(
                rx.menu.trigger(rx.button("Assign to…", size="1", variant="soft")),
                rx.menu.content(
                    rx.foreach(
                        TeamState.colleagues,
                        lambda c: rx.menu.item(
                            "Assign to " + c.name, on_select=TeamState.bulk_assign(c.id)
                        ),
                    ),
                    size="1",
                ),
            ),
            rx.button("Unassign", size="1", variant="soft", on_click=TeamState.bulk_unassign),
            rx.button("Resolve", size="1", variant="soft", on_click=TeamState.bulk_resolve),
            rx.button(
                "Clear selection",
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=TeamState.clear_selection,
            ),
            class_name="ct-bulk-bar",
            role="toolbar",
            aria_label="Selected conversations",
        ),
    )


def row_tick(row: rx.Var[ConversationRow]) -> rx.Component:
    """The row's tick, a memoised component with plain props: a live update re-renders (and
    React re-sets the type and name of) only the ticks whose row or selection changed."""
    return conversation_tick(
        conv_id=row.id, name=row.name, checked=TeamState.selected.contains(row.id)
    )


@rx.memo
def conversation_tick(
    conv_id: rx.Var[int], name: rx.Var[str], checked: rx.Var[bool]
) -> rx.Component:
    return rx.el.input(
        type="checkbox",
        checked=checked,
        on_change=lambda _v: TeamState.toggle_selected(conv_id),
        aria_label="Select conversation with " + name,
        class_name="ct-conv-tick",
    )


def row_team_line(row: rx.Var[ConversationRow]) -> rx.Component:
    """ "Ben · Snoozed until 09:00" under the row, when it is assigned or not open."""
    return rx.cond(
        (row.assignee_id > 0) | (row.status != "open") | (InboxListState.view == "queue"),
        rx.el.div(
            rx.cond(
                row.assignee_id > 0,
                rx.el.span(
                    rx.icon("user-round", size=11, aria_hidden="true"),
                    row.assignee_name,
                    class_name="ct-row-assignee",
                    title="Assigned to " + row.assignee_name,
                ),
                rx.el.span("Unassigned", class_name="ct-row-unassigned"),
            ),
            rx.cond(row.status != "open", status_badge(row.status, row.status_text, size="1")),
            class_name="ct-row-team",
        ),
    )


# ---------------------------------------------------------------------------- reminders


def reminder_notices() -> rx.Component:
    """The assignee's T-60 reminders, live, bottom right of the inbox."""
    return rx.el.div(
        rx.foreach(
            TeamState.notices,
            lambda n: rx.el.div(
                rx.icon("alarm-clock", size=16, aria_hidden="true", flex_shrink="0"),
                rx.el.div(
                    rx.el.strong("Window closing"),
                    rx.el.p(n.text),
                    rx.hstack(
                        rx.link(
                            "Open conversation", href="/inbox/" + n.conversation_id.to_string()
                        ),
                        rx.button(
                            "Dismiss",
                            size="1",
                            variant="ghost",
                            color_scheme="gray",
                            on_click=TeamState.dismiss_notice(n.id),
                        ),
                        spacing="3",
                        align="center",
                    ),
                ),
                class_name="ct-reminder",
            ),
        ),
        role="status",
        aria_live="polite",
        aria_label="Reminders",
        class_name="ct-reminders",
        id="reminders",
    )
