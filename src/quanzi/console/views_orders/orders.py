"""Orders: the filtered list with its key figures, one order's page, and the actions an
operator takes on it (reveal the address, cancel, confirm a transfer, ship, mark delivered,
open a refund)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from quanzi.catalog.models import Drop
from quanzi.communities.models import Community
from quanzi.console.commerce import actor, choose_community, commerce_context
from quanzi.console.commerce import community_or_404 as _community
from quanzi.console.feedback import form_error
from quanzi.console.forms_commerce import (
    CancelOrderForm,
    ConfirmTransferForm,
    OrderFilterForm,
    RefundOpenForm,
    ShipForm,
    format_options,
)
from quanzi.console.labels import action_label
from quanzi.console.views import operator_required
from quanzi.console.views_orders._common import address_view, order_or_404, ship_from_form
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.money import Money
from quanzi.members import selectors as members
from quanzi.members.services import member_personal_data_revealed
from quanzi.orders import selectors as orders
from quanzi.orders.models import Order, OrderStatus
from quanzi.orders.services.aftersales import after_sale_open, refundable_minor
from quanzi.orders.services.checkout import address_of, order_cancel
from quanzi.orders.services.fulfilment import order_mark_delivered
from quanzi.orders.services.paying import order_pay_start, order_payments
from quanzi.payments.models import Payment, PaymentStatus, Provider, Refund
from quanzi.payments.services.payments import payment_confirm_manual

PAGE_SIZE = 25

# What an order's activity says, in words (the activity log's ``data.action``).
ORDER_ACTIONS: dict[str, str | Promise] = {
    "": gettext_lazy("Order placed"),
    "cancelled": gettext_lazy("Order cancelled"),
    "shipped": gettext_lazy("Shipped"),
    "delivered": gettext_lazy("Marked delivered"),
    "received": gettext_lazy("Receipt confirmed"),
    "revived": gettext_lazy("Paid after it lapsed: the order stands"),
    "delivery_failed": gettext_lazy("A virtual item could not be delivered"),
    "refund_requested": gettext_lazy("Refund requested"),
    "approved": gettext_lazy("Refund approved"),
    "returned": gettext_lazy("Returned goods received"),
    "rejected": gettext_lazy("Refund refused"),
    "withdrawn": gettext_lazy("Refund request withdrawn"),
    "restocked": gettext_lazy("Units back in stock"),
}


def _items(order: Order) -> str:
    lines = list(order.lines.all())
    if not lines:
        return ""
    first = f"{lines[0].name} × {lines[0].quantity}"
    if len(lines) == 1:
        return first
    return _("%(first)s and %(n)s more") % {"first": first, "n": len(lines) - 1}


def _today_start() -> datetime:
    today = timezone.localtime(clock.now()).date()
    return timezone.make_aware(datetime.combine(today, time.min))


def _kpis(community: Community) -> dict[str, Any]:
    start = _today_start()
    in_community = Order.objects.filter(community=community)
    counts = orders.order_counts(community=community)
    paid = in_community.filter(paid_at__gte=start).aggregate(s=Sum("total_minor"))["s"] or 0
    return {
        "today": in_community.filter(created_at__gte=start).count(),
        "paid_today": Money(paid, community.currency).format(),
        "pending": counts.get(OrderStatus.PENDING, 0),
        "to_ship": orders.orders_to_ship(community=community).count(),
        "after_sales": counts.get("after_sales_open", 0),
    }


# --- Orders ------------------------------------------------------------------------------------


def _orders_context(community: Community) -> dict[str, Any]:
    return commerce_context(community, section="orders", url_name="console:orders")


@require_GET
@operator_required
def orders_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="orders", url_name="console:orders")


@require_GET
@operator_required
def order_list(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community(request, slug)
    drop_choices = list(
        Drop.objects.filter(community=community)
        .order_by("-starts_at")
        .values_list("pk", "title")[:100]
    )
    filters = OrderFilterForm(request.GET or None, drops=drop_choices)
    query = filters.filters() if filters.is_bound else {}
    paginator = Paginator(orders.order_list(community=community, **query), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [{"order": o, "items": _items(o)} for o in page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        **_orders_context(community),
        "filters": filters,
        "filtered": filters.is_bound and filters.active,
        "page": page,
        "rows": rows,
        "query": params.urlencode(),
        "kpis": _kpis(community),
    }
    return render(request, "console/commerce/orders.html", context)


def _order_activity(order: Order) -> list[dict[str, Any]]:
    rows = Activity.objects.filter(
        Q(object_type="order", object_id=order.number)
        | Q(object_type="after_sale", object_id__startswith=f"{order.number}R")
        | Q(kind=ActivityKind.PAY, data__order=order.number)
        | Q(object_type="sku", data__order=order.number)
    ).order_by("occurred_at", "id")[:80]
    lines = {line.pk: line for line in order.lines.all()}
    out = []
    for activity in rows:
        action = str(activity.data.get("action", "")) if isinstance(activity.data, dict) else ""
        if activity.kind == ActivityKind.PAY:
            label: str = _("Paid")
        elif activity.kind == ActivityKind.REFUND:
            label = _("Refund paid out")
        else:
            label = str(ORDER_ACTIONS.get(action) or action_label(action))
        amount = ""
        if activity.amount_minor is not None:
            amount = Money(activity.amount_minor, activity.currency or order.currency).format()
        detail = ""
        paid_line = (
            lines.get(activity.data.get("line")) if activity.kind == ActivityKind.PAY else None
        )
        if paid_line is not None:
            detail = f"{paid_line.name} × {paid_line.quantity}"
        elif action == "shipped":
            detail = f"{activity.data.get('carrier', '')} {activity.data.get('tracking_no', '')}"
        elif action == "cancelled":
            detail = str(activity.data.get("reason", ""))
        elif action == "restocked":
            detail = _("%(n)s units") % {"n": activity.data.get("units", "")}
        out.append(
            {
                "activity": activity,
                "label": label,
                "amount": amount,
                "detail": detail.strip(),
                "by_operator": activity.actor_id is not None,
            }
        )
    return out


def _open_manual_payment(payments: list[Payment]) -> Payment | None:
    """The transfer an operator would confirm: the latest manual payment not yet paid."""
    waiting = [
        p for p in payments if p.provider == Provider.MANUAL and p.status != PaymentStatus.SUCCEEDED
    ]
    return waiting[-1] if waiting else None


def _order_page(
    request: HttpRequest,
    community: Community,
    order: Order,
    *,
    revealed: bool = False,
    cancel_form: CancelOrderForm | None = None,
    confirm_form: ConfirmTransferForm | None = None,
    ship_form: ShipForm | None = None,
    refund_form: RefundOpenForm | None = None,
    status: int = 200,
) -> HttpResponse:
    order = orders.order_get(order.pk) or order  # fresh, after any action
    lines = list(order.lines.all())
    payments = order_payments(order)
    refunds = list(
        Refund.objects.filter(payment__in=payments).select_related("payment").order_by("pk")
    )
    member = order.member
    address = address_of(order)
    cases = list(order.after_sales.select_related("line").order_by("created_at", "pk"))
    shipment = getattr(order, "shipment", None) if order.status != OrderStatus.PENDING else None
    open_case = any(c.status in ("requested", "refunding") for c in cases)
    can_confirm = order.status == OrderStatus.PENDING or (
        order.status == OrderStatus.CANCELLED
        and order.paid_at is None
        and _open_manual_payment(payments) is not None
    )
    refundable = refundable_minor(order) if order.is_paid else 0
    context = {
        **_orders_context(community),
        "order": order,
        "lines": [(line, format_options(line.options)) for line in lines],
        "payments": payments,
        "refunds": refunds,
        "member": member,
        "member_phone": members.member_phone_masked(member),
        "address": address_view(address, reveal=revealed) if address else None,
        "revealed": revealed,
        "can_reveal": members.can_see_personal_data(request.user),
        "shipment": shipment,
        "cases": cases,
        "activity": _order_activity(order),
        "can_cancel": order.status == OrderStatus.PENDING,
        "can_confirm": can_confirm,
        "can_ship": order.status == OrderStatus.PAID and order.needs_shipping,
        "ship_blocked": open_case,
        "can_deliver": order.status == OrderStatus.SHIPPED,
        "can_refund": order.is_paid and order.status != OrderStatus.REFUNDED and refundable > 0,
        "refundable": Money(refundable, order.currency).format(),
        "cancel_form": cancel_form or CancelOrderForm(),
        "confirm_form": confirm_form or ConfirmTransferForm(currency=order.currency),
        "ship_form": ship_form or ShipForm(),
        "refund_form": refund_form
        or RefundOpenForm(
            lines=lines,
            currency=order.currency,
            initial={"amount": Money(refundable, order.currency).as_decimal_string()},
        ),
    }
    return render(request, "console/commerce/order.html", context, status=status)


@require_GET
@operator_required
def order_detail(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    return _order_page(request, community, order_or_404(community, number))


@require_POST
@operator_required
def order_reveal(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = order_or_404(community, number)
    if not members.can_see_personal_data(request.user):
        messages.error(
            request, _("Seeing a delivery address unmasked needs the personal-data permission.")
        )
        return _order_page(request, community, order, status=403)
    if not order.ship_address_enc:
        messages.info(request, _("This order has no delivery address."))
        return redirect("console:order", slug=community.slug, number=order.number)
    member_personal_data_revealed(
        member=order.member, actor_id=actor(request), what="order_address"
    )
    # Shown in this response only: a reload shows it masked again.
    return _order_page(request, community, order, revealed=True)


@require_POST
@operator_required
def order_cancel_view(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = order_or_404(community, number)
    form = CancelOrderForm(request.POST)
    if form.is_valid():
        try:
            order_cancel(order=order, reason=form.cleaned_data["reason"], actor_id=actor(request))
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("Order %(number)s is cancelled; its stock is back on sale.")
                % {"number": order.number},
            )
            return redirect("console:order", slug=community.slug, number=order.number)
    return _order_page(request, community, order, cancel_form=form, status=422)


@require_POST
@operator_required
def order_confirm(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = order_or_404(community, number)
    form = ConfirmTransferForm(request.POST, currency=order.currency)
    if form.is_valid():
        try:
            payment = _open_manual_payment(order_payments(order)) or order_pay_start(
                order=order, provider=Provider.MANUAL
            )
            payment_confirm_manual(
                payment=payment,
                amount_minor=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc, {"amount_minor": "amount"})
        else:
            order.refresh_from_db()
            if order.is_paid and order.status != OrderStatus.REFUNDED:
                messages.success(
                    request,
                    _("Transfer of %(amount)s confirmed: order %(number)s is paid.")
                    % {"amount": Money(payment.amount_minor, payment.currency), "number": number},
                )
            else:
                messages.warning(
                    request,
                    _(
                        "Transfer confirmed, but the order had lapsed and its goods are gone: "
                        "the money is being refunded."
                    ),
                )
            return redirect("console:order", slug=community.slug, number=order.number)
    return _order_page(request, community, order, confirm_form=form, status=422)


@require_POST
@operator_required
def order_ship_view(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = order_or_404(community, number)
    form = ShipForm(request.POST)
    if ship_from_form(request, order, form):
        return redirect("console:order", slug=community.slug, number=order.number)
    return _order_page(request, community, order, ship_form=form, status=422)


@require_POST
@operator_required
def order_delivered(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = order_or_404(community, number)
    try:
        order_mark_delivered(order=order, actor_id=actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order %(number)s is delivered.") % {"number": order.number})
    return redirect("console:order", slug=community.slug, number=order.number)


@require_POST
@operator_required
def order_refund(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = order_or_404(community, number)
    form = RefundOpenForm(request.POST, lines=list(order.lines.all()), currency=order.currency)
    if form.is_valid():
        data = form.cleaned_data
        try:
            case = after_sale_open(
                order=order,
                kind=data["kind"],
                amount_minor=data["amount"],
                reason=data["reason"],
                line_id=data["line"],
                quantity=data["quantity"] if data["line"] else None,
                opened_by="operator",
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc, {"amount_minor": "amount", "line_id": "line", "order": "kind"})
        else:
            messages.success(
                request,
                _("Refund %(no)s of %(amount)s is opened; approve it in After-sales to pay it out.")
                % {"no": case.refund_no, "amount": Money(case.amount_minor, order.currency)},
            )
            return redirect("console:order", slug=community.slug, number=order.number)
    return _order_page(request, community, order, refund_form=form, status=422)
