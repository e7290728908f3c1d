"""Login throttling (issue 11, item 6): growing waits per account, per client address and per
pair, never a lock that refuses the right password once the wait is over; the same answers for
an unknown e-mail; a password spray from one address slowed; a bounded counter table. Password
rules for new and changed passwords, and "Add user" that names no other tenant."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

import pytest
from sqlmodel import func, select

from ctreflex.models import Account, LoginThrottle, User
from ctreflex.services import auth, users
from ctreflex.services.users import UserError

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
ATTACKER = "203.0.113.66"
VICTIM_IP = "198.51.100.7"
AGENT, AGENT_PW = "agent@demo.test", "demo-agent-1"


REAL_VERIFY = auth._hasher.verify


@pytest.fixture(autouse=True)
def cached_verify(monkeypatch):
    """Each (password, hash) pair is checked by argon2 once: these tests repeat the same wrong
    password many times, and are about what the throttle answers (the timing test puts the
    real check back)."""
    real_verify, seen = REAL_VERIFY, {}

    def verify(password, hashed):
        if (password, hashed) not in seen:
            seen[password, hashed] = real_verify(password, hashed)
        return seen[password, hashed]

    monkeypatch.setattr(auth._hasher, "verify", verify)


def attempt(s, email, password, now, ip=ATTACKER) -> str:
    """What the login form would show: "ok" or the refusal's message."""
    try:
        auth.login(session=s, email=email, password=password, now=now, client_ip=ip)
    except auth.AuthError as exc:
        return str(exc)
    return "ok"


def waits_after_failures(s, email, failures, ip=ATTACKER):
    """Fail `failures` times, each as soon as the previous wait is over; the waits seen."""
    now, waits = T0, []
    for _ in range(failures):
        assert attempt(s, email, "wrong-password", now, ip) == auth.GENERIC_LOGIN_ERROR
        wait = auth.throttle_wait(session=s, email=email, client_ip=ip, now=now)
        waits.append(wait)
        now += dt.timedelta(seconds=wait)
    return waits, now


def test_waits_grow_after_five_failures_and_stop_at_fifteen_minutes(seeded):
    waits, _ = waits_after_failures(seeded, AGENT, 16)
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:12] == [2, 4, 8, 16, 32, 64, 128, 256]
    assert waits[13:] == [900, 900, 900]  # capped at 15 minutes


def test_the_right_password_waits_like_a_wrong_one_and_works_once_the_wait_is_over(seeded):
    waits, now = waits_after_failures(seeded, AGENT, 8)  # the last wait: 16 s
    refused_right = attempt(seeded, AGENT, AGENT_PW, now - dt.timedelta(seconds=10))
    refused_wrong = attempt(seeded, AGENT, "wrong-password", now - dt.timedelta(seconds=10))
    assert refused_right == refused_wrong == "Too many attempts, try again in 10 s."
    # the refused attempts did not make the wait longer: at its end the right password works
    assert attempt(seeded, AGENT, AGENT_PW, now) == "ok"
    # and the account's counters start again (the next mistake is free; the address's own
    # counter, at 9 failures, goes on)
    assert attempt(seeded, AGENT, "wrong-password", now) == auth.GENERIC_LOGIN_ERROR
    assert auth.throttle_wait(session=seeded, email=AGENT, client_ip=ATTACKER, now=now) == 0


def test_an_attacker_cannot_keep_the_owner_out_from_another_address(seeded):
    waits_after_failures(seeded, AGENT, 12)  # the attacker's address now waits 15 minutes
    assert attempt(seeded, AGENT, AGENT_PW, T0, ip=ATTACKER).startswith("Too many attempts")
    assert attempt(seeded, AGENT, AGENT_PW, T0, ip=VICTIM_IP) == "ok"


