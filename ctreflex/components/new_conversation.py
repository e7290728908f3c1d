"""'New conversation' (NewConversationState): a button in the conversation list's header and
its dialog: find a contact or type a number with its country and an optional name; then who
it goes to, from which number, the messaging limit, the cost, and on to the template picker."""

from __future__ import annotations

import reflex as rx

from ctreflex.pages.inbox.new_conversation import NewConversationState as S
from ctreflex.services.new_conversation import ContactPick, countries

COUNTRIES = countries()


def _match(c: rx.Var[ContactPick]) -> rx.Component:
    return rx.el.li(
        rx.el.button(
            rx.el.span(c.name, class_name="ct-nc-name"),
            rx.el.span(
                c.number, rx.cond(c.country != "", " · " + c.country, ""), class_name="ct-nc-sub"
            ),
            type="button",
            on_click=S.pick_contact(c.id),
            class_name="ct-nc-match",
        ),
    )


def _error(field: str) -> rx.Component:
    return rx.el.div(
        rx.cond(
            (S.nc_error != "") & (S.nc_error_field == field),
            rx.fragment(rx.icon("circle-alert", size=12, aria_hidden="true"), S.nc_error),
        ),
        id=f"nc-{field}-error",
        class_name="ct-tpl-error",
        role=rx.cond((S.nc_error != "") & (S.nc_error_field == field), "alert", "none"),
    )


def _finder() -> rx.Component:
    number_bad = rx.cond(S.nc_error_field == "number", "true", "false")
    return rx.el.div(
        rx.el.label("Find a contact", html_for="nc-search", class_name="ct-tpl-label"),
        rx.el.input(
            id="nc-search",
            type="search",
            placeholder="Name or number",
            auto_complete="off",
            default_value=S.nc_query,
            on_change=S.set_nc_query.debounce(200),
            class_name="ct-tpl-input",
        ),
        rx.cond(
            S.nc_matches.length() > 0,
            rx.el.ul(
                rx.foreach(S.nc_matches, _match),
                class_name="ct-nc-matches",
                aria_label="Matching contacts",
            ),
            rx.cond(
                S.nc_query != "",
                rx.el.p("No contact matches; type the number below.", class_name="ct-tpl-empty"),
            ),
        ),
        _error("contact"),
        rx.el.div(rx.el.span("or a new number"), class_name="ct-switch-sep"),
        rx.form(
            rx.el.div(
                rx.el.div(
                    rx.el.label("Country", html_for="nc-country", class_name="ct-tpl-label"),
                    rx.el.select(
                        *[rx.el.option(label, value=code) for code, label in COUNTRIES],
                        id="nc-country",
                        name="country",
                        default_value=S.nc_country,
                        class_name="ct-tpl-input",
                    ),
                    class_name="ct-nc-country",
                ),
                rx.el.div(
                    rx.el.label("Phone number", html_for="nc-number", class_name="ct-tpl-label"),
                    rx.el.input(
                        id="nc-number",
                        name="number",
                        type="tel",
                        placeholder="e.g. 416 555 0123 or +44 20 7946 0000",
                        auto_complete="off",
                        aria_invalid=number_bad,
                        aria_describedby="nc-number-error",
                        class_name="ct-tpl-input",
                    ),
                    class_name="ct-nc-number",
                ),
                class_name="ct-nc-row",
            ),
            _error("number"),
            rx.el.label("Name (optional)", html_for="nc-name", class_name="ct-tpl-label"),
            rx.el.input(
                id="nc-name",
                name="name",
                max_length=120,
                auto_complete="off",
                aria_describedby="nc-name-error",
                class_name="ct-tpl-input",
            ),
            _error("name"),
            rx.el.div(
                rx.button("Continue", type="submit", size="2"),
                class_name="ct-tpl-actions",
            ),
            on_submit=S.check_number,
            reset_on_submit=False,
            id="nc-number-form",
        ),
        class_name="ct-nc-finder",
    )


def _fact(label: str, value) -> rx.Component:
    return rx.fragment(rx.el.dt(label), rx.el.dd(value))


def _chosen() -> rx.Component:
    level = S.nc_level
    return rx.el.div(
        rx.el.dl(
            _fact(
                "To",
                rx.el.span(
                    rx.cond(S.nc_to_name != "", S.nc_to_name + " · ", ""),
                    S.nc_to_number,
                    rx.cond(S.nc_to_country != "", " · " + S.nc_to_country, ""),
                ),
            ),
            rx.cond(S.nc_from != "", _fact("From", S.nc_from)),
            rx.cond(
                S.nc_limit != "",
                _fact(
                    "Messaging limit",
                    rx.el.span(
                        S.nc_limit,
                        rx.cond(level == "warn", " · nearly reached", ""),
                        rx.cond(level == "full", " · reached", ""),
                        class_name=rx.match(
                            level,
                            ("warn", "ct-limit is-warn"),
                            ("full", "ct-limit is-full"),
                            "ct-limit",
                        ),
                        id="nc-limit",
                    ),
                ),
            ),
            rx.cond(S.nc_cost != "", _fact("Cost", rx.el.span(S.nc_cost, id="nc-cost"))),
            class_name="ct-facts ct-nc-facts",
        ),
        rx.cond(
            S.nc_refusal != "",
            rx.callout(
                S.nc_refusal,
                icon="ban",
                color_scheme="red",
                size="1",
                role="alert",
                id="nc-refusal",
            ),
            rx.el.p(
                "The customer hasn't written in the last 24 hours, so only an approved "
                "template can open the conversation.",
                class_name="ct-tpl-empty",
            ),
        ),
        rx.el.div(
            rx.button(
                "Change",
                variant="soft",
                color_scheme="gray",
                type="button",
                on_click=S.clear_choice,
            ),
            rx.cond(
                S.nc_conversation_id > 0,
                rx.link(
                    "Open conversation",
                    href="/inbox/" + S.nc_conversation_id.to_string(),
                    on_click=S.set_nc_open(False),
                    class_name="ct-nc-open",
                ),
            ),
            rx.button(
                rx.icon("layout-template", size=14, aria_hidden="true"),
                "Choose template",
                type="button",
                disabled=S.nc_refusal != "",
                aria_describedby=rx.cond(S.nc_refusal != "", "nc-refusal", ""),
                on_click=S.choose_template,
            ),
            class_name="ct-tpl-actions",
        ),
        class_name="ct-nc-chosen",
    )


def new_conversation() -> rx.Component:
    """The button and its dialog."""
    return rx.fragment(
        rx.icon_button(
            rx.icon("square-pen", size=16),
            variant="soft",
            size="2",
            type="button",
            aria_label="New conversation",
            title="New conversation",
            aria_haspopup="dialog",
            on_click=S.open_new,
            id="new-conversation",
        ),
        rx.dialog.root(
            rx.dialog.content(
                rx.dialog.title("New conversation"),
                rx.dialog.description(
                    "Message a customer first: find them, or type their number with its country.",
                    size="2",
                    color="var(--gray-11)",
                ),
                rx.cond(S.nc_chosen, _chosen(), _finder()),
                rx.dialog.close(
                    rx.icon_button(
                        rx.icon("x", size=16),
                        variant="ghost",
                        size="1",
                        aria_label="Close",
                        type="button",
                        class_name="ct-tpl-x",
                    ),
                ),
                class_name="ct-tpl-dialog ct-nc-dialog",
                max_width="34rem",
            ),
            open=S.nc_open,
            on_open_change=S.set_nc_open,
        ),
    )
