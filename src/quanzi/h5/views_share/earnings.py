"""My earnings: what a distributor's links earned, where the money stands (pending, payable,
in a payout, paid), each commission with when it matures, the payouts, and where they go.

The figures are the ledger's balances, not sums recomputed here: the page shows exactly what
a payout batch would find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from quanzi.communities.models import Community
from quanzi.console.feedback import form_error
from quanzi.core.errors import ApplicationError
from quanzi.core.money import Money
from quanzi.distribution.models import (
    Commission,
    CommissionStatus,
    DistributorStatus,
    PayoutBatch,
    PayoutItem,
    PayoutStatus,
)
from quanzi.distribution.selectors import commission_totals
from quanzi.distribution.services.commissions import closes_at
from quanzi.distribution.services.payouts import distributor_set_payee
from quanzi.distribution.services.settings import distribution_settings_get
from quanzi.h5.views_share._common import community_or_404
from quanzi.h5.views_share.forms import PayeeForm
from quanzi.h5.views_share.share import roles_of
from quanzi.h5.views_shop._common import members_only
from quanzi.members import selectors as members
from quanzi.members.models import Member

LIST_LIMIT = 100  # the newest commissions and payouts shown


@dataclass(frozen=True)
class Totals:
    pending: Money
    payable: Money  # below zero: owed from commission clawed back after a refund
    in_payout: Money
    paid: Money

    @property
    def debt(self) -> Money | None:
        return -self.payable if self.payable.minor < 0 else None


@dataclass(frozen=True)
class CommissionView:
    commission: Commission
    order_number: str  # masked
    product: str
    amount: Money
    taken_back: Money | None
    state: str  # pending | waiting | payable | reversed
    closes: datetime | None


@dataclass(frozen=True)
class PayoutView:
    item: PayoutItem
    amount: Money

    @property
    def batch(self) -> PayoutBatch:
        return self.item.batch


def mask_number(number: str) -> str:
    """Enough of an order number to tell orders apart, not enough to look one up."""
    if len(number) <= 8:
        return number[:2] + "****"
    return f"{number[:4]}****{number[-4:]}"


def _totals(community: Community, ids: list[int]) -> Totals:
    # Cash rewards land on the payable account too, so it is read even without commissions.
    got = commission_totals(community.pk, ids)
    currency = community.currency
    return Totals(
        pending=Money(got.pending, currency),
        payable=Money(got.payable, currency),
        in_payout=Money(got.in_payout, currency),
        paid=Money(got.paid, currency),
    )


def _commission_view(commission: Commission) -> CommissionView:
    order = commission.order
    taken = commission.reversed_minor + commission.clawed_minor
    if commission.status == CommissionStatus.MATURED:
        state = "payable"
    elif commission.status == CommissionStatus.REVERSED:
        state = "reversed"
    else:
        state = "pending" if order.received_at is not None else "waiting"
    return CommissionView(
        commission=commission,
        order_number=mask_number(order.number),
        product=commission.line.name or commission.line.product.name,
        amount=Money(commission.net_minor, commission.currency),
        taken_back=Money(taken, commission.currency) if taken else None,
        state=state,
        closes=closes_at(commission, order),
    )


@require_http_methods(["GET", "POST"])
@members_only
def earnings(request: HttpRequest, member: Member, slug: str) -> HttpResponse:
    community = community_or_404(slug)
    ids = members.member_ids_for(member)
    # A refused application alone gives nothing to pay; a suspended role may still be owed.
    roles = [r for r in roles_of(community, member) if r.status != DistributorStatus.REJECTED]
    payee = next((r for r in roles if r.payee_account_masked), None)
    form: PayeeForm | None = None
    status = 200
    if roles:
        initial = {"name": payee.payee_name} if payee is not None else None
        form = PayeeForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form is None:
            return redirect("h5:share", slug=community.slug)
        if form.is_valid():
            try:
                # One payee for all of the member's roles here: a payout pays the person.
                with transaction.atomic():
                    for role in roles:
                        distributor_set_payee(
                            distributor=role,
                            name=form.cleaned_data["name"],
                            account=form.cleaned_data["account"],
                        )
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                messages.success(request, _("Saved. Payouts will go to this account."))
                return redirect(reverse("h5:earnings", args=[community.slug]) + "#payee")
        status = 422
    commissions = list(
        Commission.objects.filter(community=community, beneficiary_id__in=ids)
        .select_related("order", "line", "line__product")
        .order_by("-accrued_at", "-pk")[:LIST_LIMIT]
    )
    payouts = list(
        PayoutItem.objects.filter(beneficiary_id__in=ids, batch__community=community)
        .exclude(batch__status=PayoutStatus.CANCELLED)
        .select_related("batch")
        .order_by("-batch__created_at", "-pk")[:LIST_LIMIT]
    )
    terms = distribution_settings_get(community)
    context = {
        "tab": "me",
        "community": community,
        "member": member,
        "roles": roles,
        "totals": _totals(community, ids),
        "commissions": [_commission_view(c) for c in commissions],
        "payouts": [PayoutView(p, Money(p.amount_minor, p.batch.currency)) for p in payouts],
        "payee": payee,
        "form": form,
        "window_days": terms.return_window_days,
        "min_payout": Money(terms.min_payout_minor, community.currency),
    }
    return render(request, "h5/share/earnings.html", context, status=status)
