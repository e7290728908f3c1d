"""Assignment events for the live benches (`--assign-rate R` in bench/live.py and
bench/sockets.py): the Demo Bakery's conversations assigned back and forth between two of its
users through POST /api/v1/conversations/{id}/assign, R times a second, while the bench runs.
Each assignment is the inbox's own change: a thread line, the `conversation.assigned` webhook
queue, and a live event to every open tab of the account (the list and any open thread reload).

`prepare(env)` writes an API key (send scope) into the bench's database and returns what
`emit` needs; the app must run with a rate limit above R x 60 per minute (`RATE_ENV`)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time

import httpx

RATE_ENV = {"CTREFLEX_API_RATE_LIMIT": "100000"}


def prepare(env: dict) -> tuple[str, list[int], list[int]]:
    """(API key, Demo Bakery conversation ids, two of its user ids)."""
    os.environ.update(env)
    from sqlmodel import select

    from ctreflex import db
    from ctreflex.models import Account, Conversation, User
    from ctreflex.services import api_keys

    with db.session_scope() as session:
        account = session.exec(select(Account).where(Account.name == "Demo Bakery")).one()
        conversations = list(
            session.exec(
                select(Conversation.id)
                .where(Conversation.account_id == account.id)
                .order_by(Conversation.id)
            ).all()
        )
        users = list(
            session.exec(
                select(User.id).where(User.account_id == account.id).order_by(User.id).limit(2)
            ).all()
        )
        key = api_keys.create_key(
            session=session,
            account_id=account.id,
            name="bench assignments",
            scopes=("send",),
            created_by_id=None,
        ).key
    db.reset_engine()
    return key, conversations, users


class Emitter:
    """Sends assignments at `rate` per second until stopped; counts them and their errors."""

    def __init__(
        self,
        url: str,
        key: str,
        conversations: list[int],
        users: list[int],
        rate: float,
        skip: tuple[int, ...] = (),
    ):
        self.url, self.key, self.rate = url, key, rate
        self.targets = [c for c in conversations if c not in skip] or conversations
        self.users = users
        self.sent = self.errors = 0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        pairs = itertools.cycle((c, u) for u in self.users for c in self.targets)
        gap = 1.0 / self.rate
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            nxt = time.monotonic()
            while True:
                conv, user = next(pairs)
                r = await client.post(
                    f"/api/v1/conversations/{conv}/assign",
                    json={"assignee_id": user},
                    headers={"Authorization": f"Bearer {self.key}"},
                )
                if r.status_code == 200:
                    self.sent += 1
                else:
                    self.errors += 1
                nxt += gap
                await asyncio.sleep(max(0.0, nxt - time.monotonic()))

    def start(self) -> None:
        if self.rate > 0:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
