"""What the distribution pages share: the page frame (community, switch, tabs), and the reads
they show — commission balances from the core ledger, who is who, the rate of a rule in words.

Read-only: every write goes through the distribution services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from quanzi.communities.models import Community
from quanzi.console.commerce import commerce_context
from quanzi.core.models import LedgerAccount
from quanzi.core.money import Money
from quanzi.distribution.models import CommissionKind, CommissionRule, Distributor
from quanzi.members.models import Member

URL_NAME = "console:distribution"


def page(community: Community, tab: str) -> dict[str, Any]:
    return {
        **commerce_context(community, section="distribution", url_name=URL_NAME),
        "tab": tab,
    }


def respond(
    request: HttpRequest, template: str, context: dict[str, Any], *, failed: bool = False
) -> HttpResponse:
    return render(request, template, context, status=422 if failed else 200)


def money(minor: int, community: Community) -> str:
    return Money(int(minor), community.currency).format()


def percent_text(bp: int) -> str:
    """``1250`` → ``12.5%``: basis points as an owner reads them."""
    value = (Decimal(bp) / 100).normalize()
    return f"{value:f}%"


def rule_rate(rule: CommissionRule, community: Community) -> str:
    if rule.kind == CommissionKind.PERCENT:
        return percent_text(rule.percent_bp)
    return money(rule.fixed_minor, community)


def names(ids: Iterable[int]) -> dict[int, Member]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {m.pk: m for m in Member.objects.filter(pk__in=wanted)}


# --- Balances on the ledger --------------------------------------------------------------------


@dataclass
class Balance:
    """What one person holds in commission: pending, payable (negative: owed back after a
    clawback, which blocks payouts) and set aside in an open payout batch."""

    member_id: int
    member: Member | None = None
    pending: int = 0
    payable: int = 0
    payout: int = 0
    roles: list[Distributor] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.payable < 0


def _prefix(community: Community) -> str:
    return f"commission:{community.pk}:member:"


def balances(community: Community) -> list[Balance]:
    """Everyone with commission on the books, largest payable first."""
    found: dict[int, Balance] = {}
    prefix = _prefix(community)
    for code, amount in LedgerAccount.objects.filter(code__startswith=prefix).values_list(
        "code", "balance"
    ):
        parts = code[len(prefix) :].split(":")
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        row = found.setdefault(int(parts[0]), Balance(int(parts[0])))
        if parts[1] in ("pending", "payable", "payout"):
            setattr(row, parts[1], int(amount))
    people = names(found)
    for distributor in Distributor.objects.filter(
        community=community, member_id__in=list(found)
    ).order_by("pk"):
        found[distributor.member_id].roles.append(distributor)
    rows = [row for row in found.values() if row.pending or row.payable or row.payout]
    for row in rows:
        row.member = people.get(row.member_id)
    rows.sort(key=lambda r: (-r.payable, -r.pending, r.member_id))
    return rows


def totals(community: Community) -> dict[str, int]:
    """The community's commission in each state: pending, payable (owed to people, debts
    left out), in open batches, and paid out."""
    out = {"pending": 0, "payable": 0, "payout": 0, "owed_back": 0}
    prefix = _prefix(community)
    for code, amount in LedgerAccount.objects.filter(code__startswith=prefix).values_list(
        "code", "balance"
    ):
        state = code.rsplit(":", 1)[-1]
        if state == "payable" and amount < 0:
            out["owed_back"] += -int(amount)
        elif state in out:
            out[state] += int(amount)
    paid = (
        LedgerAccount.objects.filter(code=f"commission:{community.pk}:paid")
        .values_list("balance", flat=True)
        .first()
    )
    out["paid"] = int(paid or 0)
    return out


def payee_of(community: Community, member_ids: Iterable[int]) -> dict[int, Distributor]:
    """Where each person's payouts go: their latest distributor row with payee details."""
    out: dict[int, Distributor] = {}
    for distributor in (
        Distributor.objects.filter(community=community, member_id__in=list(member_ids))
        .exclude(payee_account_encrypted="")
        .order_by("pk")
    ):
        out[distributor.member_id] = distributor
    return out
