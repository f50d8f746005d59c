"""My orders: the list, one order with its timeline, cancelling, confirming receipt, and
refund requests with their evidence and return parcels."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.console.feedback import form_error
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.money import Money
from quanzi.h5.forms_shop import EvidenceForm, RefundForm, ReturnTrackingForm
from quanzi.h5.views_shop._common import members_only, own_order
from quanzi.members import selectors as members
from quanzi.members.models import Member
from quanzi.orders import selectors as orders
from quanzi.orders.models import (
    OPEN_AFTER_SALE,
    PAID_STATUSES,
    AfterSale,
    AfterSaleKind,
    AfterSaleStatus,
    Evidence,
    Order,
    OrderStatus,
    Shipment,
)
from quanzi.orders.services.aftersales import (
    after_sale_add_evidence,
    after_sale_open,
    after_sale_set_return_tracking,
    after_sale_withdraw,
    refundable_minor,
)
from quanzi.orders.services.checkout import address_of, order_cancel
from quanzi.orders.services.fulfilment import CARRIERS, order_confirm_receipt

# Stored as the cancellation reason (a record, in one language); the pages word it.
CANCELLED_BY_MEMBER = "cancelled by the member"
REFUND_FIELDS = {"amount_minor": "amount", "file": "photo"}
EVIDENCE_FIELDS = {"file": "photo"}


# --- My orders ---------------------------------------------------------------------------------

ORDER_TABS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ()),
    ("pending", (OrderStatus.PENDING,)),
    ("paid", (OrderStatus.PAID,)),
    ("shipped", (OrderStatus.SHIPPED, OrderStatus.DELIVERED)),
    ("completed", (OrderStatus.COMPLETED,)),
    ("after_sales", ()),
)


def _tab_labels() -> dict[str, str]:
    return {
        "": _("All"),
        "pending": _("To pay"),
        "paid": _("To ship"),
        "shipped": _("To receive"),
        "completed": _("Completed"),
        "after_sales": _("Refunds"),
    }


@require_GET
@members_only
def my_orders(request: HttpRequest, member: Member) -> HttpResponse:
    tab = request.GET.get("s", "")
    statuses = dict(ORDER_TABS)
    if tab not in statuses:
        tab = ""
    qs = orders.order_list().filter(member_id__in=members.member_ids_for(member))
    if tab == "after_sales":
        qs = qs.filter(Q(after_sales__isnull=False) | Q(status=OrderStatus.REFUNDED)).distinct()
    elif statuses[tab]:
        qs = qs.filter(status__in=statuses[tab])
    found = list(qs[:100])
    labels = _tab_labels()
    context = {
        "tab": "orders",
        "member": member,
        "orders": found,
        "current": tab,
        "tabs": [(code, labels[code]) for code, _statuses in ORDER_TABS],
        "now": clock.now(),
    }
    return render(request, "h5/shop/orders.html", context)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    at: datetime | None
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.at is not None


def _timeline(order: Order, shipment: Shipment | None) -> list[Step]:
    steps = [Step("placed", _("Order placed"), order.created_at)]
    if order.status == OrderStatus.CANCELLED and order.paid_at is None:
        reason = _cancel_reason(order.cancel_reason)
        steps.append(Step("cancelled", _("Cancelled"), order.cancelled_at, reason))
        return steps
    steps.append(Step("paid", _("Paid"), order.paid_at))
    if order.needs_shipping:
        detail = f"{shipment.carrier} {shipment.tracking_no}" if shipment else ""
        steps.append(Step("shipped", _("Shipped"), order.shipped_at, detail))
        steps.append(Step("delivered", _("Delivered"), order.delivered_at))
        received = _("Confirmed automatically") if order.auto_received else ""
        steps.append(Step("received", _("Received"), order.received_at, received))
    else:
        steps.append(Step("delivered", _("Delivered to your account"), order.delivered_at))
    if order.status == OrderStatus.REFUNDED:
        steps.append(Step("refunded", _("Refunded"), _refunded_at(order)))
    return steps


def _cancel_reason(reason: str) -> str:
    known = {"expired": _("Not paid in time"), CANCELLED_BY_MEMBER: _("You cancelled it")}
    return known.get(reason, reason)


def _refunded_at(order: Order) -> datetime | None:
    case = (
        order.after_sales.filter(status=AfterSaleStatus.REFUNDED).order_by("-refunded_at").first()
    )
    return case.refunded_at if case is not None else None


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else phone


def _refund_kinds(order: Order) -> list[str]:
    kinds = [AfterSaleKind.REFUND_ONLY.value]
    if order.needs_shipping and order.status in (
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    ):
        kinds.append(AfterSaleKind.RETURN_REFUND.value)
    return kinds


def _can_ask_refund(order: Order, cases: Iterable[AfterSale]) -> bool:
    return (
        order.status in PAID_STATUSES
        and order.status != OrderStatus.REFUNDED
        and not any(c.status in OPEN_AFTER_SALE for c in cases)
        and refundable_minor(order) > 0
    )


@dataclass(frozen=True)
class CaseView:
    case: AfterSale
    evidence_form: EvidenceForm
    return_form: ReturnTrackingForm

    @property
    def open(self) -> bool:
        return self.case.status in OPEN_AFTER_SALE

    @property
    def evidence(self) -> list[tuple[Evidence, str]]:
        """Each piece with the name its file was uploaded under (not the storage path)."""
        return [
            (e, PurePosixPath(e.file.name).name if e.file else "") for e in self.case.evidence.all()
        ]


def _order_page(
    request: HttpRequest,
    member: Member,
    order: Order,
    *,
    status: int = 200,
    error: str = "",
    forms: dict[int, dict[str, Any]] | None = None,
) -> HttpResponse:
    shipment = Shipment.objects.filter(order=order).first()
    cases = list(order.after_sales.prefetch_related("evidence").order_by("-created_at", "-pk"))
    bound = forms or {}
    address = address_of(order)
    context = {
        "tab": "orders",
        "member": member,
        "order": order,
        "lines": list(order.lines.all()),
        "shipment": shipment,
        "steps": _timeline(order, shipment),
        "address": address,
        "phone": _mask(address.phone) if address else "",
        "cases": [
            CaseView(
                case,
                bound.get(case.pk, {}).get("evidence") or EvidenceForm(),
                bound.get(case.pk, {}).get("return") or ReturnTrackingForm(),
            )
            for case in cases
        ],
        "can_refund": _can_ask_refund(order, cases),
        "refundable": refundable_minor(order) if order.is_paid else 0,
        "error": error,
        "carriers": CARRIERS,
        "expired": order.status == OrderStatus.PENDING and order.expires_at <= clock.now(),
        "cancel_reason": _cancel_reason(order.cancel_reason),
    }
    return render(request, "h5/shop/order.html", context, status=status)


@require_GET
@members_only
def order_detail(request: HttpRequest, member: Member, number: str) -> HttpResponse:
    return _order_page(request, member, own_order(member, number))


def _act(
    request: HttpRequest, member: Member, order: Order, action: Callable[[], object], done: str
) -> HttpResponse:
    try:
        action()
    except ApplicationError as exc:
        order.refresh_from_db()
        return _order_page(request, member, order, status=exc.status, error=exc.message)
    messages.success(request, done)
    return redirect("h5:order", number=order.number)


@require_POST
@members_only
def order_cancel_view(request: HttpRequest, member: Member, number: str) -> HttpResponse:
    order = own_order(member, number)
    return _act(
        request,
        member,
        order,
        lambda: order_cancel(order=order, reason=CANCELLED_BY_MEMBER),
        _("Order cancelled. Nothing was charged."),
    )


@require_POST
@members_only
def order_receive(request: HttpRequest, member: Member, number: str) -> HttpResponse:
    order = own_order(member, number)
    return _act(
        request,
        member,
        order,
        lambda: order_confirm_receipt(order=order),
        _("Thank you! The order is complete."),
    )


@require_http_methods(["GET", "POST"])
@members_only
def refund_request(request: HttpRequest, member: Member, number: str) -> HttpResponse:
    order = own_order(member, number)
    cases = list(order.after_sales.all())
    if not _can_ask_refund(order, cases):
        messages.info(request, _("This order has nothing left to refund, or a request is open."))
        return redirect("h5:order", number=order.number)
    refundable = refundable_minor(order)
    kinds = _refund_kinds(order)
    form = RefundForm(
        request.POST or None,
        request.FILES or None,
        currency=order.currency,
        kinds=kinds,
        initial={
            "kind": AfterSaleKind.REFUND_ONLY,
            "amount": Money(refundable, order.currency).as_decimal_string(),
        },
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case = _open_case(order, form.cleaned_data)
            except ApplicationError as exc:
                form_error(form, exc, REFUND_FIELDS)
                status = exc.status
            else:
                messages.success(request, _("Request sent. The shop will answer here."))
                return redirect(reverse("h5:order", args=[order.number]) + f"#case-{case.pk}")
        else:
            status = 422
    context = {
        "tab": "orders",
        "member": member,
        "order": order,
        "form": form,
        "refundable": refundable,
        "lines": list(order.lines.all()),
    }
    return render(request, "h5/shop/refund.html", context, status=status)


def _open_case(order: Order, data: dict[str, Any]) -> AfterSale:
    """The request and its photo, both or neither."""
    photo: UploadedFile | None = data.get("photo") or None
    with transaction.atomic():
        case = after_sale_open(
            order=order,
            kind=data["kind"],
            amount_minor=data["amount"],
            reason=data["reason"],
            opened_by="member",
        )
        if photo is not None:
            after_sale_add_evidence(case=case, kind="photo", file=photo, submitted_by="member")
    return case


def _own_case(order: Order, case_id: int) -> AfterSale:
    case = order.after_sales.filter(pk=case_id).first()
    if case is None:
        raise Http404
    return case


@require_POST
@members_only
def case_evidence(request: HttpRequest, member: Member, number: str, case_id: int) -> HttpResponse:
    order = own_order(member, number)
    case = _own_case(order, case_id)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        photo: UploadedFile | None = form.cleaned_data.get("photo") or None
        try:
            after_sale_add_evidence(
                case=case,
                kind="photo" if photo is not None else "note",
                note=form.cleaned_data.get("note") or "",
                file=photo,
                submitted_by="member",
            )
        except ApplicationError as exc:
            form_error(form, exc, EVIDENCE_FIELDS)
            status = exc.status
        else:
            messages.success(request, _("Added to your request."))
            return redirect(reverse("h5:order", args=[order.number]) + f"#case-{case.pk}")
    else:
        status = 422
    return _order_page(request, member, order, status=status, forms={case.pk: {"evidence": form}})


@require_POST
@members_only
def case_return(request: HttpRequest, member: Member, number: str, case_id: int) -> HttpResponse:
    order = own_order(member, number)
    case = _own_case(order, case_id)
    form = ReturnTrackingForm(request.POST)
    if form.is_valid():
        try:
            after_sale_set_return_tracking(
                case=case,
                carrier=form.cleaned_data["carrier"],
                tracking_no=form.cleaned_data["tracking_no"],
            )
        except ApplicationError as exc:
            form_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Thanks: the shop can now follow your parcel."))
            return redirect(reverse("h5:order", args=[order.number]) + f"#case-{case.pk}")
    else:
        status = 422
    return _order_page(request, member, order, status=status, forms={case.pk: {"return": form}})


@require_POST
@members_only
def case_withdraw(request: HttpRequest, member: Member, number: str, case_id: int) -> HttpResponse:
    order = own_order(member, number)
    case = _own_case(order, case_id)
    return _act(
        request,
        member,
        order,
        lambda: after_sale_withdraw(case=case),
        _("Request withdrawn."),
    )
