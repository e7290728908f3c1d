"""The business's reactions to messages in the open conversation (services/reactions.py)."""

from __future__ import annotations

import logging

import reflex as rx

from ctreflex.pages.inbox.composer import ComposerState
from ctreflex.pages.inbox.thread import InboxState
from ctreflex.services import reactions
from ctreflex.services.errors import UserFacingError

log = logging.getLogger("ctreflex.inbox")


class ReactionState(InboxState):
    """React / change / remove the business's reaction; a refusal shows by the composer."""

    @rx.event(background=True)
    async def react(self, message_id: int, emoji: str):
        async with self:
            user = self._current_user()
            if user is None or not self.open_id:
                return
            conversation_id = self.open_id
        error = ""
        try:
            await reactions.react(
                account_id=user.account_id,
                user_id=user.user_id,
                conversation_id=conversation_id,
                message_id=int(message_id),
                emoji=str(emoji or ""),
            )
        except UserFacingError as exc:
            error = exc.message
        except Exception:
            log.exception("reacting")
            error = "Something went wrong while sending the reaction; try again."
        async with self:
            if self.open_id == conversation_id:
                composer = await self.get_state(ComposerState)
                composer.composer_error = error
                self._reload()
