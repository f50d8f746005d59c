"""Settlement: every commission with what refunds took back, each person's balances on the
ledger, and payout batches — created after a confirm step showing the total, exported to Excel
for the bank or WeChat transfers, then marked paid or cancelled."""

from __future__ import annotations

import io
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from openpyxl import Workbook

from quanzi.communities.models import Community
from quanzi.console.commerce import actor, community_or_404
from quanzi.console.feedback import form_error, form_saved
from quanzi.console.forms_distribution import (
    CommissionFilterForm,
    PayoutCancelForm,
    PayoutCreateForm,
    PayoutPaidForm,
)
from quanzi.console.views import operator_required
from quanzi.console.views_distribution._common import (
    Balance,
    balances,
    money,
    names,
    page,
    payee_of,
    percent_text,
    respond,
    totals,
)
from quanzi.core import clock, crypto
from quanzi.core.errors import ApplicationError
from quanzi.core.money import currency_exponent
from quanzi.distribution.models import Commission, CommissionKind, PayoutBatch, PayoutStatus
from quanzi.distribution.services.payouts import (
    PayoutRequest,
    payout_batch_cancel,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.services.settings import distribution_settings_get
from quanzi.members import selectors as members
from quanzi.members.exporting import sheet_write
from quanzi.members.services import member_personal_data_revealed

PAGE_SIZE = 25
MAX_BATCHES = 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- Commissions -------------------------------------------------------------------------------


def _commission_rate(commission: Commission, community: Community) -> str:
    if commission.rule_kind == CommissionKind.PERCENT:
        return percent_text(commission.percent_bp)
    return _("%(amount)s × %(n)s") % {
        "amount": money(commission.fixed_minor, community),
        "n": commission.quantity,
    }


@require_GET
@operator_required
def distribution_commissions(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    in_community = Commission.objects.filter(community=community)
    earners = names(in_community.values_list("beneficiary_id", flat=True).distinct())
    filters = CommissionFilterForm(
        request.GET or None,
        beneficiaries=sorted(
            ((pk, m.display_name) for pk, m in earners.items()), key=lambda pair: pair[1]
        ),
    )
    query = filters.filters() if filters.is_bound else {}
    listed = in_community.select_related("order", "buyer", "beneficiary", "line")
    if query.get("status"):
        listed = listed.filter(status=query["status"])
    if query.get("beneficiary"):
        listed = listed.filter(beneficiary_id=query["beneficiary"])
    if query.get("order"):
        listed = listed.filter(order__number__icontains=query["order"])
    paginator = Paginator(listed.order_by("-accrued_at", "-pk"), PAGE_SIZE)
    page_ = paginator.get_page(request.GET.get("page"))
    rows = [{"c": c, "rate": _commission_rate(c, community)} for c in page_.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        **page(community, "commissions"),
        "filters": filters,
        "filtered": filters.is_bound and filters.active,
        "page": page_,
        "rows": rows,
        "query": params.urlencode(),
        "books": {k: money(v, community) for k, v in totals(community).items()},
    }
    return respond(request, "console/distribution/commissions.html", context)


# --- Payouts -----------------------------------------------------------------------------------


def _eligible(community: Community) -> tuple[list[Balance], int]:
    """Who a new batch would pay (whole payable balance at or above the smallest payout)."""
    minimum = distribution_settings_get(community).min_payout_minor
    rows = [row for row in balances(community) if row.payable >= minimum]
    return rows, sum(row.payable for row in rows)


@require_GET
@operator_required
def distribution_payouts(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    terms = distribution_settings_get(community)
    rows = balances(community)
    payees = payee_of(community, [row.member_id for row in rows])
    eligible, total = _eligible(community)
    batches = list(
        PayoutBatch.objects.filter(community=community).order_by("-created_at", "-pk")[:MAX_BATCHES]
    )
    counts = {b.pk: b.items.count() for b in batches}
    books = totals(community)
    context = {
        **page(community, "payouts"),
        "rows": [
            {
                "b": row,
                "payee": payees.get(row.member_id),
                "ready": row.payable >= terms.min_payout_minor,
            }
            for row in rows
        ],
        "min_payout": money(terms.min_payout_minor, community),
        "ready_hint": _("payable of %(min)s or more")
        % {"min": money(terms.min_payout_minor, community)},
        "eligible_count": len(eligible),
        "eligible_total": money(total, community),
        "blocked_count": sum(1 for row in rows if row.blocked),
        "batches": [{"batch": b, "items": counts[b.pk]} for b in batches],
        "books": {k: money(v, community) for k, v in books.items()},
        "owed_back": books["owed_back"],
    }
    return respond(request, "console/distribution/payouts.html", context)


def _confirm_page(
    request: HttpRequest,
    community: Community,
    form: PayoutCreateForm | None = None,
    *,
    status: int | None = None,
) -> HttpResponse:
    eligible, total = _eligible(community)
    payees = payee_of(community, [row.member_id for row in eligible])
    form = form or PayoutCreateForm(initial={"expected_total": total})
    context = {
        **page(community, "payouts"),
        "rows": [{"b": row, "payee": payees.get(row.member_id)} for row in eligible],
        "total": money(total, community),
        "total_minor": total,
        "missing_payee": sum(1 for row in eligible if row.member_id not in payees),
        "min_payout": money(distribution_settings_get(community).min_payout_minor, community),
        "form": form,
    }
    if status is None:
        status = 422 if form.errors else 200
    return render(request, "console/distribution/payout_new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@operator_required
def payout_new(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: who would be paid and the total, to confirm. POST: the batch, exactly as shown."""
    community = community_or_404(request, slug)
    if request.method == "GET":
        return _confirm_page(request, community)
    form = PayoutCreateForm(request.POST)
    if form.is_valid():
        eligible, total = _eligible(community)
        if total != form.cleaned_data["expected_total"]:
            messages.error(
                request,
                _(
                    "The balances changed since you looked: the total is now %(total)s. "
                    "Nothing was paid; check the list again and confirm."
                )
                % {"total": money(total, community)},
            )
            return _confirm_page(request, community, status=409)
        try:
            batch = payout_batch_create(
                community=community,
                items=[PayoutRequest(row.member_id, row.payable) for row in eligible],
                note=form.cleaned_data["note"],
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Batch %(number)s of %(total)s is ready: export it, make the transfers, "
                    "then mark it paid."
                )
                % {"number": batch.number, "total": money(batch.total_minor, community)},
            )
            return redirect("console:distribution_payout", slug=community.slug, number=batch.number)
    elif "expected_total" in form.errors:
        form.errors.pop("expected_total")
        form.add_error(None, _("Open the confirm step again: nothing was paid."))
    return _confirm_page(request, community, form)


def _batch_or_404(community: Community, number: str) -> PayoutBatch:
    batch = PayoutBatch.objects.filter(community=community, number=number).first()
    if batch is None:
        raise Http404("No such payout batch in this community.")
    return batch


def _batch_page(
    request: HttpRequest,
    community: Community,
    batch: PayoutBatch,
    *,
    paid_form: PayoutPaidForm | None = None,
    cancel_form: PayoutCancelForm | None = None,
) -> HttpResponse:
    items = list(batch.items.select_related("beneficiary").order_by("pk"))
    payees = payee_of(community, [item.beneficiary_id for item in items])
    context = {
        **page(community, "payouts"),
        "batch": batch,
        "rows": [{"item": item, "payee": payees.get(item.beneficiary_id)} for item in items],
        "missing_payee": sum(1 for item in items if item.beneficiary_id not in payees),
        "total": money(batch.total_minor, community),
        "is_open": batch.status == PayoutStatus.OPEN,
        "can_reveal": members.can_see_personal_data(request.user),
        "paid_form": paid_form or PayoutPaidForm(),
        "cancel_form": cancel_form or PayoutCancelForm(),
    }
    failed = bool((paid_form and paid_form.errors) or (cancel_form and cancel_form.errors))
    return respond(request, "console/distribution/payout.html", context, failed=failed)


@require_GET
@operator_required
def payout_detail(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = community_or_404(request, slug)
    return _batch_page(request, community, _batch_or_404(community, number))


@require_POST
@operator_required
def payout_paid(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = community_or_404(request, slug)
    batch = _batch_or_404(community, number)
    form = PayoutPaidForm(request.POST)
    if form.is_valid():
        done = form_saved(
            request,
            form,
            lambda: payout_batch_mark_paid(batch=batch, actor_id=actor(request)),
            success=_("Batch %(number)s is paid: %(total)s left as commission.")
            % {"number": batch.number, "total": money(batch.total_minor, community)},
            to="console:distribution_payout",
            slug=community.slug,
            number=number,
        )
        if done is not None:
            return done
    return _batch_page(request, community, batch, paid_form=form)


@require_POST
@operator_required
def payout_cancel(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = community_or_404(request, slug)
    batch = _batch_or_404(community, number)
    form = PayoutCancelForm(request.POST)
    if form.is_valid():
        done = form_saved(
            request,
            form,
            lambda: payout_batch_cancel(
                batch=batch, reason=form.cleaned_data["reason"], actor_id=actor(request)
            ),
            success=_("Batch %(number)s is cancelled; every amount is back in its payable balance.")
            % {"number": batch.number},
            to="console:distribution_payout",
            slug=community.slug,
            number=number,
        )
        if done is not None:
            return done
    return _batch_page(request, community, batch, cancel_form=form)


@require_POST
@operator_required
def payout_export(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    """The batch as a workbook for the transfers. Payee accounts are in full only for an
    operator who may see personal data, and then each person's account view is recorded."""
    community = community_or_404(request, slug)
    batch = _batch_or_404(community, number)
    reveal = members.can_see_personal_data(request.user)
    items = list(batch.items.select_related("beneficiary").order_by("pk"))
    payees = payee_of(community, [item.beneficiary_id for item in items])
    scale = Decimal(10) ** currency_exponent(batch.currency)
    rows = []
    for index, item in enumerate(items, start=1):
        payee = payees.get(item.beneficiary_id)
        account = ""
        if payee is not None:
            account = (
                crypto.decrypt(payee.payee_account_encrypted)
                if reveal
                else payee.payee_account_masked
            )
        rows.append(
            (
                index,
                batch.number,
                item.beneficiary.display_name,
                payee.payee_name if payee else "",
                account,
                Decimal(item.amount_minor) / scale,
                item.reference,
            )
        )
    workbook = Workbook(write_only=True)
    sheet_write(
        workbook,
        batch.number,
        [
            _("No."),
            _("Batch"),
            _("Member"),
            _("Payee name"),
            _("Payee account"),
            _("Amount (yuan)"),
            _("Transfer reference"),
        ],
        rows,
    )
    if reveal:
        for item in items:
            if item.beneficiary_id in payees:
                member_personal_data_revealed(
                    member=item.beneficiary, actor_id=actor(request), what="payout_export"
                )
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="payout-{batch.number}-{stamp}.xlsx"'
    return response
