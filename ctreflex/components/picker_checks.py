"""What the template picker knows before Send (issue 14): the reason beside a template that
would be refused, the chosen template's refusal (Send is disabled with it) and the sending
number's messaging limit (TemplatePickerState's PickerTarget mixin)."""

from __future__ import annotations

import reflex as rx

from ctreflex.pages.inbox.picker import TemplatePickerState


def refusal_note(refusals: rx.Var, key: rx.Var, dom_id: rx.Var) -> rx.Component:
    """The reason under a template that would be refused for this customer."""
    return rx.cond(
        refusals.contains(key),
        rx.el.p(
            rx.icon("ban", size=12, aria_hidden="true", flex_shrink="0"),
            rx.el.span("Can't be sent: ", refusals[key].to(str)),
            id=dom_id,
            class_name="ct-tpl-refusal",
        ),
    )


def blocked_callout() -> rx.Component:
    blocked = TemplatePickerState.picker_blocked
    return rx.cond(
        blocked != "",
        rx.callout(
            rx.el.span("Send is off: ", blocked),
            icon="ban",
            color_scheme="red",
            size="1",
            role="status",
            id="template-blocked",
        ),
    )


def limit_line() -> rx.Component:
    """ "187 of 250 in the last 24 h" on the number the template goes from; amber from 80 %,
    red at 100 %."""
    level = TemplatePickerState.picker_limit_level
    return rx.cond(
        TemplatePickerState.picker_limit != "",
        rx.el.p(
            rx.icon(rx.cond(level == "ok", "gauge", "triangle-alert"), size=12, aria_hidden="true"),
            rx.el.span("Messaging limit: ", TemplatePickerState.picker_limit),
            rx.cond(level == "warn", rx.el.span(" · nearly reached")),
            rx.cond(level == "full", rx.el.span(" · reached: new customers can't be started")),
            class_name=rx.match(
                level,
                ("warn", "ct-limit is-warn"),
                ("full", "ct-limit is-full"),
                "ct-limit",
            ),
            id="template-limit",
        ),
    )
