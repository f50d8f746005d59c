"""Checkout (placing an order once per checkout page) and paying for it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from quanzi.catalog.models import Drop, Product, Sku
from quanzi.communities.models import Community
from quanzi.console.feedback import form_error
from quanzi.console.qr import svg as qr_svg
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, Conflict
from quanzi.h5.forms_shop import MAX_QUANTITY, CheckoutForm
from quanzi.h5.views_shop._common import (
    POLL_SECONDS,
    TONES,
    drop_or_404,
    members_only,
    own_order,
    product_needs_shipping,
    spec_label,
)
from quanzi.members import selectors as members
from quanzi.members.models import IdentityKind, Member
from quanzi.orders import selectors as orders
from quanzi.orders.models import Order, OrderStatus
from quanzi.orders.services.checkout import (
    Address,
    LineIn,
    Quote,
    address_of,
    order_create,
    order_quote,
)
from quanzi.orders.services.paying import order_pay_start
from quanzi.payments.models import Payment, Provider
from quanzi.payments.providers import wechatpay_config

SESSION_PLACED = "h5_placed"  # checkout token -> order number, the last few
KEEP_PLACED = 20

# Service field names -> checkout form fields.
CHECKOUT_FIELDS = {
    "address.name": "name",
    "address.phone": "phone",
    "address.region": "region",
    "address.address": "address",
    "lines[0].quantity": "quantity",
}


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
        return spec_label(sku.options) if sku is not None else ""

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
        found = drop_or_404(drop_id)
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
    needs_shipping = quote.needs_shipping if quote else product_needs_shipping(target.product)
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
    needs_shipping = product_needs_shipping(target.product)
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
    if product_needs_shipping(target.product):
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
        "needs_shipping": quote.needs_shipping if quote else product_needs_shipping(target.product),
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
    order = own_order(member, number)
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
    order = own_order(member, number)
    if order.status != OrderStatus.PENDING or order.expires_at <= clock.now():
        return HttpResponseClientRedirect(reverse("h5:order", args=[order.number]))
    return HttpResponse(status=204)
