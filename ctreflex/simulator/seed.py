"""Deterministic seed: two WABAs, their numbers, templates and a few simulated customers."""

from __future__ import annotations

import copy
from typing import Any

from .state import Customer, PhoneNumber, SimState, Template, Waba

DEMO_WABA = "100000000000001"
HARBOR_WABA = "100000000000002"
DEMO_TOKEN = "sim-token-demo-bakery"
HARBOR_TOKEN = "sim-token-harbor-tools"
DEMO_PNID = "200000000000001"
DEMO_ORDERS_PNID = "200000000000002"
DEMO_UK_PNID = "200000000000003"
HARBOR_PNID = "200000000000011"
SEED_PIN = "123456"
QUALITY_DATE = 1767225600  # 2026-01-01T00:00:00Z, when the seeded scores were "computed"
HEADER_IMAGE_EXAMPLE = "https://scontent.whatsapp.net/v/t61.29466-34/fake_header_image.jpg"

#: The four templates of fixture 16, verbatim (plus a quality score).
FIXTURE_16_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "spring_whitening_offer",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "IMAGE",
             "example": {"header_handle": [HEADER_IMAGE_EXAMPLE]}},
            {"type": "BODY",
             "text": "Hi {{1}}, spring is here! Book a whitening session before {{2}} and "
                     "save {{3}}.",
             "example": {"body_text": [["Maria", "March 31", "20%"]]}},
            {"type": "FOOTER", "text": "Reply STOP to opt out of offers"},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Book now",
                 "url": "https://book.example.com/offer?c={{1}}",
                 "example": ["https://book.example.com/offer?c=SPRING20"]},
                {"type": "QUICK_REPLY", "text": "Remind me later"},
                {"type": "QUICK_REPLY", "text": "Stop offers"},
            ]},
        ],
        "language": "en_US", "status": "APPROVED", "category": "MARKETING",
        "id": "300000000000001",
    },
    {
        "name": "appointment_reminder",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Appointment on {{1}}",
             "example": {"header_text": ["Fri 9 Jan"]}},
            {"type": "BODY",
             "text": "Hello {{1}}, this is a reminder of your {{2}} appointment at {{3}}. "
                     "Reply to this message to reschedule.",
             "example": {"body_text": [["Maria", "cleaning", "3:00 pm"]]}},
            {"type": "FOOTER", "text": "Acme Dental, Springfield"},
            {"type": "BUTTONS", "buttons": [
                {"type": "PHONE_NUMBER", "text": "Call the clinic",
                 "phone_number": "+15550100100"},
            ]},
        ],
        "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "id": "300000000000002",
    },
    {
        "name": "referral_credit_code",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY",
             "text": "Thanks for the referral, {{1}}! Your account credit code is {{2}}. "
                     "Use it at checkout.",
             "example": {"body_text": [["Dev", "CRED25"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "CRED25"}]},
        ],
        "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "id": "300000000000003",
    },
    {
        "name": "missed_call_followup",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "BODY",
             "text": "Hi {{1}}, we missed your call. Reply here and our team will get back "
                     "to you.",
             "example": {"body_text": [["Oliver"]]}},
        ],
        "language": "en_GB", "status": "PENDING", "category": "UTILITY",
        "id": "300000000000004",
    },
]


