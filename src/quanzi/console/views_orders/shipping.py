"""Shipping: the pick list and the orders to ship, each with a ship form, and both as Excel."""

from __future__ import annotations

import io

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from openpyxl import Workbook

from quanzi.communities.models import Community
from quanzi.console.commerce import actor, choose_community, commerce_context
from quanzi.console.commerce import community_or_404 as _community
from quanzi.console.forms_commerce import ShipForm, ShippingExportForm, format_options
from quanzi.console.views import operator_required
from quanzi.console.views_orders._common import address_view, order_or_404, ship_from_form
from quanzi.core import clock
from quanzi.members import selectors as members
from quanzi.members.exporting import excel_time, sheet_write
from quanzi.members.services import member_personal_data_revealed
from quanzi.orders import selectors as orders
from quanzi.orders.models import Order
from quanzi.orders.services.checkout import address_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    order = order_or_404(community, number)
    form = ShipForm(request.POST, prefix=f"o{order.pk}")
    if ship_from_form(request, order, form):
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
        address = address_view(found, reveal=reveal) if found else None
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
