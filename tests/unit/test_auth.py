"""Login, sessions, roles and the slow-down after repeated wrong passwords."""

import datetime as dt

import pytest
from sqlmodel import select

from ctreflex.models import User
from ctreflex.services import auth


def test_demo_users_log_in_with_their_roles(seeded):
    admin_token = auth.login(session=seeded, email="admin@demo.test", password="demo-admin-1")
    agent_token = auth.login(session=seeded, email="Agent@Demo.test ", password="demo-agent-1")
    admin = auth.resolve(session=seeded, token=admin_token)
    agent = auth.resolve(session=seeded, token=agent_token)
    assert (admin.role, admin.account_name, admin.plan_name) == (
        "admin",
        "Demo Bakery",
        "Professional",
    )
    assert admin.is_admin and not agent.is_admin
    assert agent.whatsapp_enabled is True
    stored = seeded.exec(select(User).where(User.email == "admin@demo.test")).one()
    assert stored.password_hash.startswith("$argon2id$")


def test_unknown_email_and_wrong_password_get_the_same_message(seeded):
    with pytest.raises(auth.AuthError) as unknown:
        auth.login(session=seeded, email="nobody@demo.test", password="whatever")
    with pytest.raises(auth.AuthError) as wrong:
        auth.login(session=seeded, email="admin@demo.test", password="wrong")
    assert str(unknown.value) == str(wrong.value) == auth.GENERIC_LOGIN_ERROR


def test_repeated_wrong_passwords_are_slowed_down(seeded):
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    for _ in range(auth.FREE_FAILURES["pair"]):
        with pytest.raises(auth.AuthError, match="do not match"):
            auth.login(session=seeded, email="agent@demo.test", password="nope", now=now)
    # Slowed down: even the right password waits, with the wait named.
    with pytest.raises(auth.AuthError, match=r"Too many attempts, try again in \d+ s"):
        auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1", now=now)
    later = now + auth.delay_for("pair", auth.FREE_FAILURES["pair"]) + dt.timedelta(seconds=1)
    token = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1", now=later)
    assert auth.resolve(session=seeded, token=token, now=later) is not None


def test_logout_expiry_and_deactivation_end_sessions(seeded):
    token = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    assert auth.resolve(session=seeded, token=token) is not None
    auth.logout(session=seeded, token=token)
    assert auth.resolve(session=seeded, token=token) is None

    token = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert auth.resolve(session=seeded, token=token, now=far) is None

    user = seeded.exec(select(User).where(User.email == "agent@demo.test")).one()
    user.active = False
    seeded.commit()
    assert auth.resolve(session=seeded, token=token) is None
    with pytest.raises(auth.AuthError):
        auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("", "x", "email"),
        ("a" * 250 + "@x.io", "x", "email"),
        ("no-at-sign", "x", "email"),
        ("a@b.c", "", "password"),
        ("a@b.c", "p" * 129, "password"),
    ],
)
def test_empty_or_overlong_fields_get_a_validation_message(email, password, field):
    errors = auth.validate_credentials(email, password)
    assert field in errors and errors[field]


def test_require_admin_refuses_agents(seeded):
    token = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    with pytest.raises(auth.Forbidden):
        auth.require_admin(auth.resolve(session=seeded, token=token))


def test_the_live_listeners_sign_in_checks_agree_with_resolve(seeded):
    """What the live listener checks before each update (one query for all of an account's
    tabs): a session logged out, expired or of a deactivated user is no longer live."""
    from ctreflex.services.crypto import token_digest

    admin = auth.login(session=seeded, email="admin@demo.test", password="demo-admin-1")
    agent = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    gone = auth.login(session=seeded, email="agent@demo.test", password="demo-agent-1")
    auth.logout(session=seeded, token=gone)
    ids = {t: auth.resolve(session=seeded, token=t) for t in (admin, agent)}
    digests = {token_digest(t) for t in (admin, agent, gone)}
    live = auth.live_sessions(session=seeded, digests=digests)
    assert live == {(token_digest(t), u.user_id) for t, u in ids.items()}
    assert auth.session_alive(session=seeded, token=agent, user_id=ids[agent].user_id)
    assert not auth.session_alive(session=seeded, token=agent, user_id=ids[admin].user_id)
    assert not auth.session_alive(session=seeded, token=gone, user_id=ids[agent].user_id)
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    assert auth.live_sessions(session=seeded, digests=digests, now=far) == set()
    user = seeded.exec(select(User).where(User.email == "agent@demo.test")).one()
    user.active = False
    seeded.add(user)
    seeded.commit()
    live = auth.live_sessions(session=seeded, digests=digests)
    assert live == {(token_digest(admin), ids[admin].user_id)}