def _shop_templates(shop: str, phone: str, site: str) -> list[dict[str, Any]]:
    """The realistic template set every seeded WABA gets (ids assigned by the caller)."""
    otp_url = (
        "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10"
        "&code=otp{{1}}"
    )
    return [
        {
            "name": "weekend_treats_offer", "language": "en_US", "status": "APPROVED",
            "category": "MARKETING", "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "HEADER", "format": "IMAGE",
                 "example": {"header_handle": [HEADER_IMAGE_EXAMPLE]}},
                {"type": "BODY",
                 "text": "Hi {{1}}, our {{2}} are fresh out of the oven this weekend! "
                         "Show this message in store for {{3}} off.",
                 "example": {"body_text": [["Maria", "cinnamon rolls", "15%"]]}},
                {"type": "FOOTER", "text": f"{shop} · Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Order online", "url": f"{site}/order?promo={{{{1}}}}",
                     "example": [f"{site}/order?promo=WEEKEND15"]},
                    {"type": "QUICK_REPLY", "text": "Save me a box"},
                    {"type": "QUICK_REPLY", "text": "Stop promotions"},
                ]},
            ],
        },
        {
            "name": "cake_ready_photo", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "HEADER", "format": "IMAGE",
                 "example": {"header_handle": [HEADER_IMAGE_EXAMPLE]}},
                {"type": "BODY",
                 "text": "Hi {{1}}, your {{2}} is decorated and ready. Here is a photo; "
                         "pick it up any time today.",
                 "example": {"body_text": [["Maria", "birthday cake"]]}},
                {"type": "FOOTER", "text": shop},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "View order", "url": f"{site}/orders/{{{{1}}}}",
                     "example": [f"{site}/orders/A1042"]},
                    {"type": "QUICK_REPLY", "text": "On my way"},
                    {"type": "QUICK_REPLY", "text": "Change pickup time"},
                ]},
            ],
        },
        {
            "name": "order_ready", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}} is ready",
                 "example": {"header_text": ["#1042"]}},
                {"type": "BODY",
                 "text": "Hi {{1}}, your {{2}} is ready for pickup at {{3}}. We keep it "
                         "fresh for you until closing time.",
                 "example": {"body_text": [["Maria", "sourdough loaf", "12 Baker Street"]]}},
                {"type": "FOOTER", "text": shop},
                {"type": "BUTTONS", "buttons": [
                    {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": phone},
                ]},
            ],
        },
        {
            "name": "order_ready", "language": "es", "status": "APPROVED",
            "category": "UTILITY", "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Pedido {{1}} listo",
                 "example": {"header_text": ["#1042"]}},
                {"type": "BODY",
                 "text": "Hola {{1}}, tu {{2}} está listo para recoger en {{3}}. Lo "
                         "guardamos hasta la hora de cierre.",
                 "example": {"body_text": [["María", "pan de masa madre", "Calle Mayor 12"]]}},
                {"type": "FOOTER", "text": shop},
                {"type": "BUTTONS", "buttons": [
                    {"type": "PHONE_NUMBER", "text": "Llámanos", "phone_number": phone},
                ]},
            ],
        },
        {
            "name": "loyalty_reward_code", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "BODY",
                 "text": "Thanks for your 10th visit, {{1}}! Use code {{2}} for a free coffee "
                         "with your next pastry.",
                 "example": {"body_text": [["Dev", "CAFE10"]]}},
                {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "CAFE10"}]},
            ],
        },
        {
            "name": "login_code", "language": "en_US", "status": "APPROVED",
            "category": "AUTHENTICATION", "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "BODY",
                 "text": "*{{1}}* is your verification code. For your security, do not share "
                         "this code.",
                 "add_security_recommendation": True,
                 "example": {"body_text": [["482913"]]}},
                {"type": "FOOTER", "text": "This code expires in 10 minutes."},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Copy code", "url": otp_url,
                     "example": [otp_url.replace("{{1}}", "482913")]},
                ]},
            ],
        },
        {
            "name": "pickup_reminder", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "parameter_format": "NAMED",
            "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "BODY",
                 "text": "Hi {{customer_name}}, a friendly reminder to pick up your "
                         "{{item}} today before {{closing_time}}.",
                 "example": {"body_text_named_params": [
                     {"param_name": "customer_name", "example": "Maria"},
                     {"param_name": "item", "example": "birthday cake"},
                     {"param_name": "closing_time", "example": "6 pm"},
                 ]}},
                {"type": "FOOTER", "text": shop},
            ],
        },
        {
            "name": "holiday_preorder", "language": "en_US", "status": "PENDING",
            "category": "MARKETING", "quality_score": {"score": "UNKNOWN"},
            "components": [
                {"type": "BODY",
                 "text": "Hi {{1}}, holiday pre-orders are open! Reserve your stollen or "
                         "yule log before {{2}}.",
                 "example": {"body_text": [["Maria", "Dec 20"]]}},
            ],
        },
        {
            "name": "flash_sale_bogo", "language": "en_US", "status": "REJECTED",
            "category": "MARKETING", "quality_score": {"score": "UNKNOWN"},
            "rejected_reason": "PROMOTIONAL",
            "components": [
                {"type": "BODY",
                 "text": "FLASH SALE!!! Buy one get one FREE on everything, today only "
                         "{{1}}!!!",
                 "example": {"body_text": [["Maria"]]}},
            ],
        },
        {
            "name": "summer_menu_launch", "language": "en_US", "status": "PAUSED",
            "category": "MARKETING", "quality_score": {"score": "RED"},
            "components": [
                {"type": "BODY",
                 "text": "Hi {{1}}, our summer menu is here: lemon tarts, berry pavlova and "
                         "iced lattes.",
                 "example": {"body_text": [["Maria"]]}},
            ],
        },
        {
            "name": "old_loyalty_promo", "language": "en_US", "status": "DISABLED",
            "category": "MARKETING", "quality_score": {"score": "RED"},
            "components": [
                {"type": "BODY", "text": "Double stamps on your loyalty card this week!"},
            ],
        },
        {
            "name": "weekend_treats_offer", "language": "fr", "status": "APPROVED",
            "category": "MARKETING", "quality_score": {"score": "GREEN"},
            "components": [
                {"type": "HEADER", "format": "IMAGE",
                 "example": {"header_handle": [HEADER_IMAGE_EXAMPLE]}},
                {"type": "BODY",
                 "text": "Bonjour {{1}}, nos {{2}} sortent du four ce week-end ! Montrez ce "
                         "message en boutique pour {{3}} de réduction.",
                 "example": {"body_text": [["Marie", "brioches", "15 %"]]}},
                {"type": "FOOTER", "text": f"{shop} · Répondez STOP pour vous désabonner"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Commander", "url": f"{site}/order?promo={{{{1}}}}",
                     "example": [f"{site}/order?promo=WEEKEND15"]},
                    {"type": "QUICK_REPLY", "text": "Gardez-m'en une boîte"},
                    {"type": "QUICK_REPLY", "text": "Stop promotions"},
                ]},
            ],
        },
    ]


