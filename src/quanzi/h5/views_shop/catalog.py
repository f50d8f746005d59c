"""The shop's pages: a community's shop, one product with its specs, and group-buy drops."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from quanzi.catalog import selectors as catalog
from quanzi.catalog.models import Drop, DropStatus, Product, ProductKind, Sku
from quanzi.communities import selectors as communities
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.errors import NotFound
from quanzi.core.money import Money
from quanzi.h5.forms_shop import MAX_QUANTITY
from quanzi.h5.views import signed_in_member
from quanzi.h5.views_shop._common import (
    POLL_SECONDS,
    TONES,
    drop_or_404,
    product_needs_shipping,
    spec_label,
)
from quanzi.members.models import Member
from quanzi.orders.services.checkout import member_discount_percent
from quanzi.orders.services.drops import drop_buyers

LOW_STOCK = 5  # "only N left" from here down


# --- What the shop shows -----------------------------------------------------------------------


def _price_of(product: Product, sku: Sku | None) -> Money:
    minor = sku.price_minor if sku is not None and sku.price_minor is not None else None
    return Money(product.price_minor if minor is None else minor, product.currency)


def _member_price(price: Money, percent: int, product: Product) -> Money | None:
    """The price after the member's plan discount, as checkout works it out (memberships are
    never discounted)."""
    if not percent or product.kind == ProductKind.MEMBERSHIP:
        return None
    return price - price.percent(percent * 100)


def _sold_out(product: Product) -> bool:
    if product.kind == ProductKind.PHYSICAL:
        return not any(s.stock > 0 for s in product.skus.all())
    if product.kind == ProductKind.BUNDLE:
        return any(
            item.sku is not None and item.sku.stock < item.quantity
            for item in product.bundle_items.all()
        )
    return False


@dataclass(frozen=True)
class Spec:
    sku: Sku
    label: str
    price: Money
    member_price: Money | None

    @property
    def sold_out(self) -> bool:
        return self.sku.stock <= 0

    @property
    def low(self) -> bool:
        return 0 < self.sku.stock <= LOW_STOCK


@dataclass(frozen=True)
class Card:
    product: Product
    price: Money
    price_from: bool  # specs at several prices: "from ¥x"
    member_price: Money | None
    sold_out: bool
    needs_shipping: bool

    @property
    def tone(self) -> int:
        return self.product.pk % TONES


def _specs(product: Product, percent: int) -> list[Spec]:
    specs = []
    for sku in product.skus.all():
        price = _price_of(product, sku)
        specs.append(
            Spec(sku, spec_label(sku.options), price, _member_price(price, percent, product))
        )
    return specs


def _card(product: Product, percent: int) -> Card:
    prices = [_price_of(product, s) for s in product.skus.all()] or [_price_of(product, None)]
    lowest = min(prices, key=lambda m: m.minor)
    return Card(
        product=product,
        price=lowest,
        price_from=len({m.minor for m in prices}) > 1,
        member_price=_member_price(lowest, percent, product),
        sold_out=_sold_out(product),
        needs_shipping=product_needs_shipping(product),
    )


def _percent(member: Member | None, community: Community) -> int:
    return member_discount_percent(member, community) if member is not None else 0


def _community(slug: str) -> Community:
    try:
        community = communities.community_by_slug(slug)
    except NotFound:
        raise Http404 from None
    if community.archived_at:
        raise Http404
    return community


def _products(community: Community) -> QuerySet[Product]:
    return catalog.product_list(community=community, on_sale=True).prefetch_related(
        "skus", "bundle_items__sku", "bundle_items__component"
    )


def _open_drops(community: Community, product: Product | None = None) -> list[Drop]:
    """Drops still to come or running, soonest end first."""
    qs = Drop.objects.filter(
        community=community, status=DropStatus.LIVE, ends_at__gt=clock.now()
    ).select_related("product", "sku")
    if product is not None:
        qs = qs.filter(product=product)
    return list(qs.order_by("ends_at", "pk"))


@require_GET
def shop(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community(slug)
    member = signed_in_member(request)
    percent = _percent(member, community)
    products = list(_products(community))
    categories = sorted({p.category for p in products if p.category})
    category = request.GET.get("c", "")
    if category in categories:
        products = [p for p in products if p.category == category]
    else:
        category = ""
    cards = sorted(
        (_card(p, percent) for p in products), key=lambda c: (c.sold_out, c.product.name)
    )
    context = {
        "tab": "",
        "community": community,
        "member": member,
        "percent": percent,
        "cards": cards,
        "categories": categories,
        "category": category,
        "drops": [_drop_view(d) for d in _open_drops(community)],
    }
    return render(request, "h5/shop/shop.html", context)


@require_GET
def product(request: HttpRequest, pk: int) -> HttpResponse:
    found = _products_on_sale().filter(pk=pk).first()
    if found is None:
        raise Http404
    member = signed_in_member(request)
    percent = _percent(member, found.community)
    specs = _specs(found, percent)
    chosen = next((s for s in specs if not s.sold_out), None)
    context = {
        "tab": "",
        "community": found.community,
        "member": member,
        "product": found,
        "card": _card(found, percent),
        "specs": specs,
        "chosen": chosen,
        "percent": percent,
        "components": list(found.bundle_items.all()),
        "drops": [_drop_view(d) for d in _open_drops(found.community, found)],
        "max_quantity": MAX_QUANTITY,
    }
    return render(request, "h5/shop/product.html", context)


def _products_on_sale() -> QuerySet[Product]:
    return (
        catalog.product_list(on_sale=True)
        .filter(community__archived_at__isnull=True)
        .prefetch_related("skus", "bundle_items__sku", "bundle_items__component")
    )


# --- Group-buy drops ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DropView:
    drop: Drop
    phase: str  # upcoming | live | sold_out | ended
    price: Money
    normal_price: Money
    seconds_left: int  # to the start when upcoming, to the end when live
    buyers: int

    @property
    def tone(self) -> int:
        return self.drop.product_id % TONES

    @property
    def taken_percent(self) -> int:
        units = self.drop.units or 1
        return min(100, round(100 * (units - self.drop.stock) / units))

    @property
    def buyers_percent(self) -> int:
        if not self.drop.min_buyers:
            return 100
        return min(100, round(100 * self.buyers / self.drop.min_buyers))

    @property
    def buyers_missing(self) -> int:
        return max((self.drop.min_buyers or 0) - self.buyers, 0)

    @property
    def open(self) -> bool:
        return self.phase == "live"


def _drop_view(drop: Drop) -> DropView:
    now = clock.now()
    if drop.status != DropStatus.LIVE or drop.ends_at <= now:
        phase, target = "ended", now
    elif now < drop.starts_at:
        phase, target = "upcoming", drop.starts_at
    elif drop.stock <= 0:
        phase, target = "sold_out", drop.ends_at
    else:
        phase, target = "live", drop.ends_at
    return DropView(
        drop=drop,
        phase=phase,
        price=Money(drop.price_minor, drop.currency),
        normal_price=_price_of(drop.product, drop.sku),
        seconds_left=max(int((target - now).total_seconds()), 0),
        buyers=drop_buyers(drop),
    )


@require_GET
def drop(request: HttpRequest, pk: int) -> HttpResponse:
    found = drop_or_404(pk)
    view = _drop_view(found)
    context = {
        "tab": "",
        "community": found.community,
        "member": signed_in_member(request),
        "view": view,
        "drop": found,
        "product": found.product,
        "spec": spec_label(found.sku.options) if found.sku else "",
        "poll": POLL_SECONDS,
        "max_quantity": min(found.per_member_limit or MAX_QUANTITY, MAX_QUANTITY),
        "expiry_minutes": settings.QUANZI_ORDER_EXPIRY_MINUTES,
    }
    return render(request, "h5/shop/drop.html", context)


@require_GET
def drop_stock(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the drop page (stock, buyers, the buy button), polled by htmx."""
    found = drop_or_404(pk)
    return render(
        request,
        "h5/shop/_drop_live.html",
        {"view": _drop_view(found), "drop": found, "poll": POLL_SECONDS, "oob": True},
    )
