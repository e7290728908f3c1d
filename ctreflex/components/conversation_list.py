"""The conversation list pane: search, filters, sort and the rows."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from ctreflex.components.alerts import alerts_menu
from ctreflex.components.assign_menu import bulk_bar, row_team_line, row_tick, view_switcher
from ctreflex.components.label_chip import label_chips
from ctreflex.components.new_conversation import new_conversation
from ctreflex.components.window_chip import window_chip
from ctreflex.pages.inbox.listing import InboxListState
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services.conversations import ConversationRow
from ctreflex.services.labels import LabelChip

FILTER_LABELS = [
    ("all", "All"),
    ("unread", "Unread"),
    ("open", "Window open"),
    ("closing", "Closing within 2 h"),
    ("closed", "Closed"),
]


def channel_icon(channel: rx.Var[str], size: int = 14) -> rx.Component:
    return rx.el.span(
        rx.cond(
            channel == "sms",
            rx.icon("message-square-text", size=size, aria_hidden="true"),
            rx.icon("message-circle", size=size, aria_hidden="true"),
        ),
        rx.el.span(rx.cond(channel == "sms", "SMS", "WhatsApp"), class_name="sr-only"),
        class_name=rx.cond(
            channel == "sms", "ct-channel ct-channel-sms", "ct-channel ct-channel-wa"
        ),
        title=rx.cond(channel == "sms", "SMS", "WhatsApp"),
    )


def conversation_item(row: rx.Var[ConversationRow], selected_id: rx.Var[int]) -> rx.Component:
    """One row. Its content and its tick are memoised components with plain props (the
    labels as JSON text): when a live update replaces the list, React re-renders only the
    rows whose values changed. Keyed by the conversation (rx.foreach keys by position
    otherwise): a conversation moving to the top moves its row, instead of handing every row
    below it its neighbour's values."""
    return rx.el.li(
        row_tick(row),  # the team inbox: tick for the bulk bar (components/assign_menu.py)
        conversation_link(
            conv_id=row.id,
            name=row.name,
            initials=row.initials,
            number=row.number,
            country=row.country,
            region=row.region,
            preview=row.preview,
            preview_prefix=row.preview_prefix,
            unread=row.unread,
            channel=row.channel,
            last_at=row.last_at,
            window_state=row.window_state,
            window_short=row.window_short,
            window_expires_ms=row.window_expires_ms,
            selected=row.id == selected_id,
            # a string, so an unchanged row's props compare equal (a list is a new object in
            # every update, and the memo would re-render every row)
            labels_json=row.labels.to_string(),
        ),
        row_team_line(row),
        class_name="ct-conv-item",
        key=row.id,
    )


