"""The admin-action helper and the role check behind every admin handler: an agent's tab runs
nothing; a refusal is shown in the user's words (in its field when the page marks fields); a
bad id shows the page's "not found"; the page reloads after every action."""

import pytest
from sqlmodel import select

from ctreflex.models import Account, User
from ctreflex.pages.admin_action import admin_action
from ctreflex.services import auth
from ctreflex.services.errors import UserFacingError
from ctreflex.services.outbound import SendRefused
from ctreflex.services.users import UserError
from ctreflex.state.auth import AuthState


class Tab:
    """A stand-in for a page state: the signed-in user comes from a real session token."""

    _admin = AuthState._admin

    def __init__(self, session, email: str, password: str):
        token = auth.login(session=session, email=email, password=password)
        self._user = auth.resolve(session=session, token=token)
        self.notice = self.error = ""
        self.field_errors: dict[str, str] = {}
        self.refreshed = 0

    def _current_user(self):
        return self._user

    def _refresh(self, user) -> None:
        self.refreshed += 1


@pytest.fixture
def admin_tab(seeded):
    return Tab(seeded, "admin@demo.test", "demo-admin-1")


def test_require_admin_reads_the_role_not_only_the_session(seeded):
    agent = Tab(seeded, "agent@demo.test", "demo-agent-1")
    admin = Tab(seeded, "admin@demo.test", "demo-admin-1")
    assert agent._admin() is None  # signed in, but an agent
    assert admin._admin() is not None and admin._admin().role == "admin"
    ran = []
    assert admin_action(agent, lambda s, u: ran.append(u)) is False
    assert ran == [] and agent.refreshed == 0


def test_an_action_shows_its_notice_and_reloads_the_page(admin_tab, seeded):
    admin_tab.error = "an old error"

    def work(session, user):
        account = session.get(Account, user.account_id)
        return f"Done for {account.name}."

    assert admin_action(admin_tab, work) is True
    assert (admin_tab.notice, admin_tab.error, admin_tab.refreshed) == (
        "Done for Demo Bakery.",
        "",
        1,
    )


def test_a_refusal_is_shown_in_the_user_s_words_and_in_its_field(admin_tab):
    def refuse(session, user):
        raise UserError("That e-mail address is already in use.", "email")

    assert admin_action(admin_tab, refuse) is False
    assert admin_tab.error == "That e-mail address is already in use."
    assert admin_action(admin_tab, refuse, field_errors="field_errors") is False
    assert admin_tab.field_errors == {"email": "That e-mail address is already in use."}
    assert admin_tab.refreshed == 2  # the page shows the rows as they are now


def test_a_bad_id_shows_not_found_and_changes_nothing(admin_tab, seeded):
    def work(session, user):
        row = session.exec(select(User).where(User.email == "agent@demo.test")).one()
        row.name = "changed"
        session.add(row)
        int("not-an-id")

    assert admin_action(admin_tab, work, not_found="No such user.") is False
    assert admin_tab.error == "No such user."
    seeded.expire_all()
    agent = seeded.exec(select(User).where(User.email == "agent@demo.test")).one()
    assert agent.name != "changed"  # the transaction was rolled back


def test_service_refusals_share_one_base():
    refusal = SendRefused("The 24-hour window is closed.", "body")
    assert isinstance(refusal, UserFacingError)
    assert (refusal.message, refusal.field, str(refusal)) == (
        "The 24-hour window is closed.",
        "body",
        "The 24-hour window is closed.",
    )
