import pytest

from ctreflex.whatsapp.models import Template, TemplatePage
from ctreflex.whatsapp.templates import (
    FieldError,
    MediaRef,
    TemplateValidationError,
    TemplateValues,
    build_components,
    build_components_or_raise,
    render_preview,
    required_fields,
    template_variables,
)


@pytest.fixture
def templates(fixture_json) -> dict[str, Template]:
    page = TemplatePage.model_validate(fixture_json("16"))
    return {t.name: t for t in page.data}


def test_fixture_16_page(templates, fixture_json):
    page = TemplatePage.model_validate(fixture_json("16"))
    assert page.paging.cursors.after == "QVFIU0ZAKRV9uZAXh0X3BhZAZAlX2N1cnNvcgZDZD"
    assert page.paging.next.startswith("https://graph.facebook.com/")
    t = templates["spring_whitening_offer"]
    assert (t.id, t.language, t.status, t.category, t.parameter_format) == (
        "300000000000001",
        "en_US",
        "APPROVED",
        "MARKETING",
        "POSITIONAL",
    )
    assert t.header.format == "IMAGE"
    assert t.body.example["body_text"] == [["Maria", "March 31", "20%"]]
    assert t.footer.text == "Reply STOP to opt out of offers"
    assert [b.type for b in t.buttons] == ["URL", "QUICK_REPLY", "QUICK_REPLY"]
    assert t.buttons[0].example == ["https://book.example.com/offer?c=SPRING20"]
    rc = templates["referral_credit_code"]
    assert rc.buttons[0].type == "COPY_CODE" and rc.buttons[0].example == "CRED25"
    assert templates["appointment_reminder"].buttons[0].phone_number == "+15550100100"
    assert templates["missed_call_followup"].is_approved is False


def test_unknown_button_types_kept():
    t = Template.model_validate(
        {
            "name": "x",
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "components": [
                {"type": "BODY", "text": "Hi"},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "FLOW", "text": "Open", "flow_id": 1},
                        {"type": "SOMETHING_NEW", "text": "?", "extra": {"a": 1}},
                    ],
                },
                {"type": "CAROUSEL", "cards": []},
            ],
            "brand_new": True,
        }
    )
    assert [b.type for b in t.buttons] == ["FLOW", "SOMETHING_NEW"]
    assert t.buttons[0].model_extra == {"flow_id": "1"} or t.buttons[0].model_extra["flow_id"]
    assert t.buttons[1].model_extra["extra"] == {"a": 1}
    assert t.components[2].type == "CAROUSEL"
    res = build_components(t, {})
    assert {e.field for e in res.errors} == {"button.0", "button.1"}


def test_template_variables():
    assert template_variables("Hi {{2}} and {{1}} and {{1}}") == ["1", "2"]
    assert template_variables("Hi {{ name }}, order {{order_id}}") == ["name", "order_id"]
    assert template_variables(None) == []


def test_required_fields_spring(templates):
    specs = required_fields(templates["spring_whitening_offer"])
    assert [(s.key, s.kind, s.required) for s in specs] == [
        ("header.media", "image", True),
        ("body.1", "text", True),
        ("body.2", "text", True),
        ("body.3", "text", True),
        ("button.0.url_suffix", "url_suffix", True),
        ("button.1.payload", "payload", False),
        ("button.2.payload", "payload", False),
    ]
    assert specs[1].example == "Maria"
    assert specs[4].example == "SPRING20"


def test_required_fields_others(templates):
    appt = required_fields(templates["appointment_reminder"])
    assert [s.key for s in appt] == ["header.text", "body.1", "body.2", "body.3"]
    assert appt[0].example == "Fri 9 Jan" and appt[0].max_length == 60
    ref = required_fields(templates["referral_credit_code"])
    assert [s.key for s in ref] == ["body.1", "body.2", "button.0.coupon_code"]
    assert ref[2].example == "CRED25" and ref[2].max_length == 15
    assert [s.key for s in required_fields(templates["missed_call_followup"])] == ["body.1"]


