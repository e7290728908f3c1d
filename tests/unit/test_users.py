"""Users page rules: add, change role, deactivate (sessions end at once), stay in the account."""

import pytest
from sqlmodel import select

from ctreflex.models import Account, User
from ctreflex.services import auth, users
from ctreflex.services.users import UserError


def _ids(s):
    bakery = s.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    admin = s.exec(select(User).where(User.email == "admin@demo.test")).one()
    agent = s.exec(select(User).where(User.email == "agent@demo.test")).one()
    return bakery.id, admin.id, agent.id


def test_add_an_agent_who_can_then_sign_in(seeded):
    account_id, _, _ = _ids(seeded)
    user = users.add_user(
        session=seeded,
        account_id=account_id,
        email=" New.Agent@Demo.test ",
        name="New Agent",
        role="agent",
        password="a-long-password",
    )
    assert user.email == "new.agent@demo.test" and user.password_hash.startswith("$argon2")
    token = auth.login(session=seeded, email="new.agent@demo.test", password="a-long-password")
    assert auth.resolve(session=seeded, token=token).role == "agent"
    with pytest.raises(UserError, match="already signs in"):
        users.add_user(
            session=seeded,
            account_id=account_id,
            email="new.agent@demo.test",
            name="Again",
            role="agent",
            password="a-long-password",
        )


def test_form_errors_name_the_field():
    errors = users.validate_new_user("nope", "", "owner", "short")
    assert set(errors) == {"email", "name", "role", "password"}


def test_deactivating_ends_sessions_at_once(seeded):
    account_id, admin_id, agent_id = _ids(seeded)
    token = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    assert auth.resolve(session=seeded, token=token) is not None
    users.set_active(
        session=seeded, account_id=account_id, actor_id=admin_id, user_id=agent_id, active=False
    )
    assert auth.resolve(session=seeded, token=token) is None
    with pytest.raises(auth.AuthError):
        auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    users.set_active(
        session=seeded, account_id=account_id, actor_id=admin_id, user_id=agent_id, active=True
    )
    assert auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")


def test_role_changes_apply_on_the_next_event(seeded):
    account_id, admin_id, agent_id = _ids(seeded)
    token = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    users.change_role(
        session=seeded, account_id=account_id, actor_id=admin_id, user_id=agent_id, role="admin"
    )
    assert auth.resolve(session=seeded, token=token).is_admin


def test_an_admin_cannot_lock_the_account_out(seeded):
    account_id, admin_id, agent_id = _ids(seeded)
    with pytest.raises(UserError, match="yourself"):
        users.set_active(
            session=seeded, account_id=account_id, actor_id=admin_id, user_id=admin_id, active=False
        )
    with pytest.raises(UserError, match="own role"):
        users.change_role(
            session=seeded, account_id=account_id, actor_id=admin_id, user_id=admin_id, role="agent"
        )
    # agent promoted, then tries to demote the only other admin after the first was deactivated
    users.change_role(
        session=seeded, account_id=account_id, actor_id=admin_id, user_id=agent_id, role="admin"
    )
    users.set_active(
        session=seeded, account_id=account_id, actor_id=agent_id, user_id=admin_id, active=False
    )
    with pytest.raises(UserError, match="at least one active admin"):
        users.change_role(
            session=seeded, account_id=account_id, actor_id=admin_id, user_id=agent_id, role="agent"
        )


def test_users_of_another_account_are_out_of_reach(seeded):
    account_id, admin_id, _ = _ids(seeded)
    harbor_agent = seeded.exec(select(User).where(User.email == "agent@harbor.test")).one()
    with pytest.raises(UserError, match="not in your account"):
        users.set_active(
            session=seeded,
            account_id=account_id,
            actor_id=admin_id,
            user_id=harbor_agent.id,
            active=False,
        )
    listed = {u.email for u in users.list_users(session=seeded, account_id=account_id)}
    assert "agent@harbor.test" not in listed and "former@demo.test" in listed
