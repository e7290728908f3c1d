"""The webhook processor as a child process of the web worker (ChildProcessor): journaled
events become messages and their live events reach this process's subscribers; a child that
dies is replaced and nothing is lost; a stopped or orphaned child exits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest
from sqlmodel import Session, select

from ctreflex import db
from ctreflex.inbound.child import ChildProcessor
from ctreflex.inbound.gate import write_gate
from ctreflex.inbound.journal import journal_bodies
from ctreflex.models import Account, Contact, Conversation, Message
from ctreflex.realtime import broker
from tests.conftest import read_line_within

MARIA = ("12125550142", "Maria Lopez")  # a seeded Demo Bakery customer
PHONE_NUMBER_ID = "200000000000001"  # the seeded Demo Bakery number


def inbound_text(wamid: str, text: str, wa_id: str = MARIA[0], name: str = MARIA[1]) -> bytes:
    """A signed-shape Cloud API webhook: one inbound text to the Demo Bakery number."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "100000000000001",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550100100",
                                 "phone_number_id": PHONE_NUMBER_ID},
                    "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                    "messages": [{
                        "from": wa_id,
                        "id": wamid,
                        "timestamp": str(int(time.time())),
                        "type": "text",
                        "text": {"body": text},
                    }],
                },
            }],
        }],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def journal(body: bytes) -> int:
    """What the webhook does before its 200: the journal write under the gate, committed."""
    with write_gate.journal():
        return journal_bodies(provider="whatsapp", bodies=[body])[0]


def message_by_wamid(wamid: str) -> Message | None:
    with Session(db.get_engine()) as s:
        return s.exec(select(Message).where(Message.provider_message_id == wamid)).first()


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False


# The child runs at nice 19: on a loaded CI machine (two test passes at once on 2 cores) it may
# wait seconds for the CPU. These bounds say "it happens", not how fast (bench/ measures that).
LIVE_WAIT = 30


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def child_env(seeded, monkeypatch, tmp_path):
    """The child reads the test database from CTREFLEX_DATABASE_URL (set by the db fixture) and
    relays its events over stdout (no Redis)."""
    from ctreflex.settings import get_settings

    assert os.environ["CTREFLEX_DATABASE_URL"] == get_settings().database_url
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.delenv("CTREFLEX_REDIS_URL", raising=False)
    monkeypatch.setenv("CTREFLEX_MEDIA_DIR", str(tmp_path / "media"))
    bakery = seeded.exec(select(Account).where(Account.name == "Demo Bakery")).one()
    contact = seeded.exec(
        select(Contact).where(Contact.account_id == bakery.id, Contact.wa_id == MARIA[0])
    ).one()
    conv = seeded.exec(select(Conversation).where(Conversation.contact_id == contact.id)).one()
    return bakery.id, conv.id


async def _next_message_event(sub, conversation_id: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        for event in await sub.next_batch(left):
            if event.get("type") == "message" and event.get("conversation_id") == conversation_id:
                return event
    raise AssertionError(f"no live 'message' event for conversation {conversation_id}")


def test_child_processes_relays_survives_a_kill_and_stops(child_env):
    account_id, conv_id = child_env
    run = uuid.uuid4().hex[:10]

    async def scenario() -> tuple[int, int]:
        child = ChildProcessor()
        await child.start()
        first_pid = child._proc.pid
        try:
            async with broker.subscribe(account_id) as sub:
                # 1. a journaled message becomes a row, and its live event reaches this process
                wamid1 = f"wamid.CHILD{run}1"
                await asyncio.to_thread(journal, inbound_text(wamid1, "Do you bake on Sunday?"))
                child.notify()
                event = await _next_message_event(sub, conv_id, timeout=LIVE_WAIT)
                stored = await asyncio.to_thread(message_by_wamid, wamid1)
                assert stored is not None, "the live event came before the row was committed"
                assert event["message_id"] == stored.id
                assert event["account_id"] == account_id
                assert (stored.body, stored.direction) == ("Do you bake on Sunday?", "inbound")
                assert stored.conversation_id == conv_id

                # 2. the child dies (-9): a new one is started
                os.kill(first_pid, signal.SIGKILL)
                deadline = time.monotonic() + 15
                while not (child.running and child._proc.pid != first_pid):
                    assert time.monotonic() < deadline, "no new child within 15 s of the kill"
                    await asyncio.sleep(0.05)
                second_pid = child._proc.pid
                assert not pid_alive(first_pid)

                # 3. ... and it processes what comes next, relaying to the same subscribers
                wamid2 = f"wamid.CHILD{run}2"
                await asyncio.to_thread(journal, inbound_text(wamid2, "And on Monday?"))
                child.notify()
                event = await _next_message_event(sub, conv_id, timeout=LIVE_WAIT)
                stored = await asyncio.to_thread(message_by_wamid, wamid2)
                assert stored is not None and event["message_id"] == stored.id
                assert stored.body == "And on Monday?"
        finally:
            started = time.monotonic()
            await child.stop()
            stop_seconds = time.monotonic() - started
        assert not child.running
        return second_pid, stop_seconds

    second_pid, stop_seconds = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert stop_seconds < 15, f"stop() took {stop_seconds:.1f} s"
    assert not pid_alive(second_pid)


def test_a_message_journaled_while_no_child_runs_is_processed_by_the_next(child_env):
    """The journal is the hand-over: what arrives between a crash and the restart is taken by
    the new child (it drains what is due at start, without a wake-up)."""
    account_id, conv_id = child_env
    wamid = f"wamid.GAP{uuid.uuid4().hex[:10]}"

    async def scenario() -> None:
        child = ChildProcessor()
        await child.start()
        try:
            async with broker.subscribe(account_id) as sub:
                first_pid = child._proc.pid
                os.kill(first_pid, signal.SIGKILL)
                await asyncio.to_thread(lambda: wait_until(
                    lambda: not pid_alive(first_pid), 5, "the killed child exits"))
                await asyncio.to_thread(journal, inbound_text(wamid, "Are you there?"))
                # no notify(): the next child finds it on its own
                event = await _next_message_event(sub, conv_id, timeout=LIVE_WAIT)
                stored = await asyncio.to_thread(message_by_wamid, wamid)
                assert stored is not None and event["message_id"] == stored.id
                assert child._proc.pid != first_pid
        finally:
            await child.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_the_child_exits_when_its_stdin_closes(child_env):
    proc = subprocess.Popen([sys.executable, "-m", "ctreflex.inbound.child"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        proc.stdin.write(b"\n")  # a wake-up, as the worker sends one
        proc.stdin.flush()
        time.sleep(1.0)  # let it start and go idle
        assert proc.poll() is None, "the child exited before its stdin closed"
        proc.stdin.close()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


WORKER = """
import asyncio
from ctreflex.inbound.child import ChildProcessor

async def main():
    child = ChildProcessor()
    await child.start()
    print(child._proc.pid, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_no_orphan_when_the_worker_is_killed(child_env):
    """The web worker killed with -9 cannot stop its child: the child sees EOF on its stdin
    and exits on its own."""
    worker = subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE, text=True)
    child_pid = None
    try:
        child_pid = int(read_line_within(worker.stdout, 20))
        time.sleep(1.0)  # the child is up and idle
        assert pid_alive(child_pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        wait_until(lambda: not pid_alive(child_pid), 10, "the orphaned child exits")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if child_pid is not None and pid_alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)
