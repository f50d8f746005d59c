"""Console pages for orders, shipping and after-sales of one community.

Orders: a filtered, paginated list with a strip of key figures, and one order's page with its
lines, money, member, address (masked unless the operator may see personal data and asks),
payments, shipment, after-sales cases and activity, and the actions an operator takes on it.
Shipping: the pick list and the orders to ship, each with a ship form, and both as Excel.
After-sales: the open cases with their evidence, to approve, refuse or mark returned.

Reads through the orders selectors (and a few small queries); writes through the orders and
payments services, whose refusals are shown next to the field they name.
"""

from __future__ import annotations

import io
from datetime import datetime, time
from pathlib import PurePosixPath
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from openpyxl import Workbook

from quanzi.catalog.models import Drop
from quanzi.communities.models import Community
from quanzi.console.feedback import form_error
from quanzi.console.forms_commerce import (
    ApproveForm,
    CancelOrderForm,
    ConfirmTransferForm,
    MarkReturnedForm,
    OrderFilterForm,
    RefundOpenForm,
    RejectForm,
    ShipForm,
    ShippingExportForm,
    format_options,
)
from quanzi.console.labels import action_label
from quanzi.console.views import operator_required
from quanzi.console.views_catalog import actor, choose_community, commerce_context
from quanzi.console.views_catalog import community_or_404 as _community
from quanzi.core import clock, crypto
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.money import Money
from quanzi.members import selectors as members
from quanzi.members.exporting import excel_time, sheet_write
from quanzi.members.services import member_personal_data_revealed
from quanzi.orders import selectors as orders
from quanzi.orders.models import (
    OPEN_AFTER_SALE,
    AfterSale,
    AfterSaleStatus,
    Evidence,
    Order,
    OrderStatus,
)
from quanzi.orders.services.aftersales import (
    after_sale_approve,
    after_sale_mark_returned,
    after_sale_open,
    after_sale_reject,
    refundable_minor,
)
from quanzi.orders.services.checkout import Address, address_of, order_cancel
from quanzi.orders.services.fulfilment import order_mark_delivered, order_ship
from quanzi.orders.services.paying import order_pay_start, order_payments
from quanzi.payments.models import Payment, PaymentStatus, Provider, Refund
from quanzi.payments.services.payments import payment_confirm_manual

PAGE_SIZE = 25
CLOSED_CASES_SHOWN = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Evidence photos are shown inline as one of these; a PDF downloads as a PDF, and anything
# else as bytes, whatever its name claims.
EVIDENCE_IMAGES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}

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


def _mask_address(address: Address) -> dict[str, str]:
    name = address.name
    return {
        "name": name[:1] + "*" * max(len(name) - 1, 1),
        "phone": crypto.mask(address.phone),
        "region": address.region,
        "address": address.address[:6] + "****",
    }


def _address_view(address: Address, *, reveal: bool) -> dict[str, str]:
    if reveal:
        return {
            "name": address.name,
            "phone": address.phone,
            "region": address.region,
            "address": address.address,
        }
    return _mask_address(address)


def _items(order: Order) -> str:
    lines = list(order.lines.all())
    if not lines:
        return ""
    first = f"{lines[0].name} × {lines[0].quantity}"
    if len(lines) == 1:
        return first
    return _("%(first)s and %(n)s more") % {"first": first, "n": len(lines) - 1}


def _order_or_404(community: Community, number: str) -> Order:
    order = orders.order_get(number)
    if order is None or order.community_id != community.pk:
        raise Http404("No such order in this community.")
    return order


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
        "address": _address_view(address, reveal=revealed) if address else None,
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
    return _order_page(request, community, _order_or_404(community, number))


