"""Test data for distribution, made through the services the code itself uses."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from quanzi.catalog.models import Sku
from quanzi.communities.models import Community
from quanzi.core.models import LedgerAccount, LedgerEntry
from quanzi.distribution.models import Distributor
from quanzi.distribution.services.accounts import (
    payable_account,
    payout_account,
    pending_account,
)
from quanzi.distribution.services.distributors import distributor_apply, distributor_approve
from quanzi.distribution.services.links import referral_link_get_or_create, referral_visit
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.members.models import Member
from quanzi.orders.models import AfterSale, Order
from quanzi.orders.services.aftersales import after_sale_approve, after_sale_open
from quanzi.orders.services.fulfilment import order_confirm_receipt, order_ship
from quanzi.orders.tests.factories import paid_order


def approved(home: Community, who: Member, role: str = "sharer", **kwargs: Any) -> Distributor:
    return distributor_approve(
        distributor=distributor_apply(community=home, member=who, role=role, **kwargs)
    )


def percent(home: Community, bp: int, level: int = 1, **kwargs: Any) -> None:
    commission_rule_create(community=home, kind="percent", percent_bp=bp, level=level, **kwargs)


def shared(sku: Sku, sharer: Member, friend: Member, quantity: int = 1) -> Order:
    """``friend`` opens ``sharer``'s link to the product, then buys and pays."""
    link = referral_link_get_or_create(
        community=sku.product.community, sharer=sharer, product=sku.product
    )
    referral_visit(link=link, member=friend)
    return paid_order(sku, friend, quantity)


def received(order: Order) -> Order:
    order_ship(order=order, carrier="顺丰", tracking_no="SF123456789")
    return order_confirm_receipt(order=order)


def refund(order: Order, amount_minor: int, *, line: bool = True) -> AfterSale:
    """An approved refund-only case for ``amount_minor`` (run under
    ``django_capture_on_commit_callbacks(execute=True)`` so the refund completes)."""
    case = after_sale_open(
        order=order,
        kind="refund_only",
        amount_minor=amount_minor,
        reason="坏了",
        line_id=order.lines.first().pk if line else None,  # type: ignore[union-attr]
    )
    return after_sale_approve(case=case)


def balance(account: LedgerAccount) -> int:
    account.refresh_from_db()
    derived = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
    assert derived == account.balance
    return account.balance


def pending(home: Community, who: Member) -> int:
    return balance(pending_account(home.pk, who.pk))


def payable(home: Community, who: Member) -> int:
    return balance(payable_account(home.pk, who.pk))


def in_payout(home: Community, who: Member) -> int:
    return balance(payout_account(home.pk, who.pk))
