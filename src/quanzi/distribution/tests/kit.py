"""More test data for distribution: visits at a chosen moment, virtual purchases, the books.

Everything goes through the services the code itself uses, as in ``factories``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Sum

from quanzi.catalog.models import Product
from quanzi.communities.models import Community
from quanzi.core import selectors
from quanzi.core.models import LedgerTransaction
from quanzi.distribution.models import Commission, DistributionSettings
from quanzi.distribution.services.accounts import expense_account
from quanzi.distribution.services.links import referral_link_get_or_create, referral_visit
from quanzi.distribution.services.settings import distribution_settings_update
from quanzi.members.models import Member
from quanzi.orders.models import Order
from quanzi.orders.services.checkout import LineIn, order_create
from quanzi.orders.tests.factories import pay


def visit(
    home: Community,
    sharer: Member,
    friend: Member,
    *,
    product: Product | None = None,
    at: datetime | None = None,
) -> None:
    """``friend`` opens ``sharer``'s link (to the community, or to ``product``)."""
    link = referral_link_get_or_create(community=home, sharer=sharer, product=product)
    referral_visit(link=link, member=friend, at=at)


def terms(home: Community, **changes: Any) -> DistributionSettings:
    return distribution_settings_update(community=home, **changes)


def buy_virtual(product: Product, who: Member, quantity: int = 1) -> Order:
    """``who`` orders ``product`` (a course or a membership, nothing shipped) and pays."""
    placed = order_create(
        member=who, community=product.community, lines=[LineIn(product.pk, quantity)]
    )
    pay(placed)
    placed.refresh_from_db()
    return placed


def earned(who: Member) -> list[tuple[int, int]]:
    """(level, amount) of every commission ``who`` earned, oldest first."""
    return list(
        Commission.objects.filter(beneficiary=who)
        .order_by("pk")
        .values_list("level", "amount_minor")
    )


def expense(home: Community) -> int:
    """What the community owes in commission, net of reversals (a positive number)."""
    account = expense_account(home.pk)
    account.refresh_from_db()
    return -account.balance


def postings() -> int:
    return LedgerTransaction.objects.count()


def books_balanced() -> None:
    """Every ledger transaction sums to zero and every cached balance equals its entries."""
    assert selectors.ledger_unbalanced_transactions() == []
    assert selectors.ledger_drift() == []


def net_commission(home: Community) -> int:
    """Σ amount − reversed − clawed of the community's commissions."""
    totals = Commission.objects.filter(community=home).aggregate(
        a=Sum("amount_minor"), r=Sum("reversed_minor"), c=Sum("clawed_minor")
    )
    return (totals["a"] or 0) - (totals["r"] or 0) - (totals["c"] or 0)


def api_error(response: Any) -> dict[str, Any]:
    """The body of an API error, checked to have exactly the documented shape."""
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])