def test_an_unknown_email_gets_the_same_answers_and_the_same_password_check(seeded, monkeypatch):
    known_waits, _ = waits_after_failures(seeded, AGENT, 8)
    unknown_waits, _ = waits_after_failures(seeded, "nobody@demo.test", 8, ip="192.0.2.1")
    assert known_waits == unknown_waits
    assert attempt(seeded, AGENT, "x" * 12, T0, ATTACKER) == attempt(
        seeded, "nobody@demo.test", "x" * 12, T0, "192.0.2.1"
    )

    # both cost one argon2 verification (an unknown e-mail is checked against a dummy hash)
    calls = []

    def counting_verify(password, hashed):
        calls.append(hashed)
        return REAL_VERIFY(password, hashed)

    monkeypatch.setattr(auth._hasher, "verify", counting_verify)
    timings = {"known": [], "unknown": []}
    for i in range(5):
        for label, email in (("known", "admin@harbor.test"), ("unknown", "ghost@harbor.test")):
            started = time.perf_counter()
            msg = attempt(seeded, email, "wrong-password", T0, ip=f"10.0.{i}.{len(label)}")
            timings[label].append(time.perf_counter() - started)
            assert msg == auth.GENERIC_LOGIN_ERROR
    assert len(calls) == 10 and all(h.startswith("$argon2id$") for h in calls)
    known, unknown = (statistics.median(timings[k]) for k in ("known", "unknown"))
    assert 0.33 < known / unknown < 3, timings


def test_one_password_sprayed_over_twenty_emails_from_one_address_is_slowed(seeded):
    emails = [f"user{i}@demo.test" for i in range(18)] + [AGENT, "admin@demo.test"]
    answers = [attempt(seeded, e, "Summer-2026-spray", T0) for e in emails]
    free = auth.FREE_FAILURES["ip"]
    assert answers[:free] == [auth.GENERIC_LOGIN_ERROR] * free
    assert all(a.startswith("Too many attempts, try again in") for a in answers[free:])
    # even a right password is refused from that address during its wait…
    assert attempt(seeded, AGENT, AGENT_PW, T0).startswith("Too many attempts")
    # …while the owner, elsewhere, is not held up by the spray
    assert attempt(seeded, AGENT, AGENT_PW, T0, ip=VICTIM_IP) == "ok"


def test_an_ipv6_attacker_is_counted_by_its_64_prefix(seeded):
    for i in range(auth.FREE_FAILURES["ip"]):
        attempt(seeded, f"u{i}@x.test", "wrong-password", T0, ip=f"2001:db8:1:2::{i + 1:x}")
    assert attempt(seeded, "u99@x.test", "pw-1234567", T0, ip="2001:db8:1:2:ffff::9").startswith(
        "Too many attempts"
    )


def _rows(s) -> int:
    return s.exec(select(func.count()).select_from(LoginThrottle)).one()