@require_POST
@operator_required
def order_reveal(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = _order_or_404(community, number)
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
    order = _order_or_404(community, number)
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
    order = _order_or_404(community, number)
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


def _ship(request: HttpRequest, order: Order, form: ShipForm) -> bool:
    """Ship ``order`` from a filled-in form; refusals land on the form."""
    if not form.is_valid():
        return False
    try:
        order_ship(
            order=order,
            carrier=form.cleaned_data["carrier"],
            tracking_no=form.cleaned_data["tracking_no"],
            actor_id=actor(request),
        )
    except ApplicationError as exc:
        aliases = (
            {"carrier": "carrier_other"}
            if form.data.get(form.add_prefix("carrier")) == ("other")
            else {}
        )
        form_error(form, exc, aliases)
        return False
    messages.success(
        request,
        _("Order %(number)s is shipped with %(carrier)s %(tracking)s; the member is told.")
        % {
            "number": order.number,
            "carrier": form.cleaned_data["carrier"],
            "tracking": form.cleaned_data["tracking_no"],
        },
    )
    return True


@require_POST
@operator_required
def order_ship_view(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = _order_or_404(community, number)
    form = ShipForm(request.POST)
    if _ship(request, order, form):
        return redirect("console:order", slug=community.slug, number=order.number)
    return _order_page(request, community, order, ship_form=form, status=422)


@require_POST
@operator_required
def order_delivered(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = _order_or_404(community, number)
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
    order = _order_or_404(community, number)
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


# --- Shipping ----------------------------------------------------------------------------------


def _to_ship(community: Community) -> QuerySet[Order]:
    return (
        orders.orders_to_ship(community=community)
        .prefetch_related("lines__product")
        .order_by("paid_at", "pk")
    )


def _shipping_page(
    request: HttpRequest,
    community: Community,
    *,
    bound: tuple[int, ShipForm] | None = None,
) -> HttpResponse:
    pick = orders.pick_list(community=community)
    pick_rows = [{"row": row, "spec": format_options(row.options)} for row in pick]
    ship_rows = []
    for order in _to_ship(community):
        lines = list(order.lines.all())
        if bound is not None and bound[0] == order.pk:
            form = bound[1]
        else:
            form = ShipForm(prefix=f"o{order.pk}")
        ship_rows.append(
            {
                "order": order,
                "lines": [(line, format_options(line.options)) for line in lines],
                "cold_chain": any(line.product.cold_chain for line in lines),
                "form": form,
            }
        )
    context = {
        **commerce_context(community, section="shipping", url_name="console:shipping"),
        "pick_rows": pick_rows,
        "units": sum(row.units for row in pick),
        "ship_rows": ship_rows,
        "export_form": ShippingExportForm(),
        "can_reveal": members.can_see_personal_data(request.user),
    }
    failed = bound is not None and bool(bound[1].errors)
    return render(request, "console/commerce/shipping.html", context, status=422 if failed else 200)


@require_GET
@operator_required
def shipping_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="shipping", url_name="console:shipping")


@require_GET
@operator_required
def shipping(request: HttpRequest, slug: str) -> HttpResponse:
    return _shipping_page(request, _community(request, slug))


@require_POST
@operator_required
def shipping_ship(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    community = _community(request, slug)
    order = _order_or_404(community, number)
    form = ShipForm(request.POST, prefix=f"o{order.pk}")
    if _ship(request, order, form):
        return redirect("console:shipping", slug=community.slug)
    return _shipping_page(request, community, bound=(order.pk, form))


@require_POST
@operator_required
def shipping_export(request: HttpRequest, slug: str) -> HttpResponse:
    """The pick list and the orders to ship as one workbook; addresses masked unless asked for
    by an operator who may see them, and then every member's address view is recorded."""
    community = _community(request, slug)
    form = ShippingExportForm(request.POST)
    reveal = form.is_valid() and form.cleaned_data["addresses"]
    if reveal and not members.can_see_personal_data(request.user):
        messages.error(
            request, _("Full addresses in the export need the personal-data permission.")
        )
        return redirect("console:shipping", slug=community.slug)
    to_ship = list(_to_ship(community))
    workbook = Workbook(write_only=True)
    sheet_write(
        workbook,
        _("Pick list"),
        [_("Product"), _("Spec"), _("Units"), _("Orders"), _("Cold chain")],
        (
            (
                row.name,
                format_options(row.options),
                row.units,
                row.orders,
                _("yes") if row.cold_chain else "",
            )
            for row in orders.pick_list(community=community)
        ),
    )
    ship_rows = []
    for order in to_ship:
        found = address_of(order)
        address = _address_view(found, reveal=reveal) if found else None
        lines = list(order.lines.all())
        ship_rows.append(
            (
                order.number,
                excel_time(order.paid_at),
                order.member.display_name,
                "; ".join(
                    f"{line.name} {format_options(line.options)} × {line.quantity}".replace(
                        "  ", " "
                    )
                    for line in lines
                ),
                address["name"] if address else "",
                address["phone"] if address else "",
                address["region"] if address else order.ship_region,
                address["address"] if address else "",
                order.note,
                _("yes") if any(line.product.cold_chain for line in lines) else "",
            )
        )
    sheet_write(
        workbook,
        _("To ship"),
        [
            _("Order number"),
            _("Paid at"),
            _("Member"),
            _("Items"),
            _("Recipient"),
            _("Phone"),
            _("Province"),
            _("Address"),
            _("Note"),
            _("Cold chain"),
        ],
        ship_rows,
    )
    if reveal:
        for member in {o.member_id: o.member for o in to_ship}.values():
            member_personal_data_revealed(
                member=member, actor_id=actor(request), what="shipping_export"
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="shipping-{community.slug}-{stamp}.xlsx"'
    )
    return response


# --- After-sales -------------------------------------------------------------------------------


def _case_or_404(community: Community, pk: int) -> AfterSale:
    case = (
        AfterSale.objects.select_related("order", "order__member", "line")
        .filter(pk=pk, order__community=community)
        .first()
    )
    if case is None:
        raise Http404("No such after-sales case in this community.")
    return case


def _evidence_view(evidence: Evidence) -> dict[str, Any]:
    suffix = PurePosixPath(evidence.file.name).suffix.lower() if evidence.file else ""
    return {
        "evidence": evidence,
        "has_file": bool(evidence.file),
        "is_image": suffix in EVIDENCE_IMAGES,
        "file_name": PurePosixPath(evidence.file.name).name if evidence.file else "",
    }


def _queue_page(
    request: HttpRequest,
    community: Community,
    *,
    tab: str = "open",
    bound: tuple[int, str, Any] | None = None,
) -> HttpResponse:
    queue = orders.after_sale_queue(community=community, open_only=tab == "open")
    if tab == "closed":
        queue = queue.exclude(status__in=OPEN_AFTER_SALE).order_by("-created_at", "-pk")[
            :CLOSED_CASES_SHOWN
        ]
    now = clock.now()
    rows: list[dict[str, Any]] = []
    shown: set[int] = set()
    for case in queue:
        shown.add(case.pk)
        forms: dict[str, Any] = {
            "approve": ApproveForm(prefix=f"a{case.pk}"),
            "reject": RejectForm(prefix=f"r{case.pk}"),
            "returned": MarkReturnedForm(prefix=f"m{case.pk}"),
        }
        if bound is not None and bound[0] == case.pk:
            forms[bound[1]] = bound[2]
        rows.append(
            {
                "case": case,
                "age": now - case.created_at,
                "evidence": [_evidence_view(e) for e in case.evidence.all()],
                "forms": forms,
                "ships": case.order.needs_shipping,
                "open_form": bound[1] if bound is not None and bound[0] == case.pk else "",
            }
        )
    if bound is not None and bound[2].errors and bound[0] not in shown:
        # The case left this list meanwhile (decided by someone else): say why here instead.
        for errors in bound[2].errors.values():
            for error in errors:
                messages.error(request, error)
    all_cases = orders.after_sale_queue(community=community, open_only=False)
    open_count = all_cases.filter(status__in=OPEN_AFTER_SALE).count()
    context = {
        **commerce_context(community, section="after_sales", url_name="console:after_sales"),
        "tab": tab,
        "rows": rows,
        "open_count": open_count,
        "closed_count": all_cases.count() - open_count,
    }
    failed = bound is not None and bool(bound[2].errors)
    return render(
        request, "console/commerce/aftersales.html", context, status=422 if failed else 200
    )


@require_GET
@operator_required
def after_sales_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="after_sales", url_name="console:after_sales")


@require_GET
@operator_required
def after_sales(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community(request, slug)
    tab = "closed" if request.GET.get("tab") == "closed" else "open"
    return _queue_page(request, community, tab=tab)


def _decided_anyway(case: AfterSale, before: str) -> AfterSale | None:
    """The case, if it moved on although the call raised: the decision committed and only the
    refund that follows it (after commit) failed, to be retried by the job."""
    fresh = AfterSale.objects.get(pk=case.pk)
    return fresh if fresh.status != before else None


def _decision_message(request: HttpRequest, case: AfterSale) -> None:
    amount = Money(case.amount_minor, case.order.currency)
    if case.status == AfterSaleStatus.AWAITING_RETURN:
        messages.success(
            request,
            _("%(no)s approved: the member sends the goods back, then you mark them received.")
            % {"no": case.refund_no},
        )
    elif case.status == AfterSaleStatus.REFUNDED:
        messages.success(
            request, _("%(no)s refunded: %(amount)s.") % {"no": case.refund_no, "amount": amount}
        )
    else:
        messages.success(
            request,
            _("%(no)s approved: the refund of %(amount)s is on its way.")
            % {"no": case.refund_no, "amount": amount},
        )


@require_POST
@operator_required
def after_sale_approve_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community(request, slug)
    case = _case_or_404(community, pk)
    form = ApproveForm(request.POST, prefix=f"a{case.pk}")
    if form.is_valid():
        before = case.status
        try:
            decided = after_sale_approve(
                case=case,
                actor_id=actor(request),
                note=form.cleaned_data["note"],
                restock=form.restock_choice(),
            )
        except ApplicationError as exc:
            moved = _decided_anyway(case, before)
            if moved is None:
                form_error(form, exc, {"status": "note"})
                return _queue_page(request, community, bound=(case.pk, "approve", form))
            messages.warning(
                request,
                _("%(no)s is approved, but its refund could not start: %(reason)s. It is retried.")
                % {"no": case.refund_no, "reason": exc.message},
            )
        else:
            _decision_message(request, AfterSale.objects.select_related("order").get(pk=decided.pk))
        return redirect("console:after_sales", slug=community.slug)
    return _queue_page(request, community, bound=(case.pk, "approve", form))


@require_POST
@operator_required
def after_sale_returned_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community(request, slug)
    case = _case_or_404(community, pk)
    form = MarkReturnedForm(request.POST, prefix=f"m{case.pk}")
    if form.is_valid():
        before = case.status
        try:
            decided = after_sale_mark_returned(
                case=case, actor_id=actor(request), restock=form.restock_choice()
            )
        except ApplicationError as exc:
            moved = _decided_anyway(case, before)
            if moved is None:
                form_error(form, exc, {"status": "restock"})
                return _queue_page(request, community, bound=(case.pk, "returned", form))
            messages.warning(
                request,
                _("%(no)s is marked returned, but its refund could not start: %(reason)s.")
                % {"no": case.refund_no, "reason": exc.message},
            )
        else:
            _decision_message(request, AfterSale.objects.select_related("order").get(pk=decided.pk))
        return redirect("console:after_sales", slug=community.slug)
    return _queue_page(request, community, bound=(case.pk, "returned", form))


@require_POST
@operator_required
def after_sale_reject_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community(request, slug)
    case = _case_or_404(community, pk)
    form = RejectForm(request.POST, prefix=f"r{case.pk}")
    if form.is_valid():
        try:
            after_sale_reject(case=case, note=form.cleaned_data["note"], actor_id=actor(request))
        except ApplicationError as exc:
            form_error(form, exc, {"status": "note"})
        else:
            messages.success(request, _("%(no)s is refused.") % {"no": case.refund_no})
            return redirect("console:after_sales", slug=community.slug)
    return _queue_page(request, community, bound=(case.pk, "reject", form))


@require_GET
@operator_required
def evidence_file(request: HttpRequest, pk: int) -> HttpResponse:
    """An evidence file, for signed-in operators only (never a public ``/media/`` address).

    Shown inline only as an image, under a policy that runs nothing; a PDF downloads as a PDF
    and any other file as bytes, whatever its name claims. Files are at most 10 MB."""
    evidence = Evidence.objects.filter(pk=pk).first()
    if evidence is None or not evidence.file:
        raise Http404("No such evidence file.")
    name = PurePosixPath(evidence.file.name).name
    try:
        with evidence.file.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise Http404("The evidence file is missing.") from None
    suffix = PurePosixPath(name).suffix.lower()
    image = EVIDENCE_IMAGES.get(suffix)
    response = HttpResponse(
        content,
        content_type=image
        or ("application/pdf" if suffix == ".pdf" else "application/octet-stream"),
    )
    response["Content-Disposition"] = content_disposition_header(image is None, name) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
