"""The member shop (H5): a community's shop, products, group-buy drops, checkout, paying, and
"My orders" with receipt, cancellation and refund requests.

Anyone may look at a shop; buying and orders need a signed-in member (see ``views``). A member
sees only their own orders: anybody else's order number is a 404, the same as a wrong one.

Placing an order is idempotent per checkout page: the page carries a one-time token, and the
token's order is remembered in the session under a lock on the member's row, so a double tap
or a resent form finds the first order instead of placing a second.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import update_wrapper
from pathlib import PurePosixPath
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from quanzi.catalog import selectors as catalog
from quanzi.catalog.models import Drop, DropStatus, Product, ProductKind, Sku
from quanzi.communities import selectors as communities
from quanzi.communities.models import Community
from quanzi.console.feedback import form_error
from quanzi.console.qr import svg as qr_svg
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, Conflict, NotFound
from quanzi.core.money import Money
from quanzi.h5.forms_shop import (
    MAX_QUANTITY,
    CheckoutForm,
    EvidenceForm,
    RefundForm,
    ReturnTrackingForm,
)
from quanzi.h5.views import signed_in_member
from quanzi.members import selectors as members
from quanzi.members.models import IdentityKind, Member
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
from quanzi.orders.services.checkout import (
    Address,
    LineIn,
    Quote,
    address_of,
    member_discount_percent,
    order_cancel,
    order_create,
    order_quote,
)
from quanzi.orders.services.drops import drop_buyers
from quanzi.orders.services.fulfilment import CARRIERS, order_confirm_receipt
from quanzi.orders.services.paying import order_pay_start
from quanzi.payments.models import Payment, Provider
from quanzi.payments.providers import wechatpay_config

P = ParamSpec("P")

SESSION_PLACED = "h5_placed"  # checkout token -> order number, the last few
KEEP_PLACED = 20
POLL_SECONDS = 5  # how often the drop and pay pages ask for news
# Stored as the cancellation reason (a record, in one language); the pages word it.
CANCELLED_BY_MEMBER = "cancelled by the member"
LOW_STOCK = 5  # "only N left" from here down
TONES = 6  # cover colours in h5.css (.tone-0 ... .tone-5); products have no photos yet

# Service field names -> checkout form fields.
CHECKOUT_FIELDS = {
    "address.name": "name",
    "address.phone": "phone",
    "address.region": "region",
    "address.address": "address",
    "lines[0].quantity": "quantity",
}
REFUND_FIELDS = {"amount_minor": "amount", "file": "photo"}
EVIDENCE_FIELDS = {"file": "photo"}


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


def _own_order(member: Member, number: str) -> Order:
    """The member's order by its number; anyone else's is as unknown as a wrong number."""
    if not number or number.isdigit():  # order_get reads digits as a primary key
        raise Http404
    order = orders.order_get(number)
    if order is None or order.member_id not in members.member_ids_for(member):
        raise Http404
    return order


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


def _spec_label(options: dict[str, Any]) -> str:
    return " · ".join(str(v) for v in options.values())


def _sold_out(product: Product) -> bool:
    if product.kind == ProductKind.PHYSICAL:
        return not any(s.stock > 0 for s in product.skus.all())
    if product.kind == ProductKind.BUNDLE:
        return any(
            item.sku is not None and item.sku.stock < item.quantity
            for item in product.bundle_items.all()
        )
    return False


def _needs_shipping(product: Product) -> bool:
    return product.kind == ProductKind.PHYSICAL or any(
        item.component.kind == ProductKind.PHYSICAL for item in product.bundle_items.all()
    )


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
            Spec(sku, _spec_label(sku.options), price, _member_price(price, percent, product))
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
        needs_shipping=_needs_shipping(product),
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


def _drop(pk: int) -> Drop:
    drop = (
        Drop.objects.select_related("product", "product__community", "sku", "community")
        .filter(pk=pk, community__archived_at__isnull=True)
        .first()
    )
    if drop is None:
        raise Http404
    return drop


@require_GET
def drop(request: HttpRequest, pk: int) -> HttpResponse:
    found = _drop(pk)
    view = _drop_view(found)
    context = {
        "tab": "",
        "community": found.community,
        "member": signed_in_member(request),
        "view": view,
        "drop": found,
        "product": found.product,
        "spec": _spec_label(found.sku.options) if found.sku else "",
        "poll": POLL_SECONDS,
        "max_quantity": min(found.per_member_limit or MAX_QUANTITY, MAX_QUANTITY),
        "expiry_minutes": settings.QUANZI_ORDER_EXPIRY_MINUTES,
    }
    return render(request, "h5/shop/drop.html", context)


@require_GET
def drop_stock(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the drop page (stock, buyers, the buy button), polled by htmx."""
    found = _drop(pk)
    return render(
        request,
        "h5/shop/_drop_live.html",
        {"view": _drop_view(found), "drop": found, "poll": POLL_SECONDS, "oob": True},
    )


