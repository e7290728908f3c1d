"""Reactions on a message bubble: the customer's and the business's badges, and the button that
lets the agent react (WhatsApp, inside the 24-hour window)."""

from __future__ import annotations

import reflex as rx

from ctreflex.pages.inbox.reactions import ReactionState
from ctreflex.services.reactions import QUICK_REACTIONS
from ctreflex.services.thread_view import MessageRow


def reaction_badges(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.cond(
        (msg.reaction != "") | (msg.my_reaction != ""),
        rx.el.span(
            rx.cond(
                msg.reaction != "",
                rx.el.span(
                    msg.reaction,
                    class_name="ct-reaction",
                    role="img",
                    aria_label="Customer reacted " + msg.reaction,
                    title="Customer's reaction",
                ),
            ),
            rx.cond(
                msg.my_reaction != "",
                rx.el.span(
                    msg.my_reaction,
                    class_name="ct-reaction ct-reaction-mine",
                    role="img",
                    aria_label="You reacted " + msg.my_reaction,
                    title="Your reaction",
                ),
            ),
            class_name="ct-reactions",
        ),
    )


def _can_react(msg: rx.Var[MessageRow]) -> rx.Var[bool]:
    window = ReactionState.detail.window_state
    delivered = (msg.direction == "inbound") | (
        (msg.status == "accepted")
        | (msg.status == "sent")
        | (msg.status == "delivered")
        | (msg.status == "read")
    )
    return (
        (msg.channel == "whatsapp")
        & (msg.kind != "reaction")
        & ~msg.is_notice
        & delivered
        & ((window == "open") | (window == "closing"))
    )


def _emoji_button(msg: rx.Var[MessageRow], emoji: str) -> rx.Component:
    return rx.popover.close(
        rx.el.button(
            emoji,
            type="button",
            aria_label=f"React {emoji}",
            aria_pressed=msg.my_reaction == emoji,
            class_name="ct-react-choice",
            on_click=ReactionState.react(msg.id, emoji),
        )
    )


def react_button(msg: rx.Var[MessageRow]) -> rx.Component:
    return rx.cond(
        _can_react(msg),
        rx.popover.root(
            rx.popover.trigger(
                rx.el.button(
                    rx.icon("smile-plus", size=15, aria_hidden="true"),
                    type="button",
                    aria_label="React",
                    title="React",
                    class_name="ct-reply-btn",
                )
            ),
            rx.popover.content(
                rx.el.div(
                    *[_emoji_button(msg, e) for e in QUICK_REACTIONS],
                    rx.cond(
                        msg.my_reaction != "",
                        rx.popover.close(
                            rx.el.button(
                                "Remove reaction",
                                type="button",
                                class_name="ct-react-remove",
                                on_click=ReactionState.react(msg.id, ""),
                            )
                        ),
                    ),
                    class_name="ct-react-row",
                    role="group",
                    aria_label="Reactions",
                ),
                side="top",
                size="1",
                class_name="ct-react-pop",
                aria_label="React to this message",  # the popover is a dialog: it needs a name
            ),
        ),
    )
