"""Route constants and URL builders."""

LOGIN = "/login"
INBOX = "/inbox"
CONVERSATION = "/inbox/[conversation_id]"
TEMPLATES = "/templates"
NUMBERS = "/numbers"
USAGE = "/usage"
ADMIN = "/admin"
ADMIN_USERS = "/admin/users"
ADMIN_PLANS = "/admin/plans"
ADMIN_JOBS = "/admin/jobs"
ADMIN_API = "/admin/api"  # API keys and outbound webhooks
ADMIN_REPLIES = "/admin/replies"  # canned replies (issue 15)
ADMIN_LABELS = "/admin/labels"  # conversation labels (issue 15)

ADMIN_ONLY = (NUMBERS, USAGE, ADMIN, ADMIN_USERS, ADMIN_PLANS, ADMIN_JOBS, ADMIN_API)
ADMIN_ONLY += (ADMIN_REPLIES, ADMIN_LABELS)

SESSION_COOKIE = "ctreflex_session"


def conversation_url(conversation_id: int) -> str:
    return f"{INBOX}/{conversation_id}"