def test_the_counter_table_stays_bounded_under_10000_random_email_guesses(
    seeded, db_url, monkeypatch
):
    # The argon2 check is replaced by a quick refusal: this test is about the rows. Every guess
    # comes from a new address (a botnet), so each adds three counters. 10,000 guesses on
    # SQLite; 3,000 on PostgreSQL (the same statements, and past the cap many times over).
    monkeypatch.setattr(auth._hasher, "verify", lambda password, hashed: False)
    monkeypatch.setattr(auth, "THROTTLE_MAX_ROWS", 2000)
    guesses = 3_000 if db_url.startswith("postgresql") else 10_000
    rng = random.Random(11)
    now = T0
    for i in range(guesses):
        email = f"{rng.getrandbits(64):x}@guess.test"
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        attempt(seeded, email, "wrong-password", now, ip)
        if i % 100 == 0:
            now += dt.timedelta(seconds=1)
    bound = auth.THROTTLE_MAX_ROWS + auth.PRUNE_EVERY + 3
    assert _rows(seeded) <= bound
    # no guessed e-mail is stored as such
    assert "guess.test" not in " ".join(seeded.exec(select(LoginThrottle.key)).all())
    # after the window, guesses go on: the stale counters are pruned as they write
    later = now + auth.WINDOW + dt.timedelta(minutes=1)
    for i in range(auth.PRUNE_EVERY // 3 + 1):
        attempt(seeded, f"late{i}@guess.test", "wrong-password", later, f"10.9.9.{i}")
    assert _rows(seeded) <= auth.PRUNE_EVERY + 3
    assert auth.prune_throttle(session=seeded, now=later + auth.WINDOW * 2) == 0


# ------------------------------------------------------------------------------ passwords


@pytest.mark.parametrize(
    "password",
    ["password123", "Qwertyuiop", "1234567890", "iloveyou2026!", "Welcome2025", "P@ssw0rd123"],
)
def test_common_passwords_are_refused(password):
    errors = users.validate_new_user("nia@demo.test", "Nia", "agent", password)
    assert errors == {"password": users.password_problem(password, "nia@demo.test")}
    assert "most common" in errors["password"]


def test_a_password_with_the_email_name_in_it_is_refused():
    problem = users.password_problem("x-JONAS.Berg-x-2026", "jonas.berg@demo.test")
    assert "e-mail address's name" in problem
    assert users.password_problem("x-jonas-berg-x-2026", "jonas.berg@demo.test") == ""
    assert "at least 10" in users.password_problem("short-1", "a@b.co")


def test_the_demo_passwords_still_sign_in(seeded):
    for email, password in [(AGENT, AGENT_PW), ("admin@demo.test", "demo-admin-1")]:
        assert attempt(seeded, email, password, T0) == "ok"


def _bakery(s):
    bakery = s.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    admin = s.exec(select(User).where(User.email == "admin@demo.test")).one()
    return bakery.id, admin


def test_adding_or_changing_to_a_weak_password_is_refused_naming_the_field(seeded):
    account_id, admin = _bakery(seeded)
    with pytest.raises(UserError) as err:
        users.add_user(
            session=seeded,
            account_id=account_id,
            email="rosa.baker@demo.test",
            name="Rosa",
            role="agent",
            password="Rosa.Baker-99",
        )
    assert err.value.field == "password" and "e-mail" in err.value.message
    agent = seeded.exec(select(User).where(User.email == AGENT)).one()
    with pytest.raises(UserError) as err:
        users.set_password(
            session=seeded, account_id=account_id, user_id=agent.id, password="qwerty12345"
        )
    assert err.value.field == "password" and "common" in err.value.message
    token = auth.login(session=seeded, email=AGENT, password=AGENT_PW)
    users.set_password(
        session=seeded, account_id=account_id, user_id=agent.id, password="tall-ferns-at-dusk"
    )
    assert auth.resolve(session=seeded, token=token) is None  # other sessions end
    assert attempt(seeded, AGENT, "tall-ferns-at-dusk", T0) == "ok"


def test_add_user_never_reveals_another_tenants_address(seeded):
    account_id, _ = _bakery(seeded)

    def add(email):
        with pytest.raises(UserError) as err:
            users.add_user(
                session=seeded,
                account_id=account_id,
                email=email,
                name="Someone",
                role="agent",
                password="tall-ferns-at-dusk",
            )
        return err.value

    theirs = add("Admin@Harbor.test")
    assert theirs.field == "email" and theirs.message == users.ADDRESS_UNAVAILABLE
    assert "harbor" not in theirs.message.lower() and "account" not in theirs.message.lower()
    # an address of the admin's own account is named as such (they see their own users)
    assert "in your account" in add("agent@demo.test").message
    # probing for addresses is slowed down: after a few refusals, every attempt waits
    for _ in range(auth.FREE_FAILURES["adduser"] - 1):
        add("agent@harbor.test")
    assert "try again in" in add("someone-new@nowhere.test").message
    assert seeded.exec(select(User).where(User.email == "someone-new@nowhere.test")).first() is None