@rx.memo
def conversation_link(
    conv_id: rx.Var[int],
    name: rx.Var[str],
    initials: rx.Var[str],
    number: rx.Var[str],
    country: rx.Var[str],
    region: rx.Var[str],
    preview: rx.Var[str],
    preview_prefix: rx.Var[str],
    unread: rx.Var[int],
    channel: rx.Var[str],
    last_at: rx.Var[str],
    window_state: rx.Var[str],
    window_short: rx.Var[str],
    window_expires_ms: rx.Var[int],
    selected: rx.Var[bool],
    labels_json: rx.Var[str],
) -> rx.Component:
    labels = rx.Var(f'JSON.parse({labels_json} || "[]")').to(list[LabelChip])
    return rx.link(
        rx.hstack(
            rx.box(
                rx.avatar(fallback=initials, size="3", radius="full", color_scheme="teal"),
                rx.box(channel_icon(channel, 11), class_name="ct-avatar-channel"),
                position="relative",
                flex_shrink="0",
                aria_hidden="true",  # the initials; the channel is read after the name
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(
                        name,
                        weight=rx.cond(unread > 0, "bold", "medium"),
                        size="2",
                        class_name="ct-ellipsis",
                    ),
                    rx.el.span(
                        rx.cond(channel == "sms", ", SMS", ", WhatsApp"), class_name="sr-only"
                    ),
                    rx.spacer(),
                    rx.text(
                        last_at,
                        size="1",
                        color=rx.cond(unread > 0, "var(--accent-11)", "var(--gray-11)"),
                        white_space="nowrap",
                    ),
                    width="100%",
                    align="center",
                    spacing="2",
                ),
                rx.hstack(
                    rx.text(
                        rx.el.span(preview_prefix, color="var(--gray-11)"),
                        preview,
                        size="2",
                        color=rx.cond(unread > 0, "var(--gray-12)", "var(--gray-11)"),
                        weight=rx.cond(unread > 0, "medium", "regular"),
                        class_name="ct-ellipsis",
                        flex="1",
                    ),
                    rx.cond(
                        unread > 0,
                        rx.badge(
                            unread,
                            rx.el.span(" unread", class_name="sr-only"),
                            color_scheme="teal",
                            variant="solid",
                            radius="full",
                            class_name="ct-unread",
                        ),
                    ),
                    width="100%",
                    align="center",
                    spacing="2",
                ),
                rx.hstack(
                    rx.text(
                        number,
                        rx.cond(region != "", " · " + region, ""),
                        size="1",
                        color="var(--gray-11)",
                        class_name="ct-ellipsis",
                        flex="1",
                        title=country,
                    ),
                    window_chip(window_state, window_short, window_expires_ms),
                    width="100%",
                    align="center",
                    spacing="2",
                ),
                label_chips(labels),
                spacing="1",
                width="100%",
                min_width="0",
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        href="/inbox/" + conv_id.to_string(),
        underline="none",
        color="inherit",
        # named by its text, the customer's name first (WCAG 2.5.3 label in name)
        aria_current=rx.cond(selected, "page", "false"),
        class_name=rx.cond(selected, "ct-conv ct-conv-selected", "ct-conv"),
        id="conversation-" + conv_id.to_string(),
    )


def filter_bar(
    current: rx.Var[str],
    counts: rx.Var[dict[str, int]],
    on_select: Callable[[str], rx.event.EventSpec],
) -> rx.Component:
    buttons = []
    for key, label in FILTER_LABELS:
        active = current == key
        buttons.append(
            rx.el.button(
                label,
                rx.el.span(
                    counts[key].to_string(),
                    class_name="ct-filter-count",
                    aria_hidden="true",
                ),
                type="button",
                aria_pressed=rx.cond(active, "true", "false"),
                class_name=rx.cond(active, "ct-filter ct-filter-active", "ct-filter"),
                on_click=on_select(key),
            )
        )
    return rx.el.div(
        *buttons,
        role="group",
        aria_label="Filter conversations",
        class_name="ct-filters",
    )


def conversation_list(views: rx.Component | None = None) -> rx.Component:
    """The list pane, from the states it shows: InboxListState (rows, search, filters, sort,
    the team views) and InboxState (the open conversation). `views`: more views beside the
    filters (Mentions, label)."""
    rows = InboxListState.rows
    selected_id = InboxState.open_id
    query = InboxListState.query
    on_query = InboxListState.set_query
    on_clear_query = InboxListState.clear_query
    current_filter = InboxListState.list_filter
    counts = InboxListState.counts
    sort = InboxListState.sort
    on_sort = InboxListState.set_sort
    loading = ~InboxListState.loaded
    narrowed = InboxListState.mentions_view | (InboxListState.label_filter > 0)

    def on_filter(key: str) -> rx.event.EventSpec:
        return InboxListState.set_list_filter(key)

    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16, aria_hidden="true")),
                    rx.cond(
                        query != "",
                        rx.input.slot(
                            rx.icon_button(
                                rx.icon("x", size=14),
                                variant="ghost",
                                size="1",
                                aria_label="Clear search",
                                on_click=on_clear_query,
                                type="button",
                            )
                        ),
                    ),
                    placeholder="Search name, number or message",
                    value=query,
                    on_change=on_query,
                    aria_label="Search conversations",
                    type="search",
                    id="conversation-search",
                    size="2",
                    width="100%",
                ),
                new_conversation(),
                width="100%",
            ),
            view_switcher(),  # the team inbox's views (components/assign_menu.py)
            filter_bar(current_filter, counts, on_filter),
            views if views is not None else rx.fragment(),
            rx.hstack(
                rx.text(
                    rows.length().to_string(),
                    rx.cond(
                        InboxListState.has_more,
                        # the filter's count is known unless a search narrows the list
                        rx.cond(
                            InboxListState.query == "",
                            " of " + counts[current_filter].to_string(),
                            "+",
                        ),
                        "",
                    ),
                    rx.cond(
                        (rows.length() == 1) & ~InboxListState.has_more,
                        " conversation",
                        " conversations",
                    ),
                    size="1",
                    color="var(--gray-11)",
                    aria_live="polite",
                    id="conversation-count",
                ),
                rx.spacer(),
                rx.select.root(
                    rx.select.trigger(
                        aria_label="Sort conversations", variant="ghost", id="conversation-sort"
                    ),
                    rx.select.content(
                        rx.select.item("Latest activity", value="recent"),
                        rx.select.item("Window closing soonest", value="closing"),
                    ),
                    value=sort,
                    on_change=on_sort,
                    size="1",
                ),
                alerts_menu(),
                width="100%",
                align="center",
            ),
            bulk_bar(),
            spacing="2",
            padding="0.75rem 0.75rem 0.5rem",
            width="100%",
            border_bottom="1px solid var(--gray-5)",
        ),
        rx.box(
            rx.cond(
                rows.length() > 0,
                rx.fragment(
                    rx.el.ul(
                        rx.foreach(rows, lambda row: conversation_item(row, selected_id)),
                        aria_label="Conversations",
                        class_name="ct-conv-ul",
                    ),
                    rx.cond(  # the list loads a page at a time (keyset paging)
                        InboxListState.has_more,
                        rx.center(
                            rx.button(
                                "Show more conversations",
                                on_click=InboxListState.show_more,
                                variant="soft",
                                size="1",
                                id="conversation-more",
                            ),
                            padding="0.5rem",
                        ),
                    ),
                ),
                rx.cond(
                    loading,
                    rx.center(rx.spinner(size="2"), padding="2rem", aria_label="Loading"),
                    rx.center(
                        rx.vstack(
                            rx.icon("inbox", size=28, color="var(--gray-8)", aria_hidden="true"),
                            rx.cond(
                                (query != "") | (current_filter != "all") | narrowed,
                                rx.text(
                                    "No conversations match. Try another search or filter.",
                                    size="2",
                                    color="var(--gray-11)",
                                    text_align="center",
                                ),
                                rx.text(
                                    "No conversations yet. When a customer writes, it shows here.",
                                    size="2",
                                    color="var(--gray-11)",
                                    text_align="center",
                                ),
                            ),
                            align="center",
                            spacing="2",
                        ),
                        padding="2.5rem 1.5rem",
                    ),
                ),
            ),
            id="conversation-list",
            class_name="ct-conv-scroll",
        ),
        aria_label="Conversation list",
        class_name="ct-pane-list",
    )
