from __future__ import annotations

from quanzi.core.errors import ApplicationError, Conflict


class CommunityError(ApplicationError):
    code = "community_invalid"


class GroupFull(Conflict):
    code = "group_full"


class EntryRefused(Conflict):
    """A gated group: the member lacks the plan or the purchase it requires."""

    code = "entry_refused"


class InvitationUnusable(Conflict):
    code = "invitation_unusable"


class TransitionRefused(Conflict):
    code = "transition_refused"
