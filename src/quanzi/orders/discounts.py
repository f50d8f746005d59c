"""Discounts apps above orders give a member at checkout, without orders knowing them.

An app registers a provider at start-up (rewards: the growth level's discount); checkout takes
the best of them and of the member's live memberships. Like a membership's, it applies neither
to membership products nor in group-buys.
"""

from __future__ import annotations

from collections.abc import Callable

from quanzi.communities.models import Community
from quanzi.members.models import Member

MemberDiscount = Callable[[Member, Community], int]

_providers: list[MemberDiscount] = []


def register_member_discount(provider: MemberDiscount) -> MemberDiscount:
    """``provider(member, community)`` returns a percentage off (0 for none)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def member_discount_percent(member: Member, community: Community) -> int:
    """The best percentage any provider gives ``member`` in ``community`` (0 without one)."""
    best = max((provider(member, community) for provider in _providers), default=0)
    return min(max(best, 0), 100)