# --- Checkout ----------------------------------------------------------------------------------


def _int(value: object) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@dataclass
class Target:
    """What the checkout page sells: one product (and spec), or one drop."""

    community: Community
    product: Product
    sku: Sku | None
    drop: Drop | None
    quantity: int

    @property
    def lines(self) -> list[LineIn]:
        sku_id = None if self.drop is not None or self.sku is None else self.sku.pk
        return [LineIn(product_id=self.product.pk, quantity=self.quantity, sku_id=sku_id)]

    @property
    def tone(self) -> int:
        return self.product.pk % TONES

    @property
    def drop_id(self) -> int | None:
        return self.drop.pk if self.drop is not None else None

    @property
    def name(self) -> str:
        return self.drop.title if self.drop is not None else self.product.name

    @property
    def spec(self) -> str:
        sku = self.drop.sku if self.drop is not None else self.sku
        return _spec_label(sku.options) if sku is not None else ""

    @property
    def left(self) -> int | None:
        """Units that can still be bought, where stock counts."""
        if self.drop is not None:
            return self.drop.stock
        if self.sku is not None:
            return self.sku.stock
        return None

    @property
    def sold_out(self) -> bool:
        return self.left is not None and self.left < self.quantity

    def query(self, **extra: object) -> str:
        params = QueryDict(mutable=True)
        if self.drop is not None:
            params["drop"] = str(self.drop.pk)
        else:
            params["product"] = str(self.product.pk)
            if self.sku is not None:
                params["sku"] = str(self.sku.pk)
        params["quantity"] = str(self.quantity)
        for key, value in extra.items():
            params[key] = str(value)
        return params.urlencode()


def _target(data: QueryDict) -> Target:
    """The product, spec or drop named in the request; unknown ones are a 404."""
    quantity = min(_int(data.get("quantity")) or 1, MAX_QUANTITY)
    drop_id = _int(data.get("drop"))
    if drop_id is not None:
        found = _drop(drop_id)
        return Target(found.community, found.product, found.sku, found, quantity)
    product_id = _int(data.get("product"))
    found_product = (
        Product.objects.select_related("community")
        .prefetch_related("skus", "bundle_items__component", "bundle_items__sku")
        .filter(pk=product_id, community__archived_at__isnull=True)
        .first()
        if product_id
        else None
    )
    if found_product is None:
        raise Http404
    sku_id = _int(data.get("sku"))
    sku = next((s for s in found_product.skus.all() if s.pk == sku_id), None)
    if sku is None and len(found_product.skus.all()) == 1:
        sku = found_product.skus.all()[0]
    return Target(found_product.community, found_product, sku, None, quantity)


def _providers() -> list[tuple[str, str]]:
    choices = []
    if wechatpay_config() is not None:
        choices.append((Provider.WECHATPAY.value, _("WeChat Pay")))
    choices.append((Provider.MANUAL.value, _("Transfer to the shop")))
    return choices


def _default_provider(choices: list[tuple[str, str]]) -> str:
    wanted = settings.QUANZI_PAYMENT_PROVIDER
    return wanted if wanted in dict(choices) else choices[-1][0]


def _quote(member: Member, target: Target, region: str = "") -> tuple[Quote | None, str, str]:
    """``(quote, error, error field)``: a refusal is shown, never raised."""
    try:
        quote = order_quote(
            member=member,
            community=target.community,
            lines=target.lines,
            drop_id=target.drop_id,
            region=region,
        )
    except ApplicationError as exc:
        return None, exc.message, next(iter(exc.fields), "")
    return quote, "", ""