def test_every_fixture_template_builds_from_examples(templates):
    for t in templates.values():
        values = {s.key: s.example for s in required_fields(t)}
        if t.header and t.header.format == "IMAGE":
            values["header.media"] = "4490"
        res = build_components(t, values)
        if t.is_approved:
            assert res.ok, (t.name, res.errors)
            assert res.components
        else:
            assert res.errors == [
                FieldError(
                    "template", "This template is PENDING; only approved templates can be sent."
                )
            ]
            assert res.components == []


def test_build_spring(templates):
    t = templates["spring_whitening_offer"]
    res = build_components(
        t,
        TemplateValues(
            header_media=MediaRef(kind="image", media_id="4490"),
            body=["Maria", "March 31", "20%"],
            url_suffixes={0: "SPRING20"},
            quick_reply_payloads={2: "STOP_PROMOS"},
        ),
    )
    assert res.ok
    assert res.to_dicts() == [
        {"type": "header", "parameters": [{"type": "image", "image": {"id": "4490"}}]},
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Maria"},
                {"type": "text", "text": "March 31"},
                {"type": "text", "text": "20%"},
            ],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "SPRING20"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "2",
            "parameters": [{"type": "payload", "payload": "STOP_PROMOS"}],
        },
    ]


def test_build_appointment_and_copy_code(templates):
    comps = build_components_or_raise(
        templates["appointment_reminder"],
        {"header.text": "Fri 9 Jan", "body.1": "Maria", "body.2": "cleaning", "body.3": "3:00 pm"},
    )
    assert [c.to_dict()["type"] for c in comps] == ["header", "body"]
    assert comps[0].to_dict()["parameters"] == [{"type": "text", "text": "Fri 9 Jan"}]
    comps = build_components_or_raise(
        templates["referral_credit_code"],
        {"body.1": "Dev", "body.2": "CRED25", "button.0.coupon_code": "CRED25"},
    )
    assert comps[-1].to_dict() == {
        "type": "button",
        "sub_type": "copy_code",
        "index": "0",
        "parameters": [{"type": "coupon_code", "coupon_code": "CRED25"}],
    }


def test_validation_errors_name_fields(templates):
    res = build_components(
        templates["spring_whitening_offer"],
        {
            "header.media": MediaRef(kind="video", media_id="1"),
            "body.1": "Maria",
            "body.2": "  ",
            "body.3": "line\nbreak",
        },
    )
    fields = {e.field: e.message for e in res.errors}
    assert set(fields) == {"header.media", "body.2", "body.3", "button.0.url_suffix"}
    assert "image" in fields["header.media"] and "video" in fields["header.media"]
    assert "line breaks" in fields["body.3"]
    assert res.components == []
    with pytest.raises(TemplateValidationError) as ei:
        build_components_or_raise(templates["spring_whitening_offer"], {})
    assert {f for f, _ in ei.value.errors} >= {"header.media", "body.1", "button.0.url_suffix"}


def test_copy_code_and_url_rules(templates):
    res = build_components(
        templates["referral_credit_code"],
        {"body.1": "Dev", "body.2": "X", "button.0.coupon_code": "A" * 16},
    )
    assert [e.field for e in res.errors] == ["button.0.coupon_code"]
    assert "15" in res.errors[0].message
    res = build_components(
        templates["spring_whitening_offer"],
        {
            "header.media": "https://cdn.test/a.jpg",
            "body.1": "a",
            "body.2": "b",
            "body.3": "c",
            "button.0.url_suffix": "has space",
        },
    )
    assert [e.field for e in res.errors] == ["button.0.url_suffix"]
    res = build_components(
        templates["spring_whitening_offer"],
        {
            "header.media": "http://cdn.test/a.jpg",
            "body.1": "a",
            "body.2": "b",
            "body.3": "c",
            "button.0.url_suffix": "X",
        },
    )
    assert [e.field for e in res.errors] == ["header.media"]


