"""What the shop's pages share: who is asking, whose order it is, a drop by its number, and
how a spec and a product's shipping are described."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, Concatenate, ParamSpec

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from quanzi.catalog.models import Drop, Product, ProductKind
from quanzi.h5.views import signed_in_member
from quanzi.members import selectors as members
from quanzi.members.models import Member
from quanzi.orders import selectors as orders
from quanzi.orders.models import Order

P = ParamSpec("P")

POLL_SECONDS = 5  # how often the drop and pay pages ask for news
TONES = 6  # cover colours in h5.css (.tone-0 ... .tone-5); products have no photos yet


# --- Who is asking -----------------------------------------------------------------------------


def members_only(
    view: Callable[Concatenate[HttpRequest, Member, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """The view gets the signed-in member; a phone that is not signed in is told how to be."""

    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        member = signed_in_member(request)
        if member is None:
            return render(request, "h5/shop/sign_in.html", {"tab": "me"}, status=403)
        return view(request, member, *args, **kwargs)

    update_wrapper(wrapped, view)
    return wrapped


def own_order(member: Member, number: str) -> Order:
    """The member's order by its number; anyone else's is as unknown as a wrong number."""
    if not number or number.isdigit():  # order_get reads digits as a primary key
        raise Http404
    order = orders.order_get(number)
    if order is None or order.member_id not in members.member_ids_for(member):
        raise Http404
    return order


def spec_label(options: dict[str, Any]) -> str:
    return " · ".join(str(v) for v in options.values())


def product_needs_shipping(product: Product) -> bool:
    return product.kind == ProductKind.PHYSICAL or any(
        item.component.kind == ProductKind.PHYSICAL for item in product.bundle_items.all()
    )


def drop_or_404(pk: int) -> Drop:
    drop = (
        Drop.objects.select_related("product", "product__community", "sku", "community")
        .filter(pk=pk, community__archived_at__isnull=True)
        .first()
    )
    if drop is None:
        raise Http404
    return drop
