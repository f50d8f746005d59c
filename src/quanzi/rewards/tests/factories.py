"""Test data for rewards, made through the services the code itself uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Sum

from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.core import selectors
from quanzi.core.models import Activity, LedgerAccount, LedgerTransaction
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.rewards.models import (
    CrystalAction,
    CrystalGrant,
    CrystalReward,
    CrystalRule,
    MemberLevel,
    Redemption,
)
from quanzi.rewards.selectors import crystal_balance, crystal_debt
from quanzi.rewards.services.earning import crystals_earn
from quanzi.rewards.services.rules import crystal_rule_set

__all__ = [
    "award",
    "books_balanced",
    "circle",
    "community",
    "grants_match_wallet",
    "member",
    "rewards_state",
    "rule",
]

_seq = itertools.count(1)


def circle(**rules: int) -> Community:
    """A community whose actions earn as given (``post=10, purchase=1``)."""
    home = community()
    for action, amount in rules.items():
        crystal_rule_set(community=home, action=action, amount=amount)
    return home


def rule(home: Community, action: str, amount: int, **kwargs: Any) -> CrystalRule:
    return crystal_rule_set(community=home, action=action, amount=amount, **kwargs)


def award(home: Community, who: Member, crystals: int, **kwargs: Any) -> CrystalGrant:
    """An operator's award of ``crystals`` (no rule, no cap)."""
    kwargs.setdefault("source", f"award-{next(_seq)}")
    kwargs.setdefault("note", "thanks for the recipe")
    grant = crystals_earn(
        community=home, member=who, action=CrystalAction.MANUAL, amount=crystals, **kwargs
    )
    assert grant is not None
    return grant


def remaining(home: Community, who: Member) -> int:
    total = CrystalGrant.objects.filter(community=home, member=who).aggregate(n=Sum("remaining"))[
        "n"
    ]
    return int(total or 0)


def grants_match_wallet(home: Community, who: Member) -> None:
    """The wallet holds exactly what the grants have left, never below zero; debt never above."""
    assert crystal_balance(home, who) == remaining(home, who)
    assert crystal_balance(home, who) >= 0
    assert crystal_debt(home, who) >= 0
    assert not CrystalGrant.objects.filter(remaining__gt=F("amount") - F("debt_repaid")).exists()


def books_balanced() -> None:
    """Every ledger transaction sums to zero and every cached balance is its entries' sum."""
    assert selectors.ledger_unbalanced_transactions() == []
    assert selectors.ledger_drift() == []


@dataclass(frozen=True)
class RewardsState:
    grants: list[tuple[Any, ...]]
    rewards: list[tuple[Any, ...]]
    redemptions: list[tuple[Any, ...]]
    levels: list[tuple[Any, ...]]
    balances: list[tuple[Any, ...]]
    ledger: int
    activities: int


def rewards_state() -> RewardsState:
    """Everything a rewards service could change, to show a refused call changed nothing."""
    return RewardsState(
        grants=list(
            CrystalGrant.objects.order_by("pk").values_list(
                "pk", "amount", "remaining", "clawed", "expired", "debt_repaid"
            )
        ),
        rewards=list(CrystalReward.objects.order_by("pk").values_list("pk", "stock", "active")),
        redemptions=list(Redemption.objects.order_by("pk").values_list("pk", "status")),
        levels=list(MemberLevel.objects.order_by("pk").values_list("pk", "level", "earned_total")),
        balances=list(LedgerAccount.objects.order_by("pk").values_list("code", "balance")),
        ledger=LedgerTransaction.objects.count(),
        activities=Activity.objects.count(),
    )
