"""The contact panel's edit form (ContactPanelState): the name and the phone number."""

from __future__ import annotations

import reflex as rx

from ctreflex.components.new_conversation import COUNTRIES
from ctreflex.pages.inbox.contact_panel import ContactPanelState as S


def _error(field: str) -> rx.Component:
    shown = (S.contact_error != "") & (S.contact_error_field == field)
    return rx.el.div(
        rx.cond(
            shown,
            rx.fragment(rx.icon("circle-alert", size=12, aria_hidden="true"), S.contact_error),
        ),
        id=f"contact-{field}-error",
        class_name="ct-tpl-error",
        role=rx.cond(shown, "alert", "none"),
    )


def _form() -> rx.Component:
    card = S.contact_card
    return rx.form(
        rx.el.label("Name", html_for="contact-name", class_name="ct-tpl-label"),
        rx.el.input(
            id="contact-name",
            name="name",
            default_value=card.name,
            placeholder=rx.cond(card.profile_name != "", card.profile_name, "No name"),
            max_length=120,
            auto_complete="off",
            aria_invalid=rx.cond(S.contact_error_field == "name", "true", "false"),
            aria_describedby="contact-name-error",
            class_name="ct-tpl-input",
        ),
        _error("name"),
        rx.el.label("Country", html_for="contact-region", class_name="ct-tpl-label"),
        rx.el.select(
            *[rx.el.option(label, value=code) for code, label in COUNTRIES],
            id="contact-region",
            name="region",
            default_value=card.region,
            class_name="ct-tpl-input",
        ),
        rx.el.label(
            "Phone number (WhatsApp and SMS)", html_for="contact-number", class_name="ct-tpl-label"
        ),
        rx.el.input(
            id="contact-number",
            name="number",
            type="tel",
            default_value=card.number,
            auto_complete="off",
            aria_invalid=rx.cond(S.contact_error_field == "number", "true", "false"),
            aria_describedby="contact-number-error",
            class_name="ct-tpl-input",
        ),
        _error("number"),
        rx.el.div(
            rx.button(
                "Cancel", variant="soft", color_scheme="gray", type="button", on_click=S.cancel_edit
            ),
            rx.button("Save contact", type="submit"),
            class_name="ct-tpl-actions",
        ),
        on_submit=S.save_contact,
        reset_on_submit=False,
        key=card.id,
        aria_label="Edit contact",
        class_name="ct-contact-form",
    )


def contact_editor() -> rx.Component:
    """In the contact details panel: Edit contact, or the form."""
    return rx.el.div(
        rx.cond(
            S.contact_editing,
            _form(),
            rx.el.div(
                rx.button(
                    rx.icon("pencil", size=14, aria_hidden="true"),
                    "Edit contact",
                    size="1",
                    variant="soft",
                    type="button",
                    on_click=S.start_edit,
                ),
                rx.cond(
                    S.contact_saved != "",
                    rx.el.p(S.contact_saved, role="status", class_name="ct-contact-saved"),
                ),
                class_name="ct-contact-edit",
            ),
        ),
        id="contact-editor",
    )
