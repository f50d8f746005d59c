"""What the order, shipping and after-sales pages share: an order of the community, an
address as shown (masked unless revealed), and shipping an order from a filled-in form."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from quanzi.communities.models import Community
from quanzi.console.commerce import actor
from quanzi.console.feedback import form_error
from quanzi.console.forms_commerce import ShipForm
from quanzi.core import crypto
from quanzi.core.errors import ApplicationError
from quanzi.orders import selectors as orders
from quanzi.orders.models import Order
from quanzi.orders.services.checkout import Address
from quanzi.orders.services.fulfilment import order_ship


def _mask_address(address: Address) -> dict[str, str]:
    name = address.name
    return {
        "name": name[:1] + "*" * max(len(name) - 1, 1),
        "phone": crypto.mask(address.phone),
        "region": address.region,
        "address": address.address[:6] + "****",
    }


def address_view(address: Address, *, reveal: bool) -> dict[str, str]:
    if reveal:
        return {
            "name": address.name,
            "phone": address.phone,
            "region": address.region,
            "address": address.address,
        }
    return _mask_address(address)


def order_or_404(community: Community, number: str) -> Order:
    order = orders.order_get(number)
    if order is None or order.community_id != community.pk:
        raise Http404("No such order in this community.")
    return order


def ship_from_form(request: HttpRequest, order: Order, form: ShipForm) -> bool:
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