def _templates_for(waba_id: str, first_id: int, shop: str, phone: str, site: str,
                   extra: list[dict[str, Any]] | None = None) -> list[Template]:
    out: list[Template] = []
    for raw in copy.deepcopy(extra or []):
        out.append(_template(waba_id, raw, raw["id"]))
    for i, raw in enumerate(_shop_templates(shop, phone, site)):
        out.append(_template(waba_id, raw, str(first_id + i)))
    return out


def _template(waba_id: str, raw: dict[str, Any], tid: str) -> Template:
    status = raw["status"]
    return Template(
        id=tid,
        waba_id=waba_id,
        name=raw["name"],
        language=raw["language"],
        status=status,
        category=raw["category"],
        components=raw["components"],
        parameter_format=raw.get("parameter_format", "POSITIONAL"),
        quality_score={
            "score": (raw.get("quality_score") or {}).get("score")
            or ("GREEN" if status == "APPROVED" else "UNKNOWN"),
            "date": QUALITY_DATE,
        },
        rejected_reason=raw.get("rejected_reason") or ("NONE" if status != "REJECTED" else None),
    )


SEED_CUSTOMERS = [
    ("15550100142", "Maria Lopez"),
    ("15550100177", "Dev Patel"),
    ("447700900123", "Oliver Hughes"),
    ("12025550143", "Emma Carter"),  # a real US region per phonenumbers (marketing blocked)
    ("14165550123", "Liam Tremblay"),  # Toronto, Canada: +1 but not US
]


def build_seed_state() -> SimState:
    state = SimState()
    state.wabas[DEMO_WABA] = Waba(
        id=DEMO_WABA, name="Demo Bakery", tokens=[DEMO_TOKEN],
        message_template_namespace="a1b2c3d4_e5f6_7890_demo_bakery",
    )
    state.wabas[HARBOR_WABA] = Waba(
        id=HARBOR_WABA, name="Harbor Tools", tokens=[HARBOR_TOKEN],
        message_template_namespace="f0e1d2c3_b4a5_9687_harbor_tools",
    )
    connected = dict(
        code_verification_status="VERIFIED", name_status="APPROVED", quality_rating="GREEN",
        platform_type="CLOUD_API", throughput_level="STANDARD", status="CONNECTED",
        messaging_limit_tier="TIER_2K", registered=True, pin=SEED_PIN,
    )
    pending = dict(
        code_verification_status="NOT_VERIFIED", name_status="PENDING_REVIEW",
        quality_rating="UNKNOWN", platform_type="NOT_APPLICABLE", status="PENDING",
    )
    numbers = [
        PhoneNumber(id=DEMO_PNID, waba_id=DEMO_WABA, cc="1", number="5550100100",
                    display_phone_number="+1 555-010-0100", verified_name="Demo Bakery",
                    **connected),
        PhoneNumber(id=DEMO_ORDERS_PNID, waba_id=DEMO_WABA, cc="1", number="5550100199",
                    display_phone_number="+1 555-010-0199",
                    verified_name="Demo Bakery Orders", **pending),
        PhoneNumber(id=DEMO_UK_PNID, waba_id=DEMO_WABA, cc="44", number="2079460018",
                    display_phone_number="+44 20 7946 0018", verified_name="Demo Bakery UK",
                    **pending),
        PhoneNumber(id=HARBOR_PNID, waba_id=HARBOR_WABA, cc="1", number="5550100300",
                    display_phone_number="+1 555-010-0300", verified_name="Harbor Tools",
                    **connected),
    ]
    for pn in numbers:
        state.phone_numbers[pn.id] = pn
    templates = _templates_for(
        DEMO_WABA, 300000000000101, "Demo Bakery", "+15550100100",
        "https://demobakery.example.com", extra=FIXTURE_16_TEMPLATES,
    ) + _templates_for(
        HARBOR_WABA, 300000000000201, "Harbor Tools", "+15550100300",
        "https://harbortools.example.com",
    )
    for tpl in templates:
        state.templates[tpl.id] = tpl
    for wa_id, name in SEED_CUSTOMERS:
        state.customers[wa_id] = Customer(wa_id=wa_id, profile_name=name)
    state.id_counter = 1000
    return state