def _last_address(member: Member) -> Address | None:
    """Where the member's last parcel went, to save typing it again."""
    last = orders.order_list(member=member, needs_shipping=True).first()
    return address_of(last) if last is not None else None


def _checkout_page(
    request: HttpRequest,
    member: Member,
    target: Target,
    form: CheckoutForm,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    region = str(form["region"].value() or "")
    quote, quote_error, error_field = _quote(member, target, region)
    needs_shipping = quote.needs_shipping if quote else _needs_shipping(target.product)
    cannot_buy = quote is None and error_field != "region"
    context = {
        "tab": "",
        "member": member,
        "community": target.community,
        "target": target,
        "form": form,
        "quote": quote,
        "quote_error": quote_error,
        "needs_shipping": needs_shipping,
        "error": error,
        "region": region,
        "sold_out": target.sold_out,
        "cannot_buy": cannot_buy or target.sold_out,
        "back": _back_url(target),
        "providers": _providers(),
    }
    return render(request, "h5/shop/checkout.html", context, status=status)


def _back_url(target: Target) -> str:
    if target.drop is not None:
        return reverse("h5:drop", args=[target.drop.pk])
    return reverse("h5:product", args=[target.product.pk])


@require_http_methods(["GET", "POST"])
@members_only
def checkout(request: HttpRequest, member: Member) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    target = _target(data)
    providers = _providers()
    needs_shipping = _needs_shipping(target.product)
    if request.method == "GET":
        initial: dict[str, Any] = {
            "token": secrets.token_urlsafe(16),
            "product": target.product.pk,
            "sku": target.sku.pk if target.sku else None,
            "drop": target.drop_id,
            "quantity": target.quantity,
            "provider": _default_provider(providers),
        }
        last = _last_address(member) if needs_shipping else None
        if last is not None:
            initial.update(
                name=last.name, phone=last.phone, region=last.region, address=last.address
            )
        form = CheckoutForm(initial=initial, needs_shipping=needs_shipping, providers=providers)
        return _checkout_page(request, member, target, form)

    form = CheckoutForm(request.POST, needs_shipping=needs_shipping, providers=providers)
    token = str(request.POST.get("token") or "")
    placed = _placed(request.session, token, member)
    if placed is not None:
        return redirect(_after_placing(placed))
    if not form.is_valid():
        return _checkout_page(request, member, target, form, status=422)
    try:
        order = _place(request, member, target, form.cleaned_data)
    except ApplicationError as exc:
        if isinstance(exc, Conflict):
            # Sold out, a limit, a closed drop: about the purchase, not one field.
            return _checkout_page(
                request, member, target, form, status=exc.status, error=exc.message
            )
        form_error(form, exc, CHECKOUT_FIELDS)
        return _checkout_page(request, member, target, form, status=exc.status)
    return redirect(_after_placing(order))


def _after_placing(order: Order) -> str:
    if order.status == OrderStatus.PENDING:
        return reverse("h5:pay", args=[order.number])
    return reverse("h5:order", args=[order.number])


def _placed(session: Any, token: str, member: Member) -> Order | None:
    """The order this checkout token already placed in this browser, if any (and if it is this
    member's: a phone may change hands between sign-ins)."""
    placed = session.get(SESSION_PLACED)
    number = placed.get(token) if token and isinstance(placed, dict) else None
    found = orders.order_get(number) if isinstance(number, str) and number else None
    return found if found is not None and found.member_id == member.pk else None


def _place(request: HttpRequest, member: Member, target: Target, data: dict[str, Any]) -> Order:
    """Place the order once per checkout token.

    The member's row lock queues a second submission of the same page behind the first; it
    then reads the session as the first one left it (not as it was when it arrived) and finds
    the order already there.
    """
    token = str(data["token"])
    address = None
    if _needs_shipping(target.product):
        address = Address(
            name=data["name"], phone=data["phone"], region=data["region"], address=data["address"]
        )
    target.quantity = data["quantity"]
    with transaction.atomic():
        list(Member.objects.select_for_update().filter(pk=member.pk).values_list("pk", flat=True))
        store = request.session.__class__(session_key=request.session.session_key)
        already = _placed(store, token, member)
        if already is not None:
            return already
        order = order_create(
            member=member,
            community=target.community,
            lines=target.lines,
            drop_id=target.drop_id,
            address=address,
            note=data.get("note") or "",
            channel="h5",
            provider=data.get("provider") or None,
        )
        placed = dict(store.get(SESSION_PLACED) or {})  # as other tabs left it
        placed[token] = order.number
        request.session[SESSION_PLACED] = dict(list(placed.items())[-KEEP_PLACED:])
        request.session.save()  # inside the lock: the queued duplicate must see it
    return order


@require_GET
@members_only
def checkout_quote(request: HttpRequest, member: Member) -> HttpResponse:
    """The price summary of the checkout page, again for another quantity or province."""
    target = _target(request.GET)
    region = str(request.GET.get("region") or "")
    quote, error, _where = _quote(member, target, region)
    context = {
        "quote": quote,
        "quote_error": error,
        "target": target,
        "needs_shipping": quote.needs_shipping if quote else _needs_shipping(target.product),
        "region": region,
        "oob": True,
    }
    return render(request, "h5/shop/_quote.html", context)


# --- Paying ------------------------------------------------------------------------------------


def _openid(member: Member) -> str:
    """The member's openid under the merchant's app, for paying inside WeChat; empty if none."""
    config = wechatpay_config()
    if config is None:
        return ""
    for identity in member.identities.filter(kind=IdentityKind.WECHAT_OPENID):
        if identity.namespace in ("", config.appid):
            return str(members.identity_view(identity, reveal=True)["value"])
    return ""


def _in_wechat(request: HttpRequest) -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


@require_GET
@members_only
def pay(request: HttpRequest, member: Member, number: str) -> HttpResponse:
    order = _own_order(member, number)
    if order.status != OrderStatus.PENDING:
        return redirect("h5:order", number=order.number)
    lapsed = order.expires_at <= clock.now()
    payment: Payment | None = None
    error = ""
    via = request.GET.get("via", "")
    provider = via if via in dict(_providers()) else None
    if not lapsed:
        openid = _openid(member) if _in_wechat(request) else ""
        try:
            payment = order_pay_start(
                order=order,
                provider=provider,
                mode="jsapi" if openid else "native",
                payer_openid=openid,
            )
        except ApplicationError as exc:
            error = exc.message
    checkout_data: dict[str, Any] = payment.checkout if payment is not None else {}
    mode = str(checkout_data.get("mode", ""))
    context = {
        "tab": "orders",
        "member": member,
        "order": order,
        "lines": list(order.lines.all()),
        "payment": payment,
        "mode": mode,
        "error": error,
        "lapsed": lapsed,
        "sent": request.GET.get("sent") == "1",
        "seconds_left": max(int((order.expires_at - clock.now()).total_seconds()), 0),
        "instructions": str(checkout_data.get("instructions") or "").strip(),
        "reference": str(checkout_data.get("reference") or ""),
        "qr": qr_svg(str(checkout_data["code_url"]), label=_("WeChat Pay QR code"))
        if mode == "native" and checkout_data.get("code_url")
        else "",
        "jsapi": checkout_data.get("jsapi") if mode == "jsapi" else None,
        "other_ways": [
            (code, label)
            for code, label in _providers()
            if payment is None or code != payment.provider
        ],
        "poll": POLL_SECONDS,
    }
    return render(request, "h5/shop/pay.html", context)


@require_GET
@members_only
def pay_status(request: HttpRequest, member: Member, number: str) -> HttpResponse:
    """Polled by the pay page: once the order is paid (or gone), the page moves on."""
    order = _own_order(member, number)
    if order.status != OrderStatus.PENDING or order.expires_at <= clock.now():
        return HttpResponseClientRedirect(reverse("h5:order", args=[order.number]))
    return HttpResponse(status=204)


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
    return _order_page(request, member, _own_order(member, number))


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
    order = _own_order(member, number)
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
    order = _own_order(member, number)
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
    order = _own_order(member, number)
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
    order = _own_order(member, number)
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
    order = _own_order(member, number)
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
    order = _own_order(member, number)
    case = _own_case(order, case_id)
    return _act(
        request,
        member,
        order,
        lambda: after_sale_withdraw(case=case),
        _("Request withdrawn."),
    )