def test_header_text_too_long(templates):
    res = build_components(
        templates["appointment_reminder"],
        {"header.text": "x" * 50, "body.1": "a", "body.2": "b", "body.3": "c"},
    )
    assert [e.field for e in res.errors] == ["header.text"]


def test_named_template():
    t = Template.model_validate(
        {
            "name": "order_ready",
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "parameter_format": "NAMED",
            "components": [
                {
                    "type": "HEADER",
                    "format": "TEXT",
                    "text": "Order {{order_id}}",
                    "example": {
                        "header_text_named_params": [{"param_name": "order_id", "example": "#1"}]
                    },
                },
                {
                    "type": "BODY",
                    "text": "Hi {{customer_name}}, order {{order_id}} is ready.",
                    "example": {
                        "body_text_named_params": [
                            {"param_name": "customer_name", "example": "Ana"},
                            {"param_name": "order_id", "example": "#4411"},
                        ]
                    },
                },
            ],
        }
    )
    specs = required_fields(t)
    assert [(s.key, s.example) for s in specs] == [
        ("header.text", "#1"),
        ("body.customer_name", "Ana"),
        ("body.order_id", "#4411"),
    ]
    res = build_components(
        t, TemplateValues(header_text="#9", body={"customer_name": "Ana", "order_id": "#9"})
    )
    assert res.ok
    assert res.to_dicts() == [
        {
            "type": "header",
            "parameters": [{"type": "text", "text": "#9", "parameter_name": "order_id"}],
        },
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "customer_name", "text": "Ana"},
                {"type": "text", "parameter_name": "order_id", "text": "#9"},
            ],
        },
    ]
    assert (
        render_preview(t, {"body.customer_name": "Ana"}).body
        == "Hi Ana, order {{order_id}} is ready."
    )


def test_authentication_and_unsupported_header_refused():
    t = Template.model_validate(
        {
            "name": "otp",
            "language": "en_US",
            "status": "APPROVED",
            "category": "AUTHENTICATION",
            "components": [
                {"type": "HEADER", "format": "LOCATION"},
                {"type": "BODY", "text": "Code"},
            ],
        }
    )
    fields = [e.field for e in build_components(t, {}).errors]
    assert fields == ["template", "header"]


def test_preview_every_fixture_template(templates):
    spring = render_preview(
        templates["spring_whitening_offer"],
        {
            "header.media": "4490",
            "body.1": "Maria",
            "body.2": "March 31",
            "body.3": "20%",
            "button.0.url_suffix": "SPRING20",
        },
    )
    assert spring.header_media_kind == "image" and spring.header_text is None
    assert spring.header_media == MediaRef(media_id="4490")
    assert spring.body == (
        "Hi Maria, spring is here! Book a whitening session before March 31 and save 20%."
    )
    assert spring.footer == "Reply STOP to opt out of offers"
    assert [(b.type, b.text, b.url) for b in spring.buttons] == [
        ("URL", "Book now", "https://book.example.com/offer?c=SPRING20"),
        ("QUICK_REPLY", "Remind me later", None),
        ("QUICK_REPLY", "Stop offers", None),
    ]
    appt = render_preview(templates["appointment_reminder"], {"header.text": "Fri 9 Jan"})
    assert appt.header_text == "Appointment on Fri 9 Jan"
    assert appt.body.startswith("Hello {{1}}, this is a reminder of your {{2}}")
    assert appt.buttons[0].phone_number == "+15550100100"
    ref = render_preview(templates["referral_credit_code"], {"button.0.coupon_code": "C1"})
    assert ref.buttons[0].type == "COPY_CODE" and ref.buttons[0].code == "C1"
    missed = render_preview(templates["missed_call_followup"], {"body.1": "Oliver"})
    assert missed.body.startswith("Hi Oliver, we missed your call.")
    assert missed.footer is None and missed.buttons == []
