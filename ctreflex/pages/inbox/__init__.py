"""The inbox, by concern. Its states form one chain under AuthState (so SessionGuard clears
them all for a signed-out tab):

- `listing.InboxListState`: the conversation list, its search, filter and sort;
- `thread.InboxState` (a substate): the open conversation, on_load and the heartbeat;
  `live` runs its live listener;
- `composer.ComposerState` and `picker.TemplatePickerState` (substates of InboxState): the
  drafts in the open conversation, reached by the others with `get_state`;
- `assign.TeamState` (a substate of InboxState): the team inbox (assign, status, snooze,
  the bulk bar's selection, settings, reminders); `listing` owns the view switcher;
- `reactions.ReactionState` (a substate of InboxState): the business's reactions;
- `page`: the two routes. The components (ctreflex/components/composer.py, template_picker.py)
  import the states they render.
"""

from ctreflex.pages.inbox import page  # registers the two routes
from ctreflex.pages.inbox.assign import TeamState
from ctreflex.pages.inbox.canned import CannedState
from ctreflex.pages.inbox.composer import ComposerState
from ctreflex.pages.inbox.labels import LabelsState
from ctreflex.pages.inbox.listing import InboxListState
from ctreflex.pages.inbox.live import listener_count
from ctreflex.pages.inbox.notes import NotesState
from ctreflex.pages.inbox.picker import PickerField, TemplatePickerState
from ctreflex.pages.inbox.thread import InboxState

__all__ = [
    "CannedState",
    "ComposerState",
    "InboxListState",
    "InboxState",
    "LabelsState",
    "NotesState",
    "PickerField",
    "TeamState",
    "TemplatePickerState",
    "listener_count",
    "page",
]
