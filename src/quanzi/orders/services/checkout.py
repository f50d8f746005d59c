"""Checkout: a quote, then an order that holds its stock until paid or lapsed.

``order_create`` does every read and check first, outside the transaction. Inside it writes
the order, its lines and its activity, then counts per-member limits, and takes the stock last:
a hot SKU or drop row is locked only from its one conditional ``UPDATE`` to the commit.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.catalog.calculations import shipping_fee
from quanzi.catalog.models import BundleItem, Drop, Product, ProductKind, ShippingTemplate, Sku
from quanzi.catalog.services.errors import NoShipping, OutOfStock
from quanzi.communities.models import Community, Membership, MembershipStatus
from quanzi.core import clock, crypto
from quanzi.core.errors import NotFound
from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.members.models import Member
from quanzi.orders import discounts
from quanzi.orders.models import Order, OrderLine, OrderStatus, StockHold
from quanzi.orders.services.errors import DropClosed, OrderError, WrongState
from quanzi.orders.services.paying import order_settle_free
from quanzi.orders.services.stock import (
    Hold,
    Limit,
    holds_of,
    stock_give_back,
    stock_take,
    tallies_of,
    tally_give_back,
    tally_take,
)
from quanzi.payments.models import Payment, PaymentStatus, Provider
from quanzi.payments.services.payments import payment_close
from quanzi.payments.wechatpay import ProviderError

MAX_LINES = 20
MAX_QUANTITY = 999


@dataclass(frozen=True)
class LineIn:
    product_id: int
    quantity: int = 1
    sku_id: int | None = None


@dataclass(frozen=True)
class Address:
    name: str
    phone: str
    region: str  # province, as the shipping templates name it
    address: str

    def as_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "phone": self.phone,
                "region": self.region,
                "address": self.address,
            },
            ensure_ascii=False,
        )


@dataclass
class QuoteLine:
    product: Product
    sku: Sku | None
    quantity: int
    unit_price_minor: int
    discount_minor: int

    @property
    def total_minor(self) -> int:
        return self.unit_price_minor * self.quantity - self.discount_minor


@dataclass
class Quote:
    community: Community
    member: Member
    drop: Drop | None
    currency: str
    lines: list[QuoteLine]
    shipping_minor: int
    discount_percent: int
    needs_shipping: bool
    holds: list[Hold] = field(default_factory=list)
    limits: list[Limit] = field(default_factory=list)

    @property
    def subtotal_minor(self) -> int:
        return sum(line.unit_price_minor * line.quantity for line in self.lines)

    @property
    def discount_minor(self) -> int:
        return sum(line.discount_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor - self.discount_minor + self.shipping_minor


def member_discount_percent(member: Member, community: Community) -> int:
    """The best discount of the member's live memberships in the community and of what other
    apps give them (a growth level's, see ``discounts``); 0 without one."""
    live = Membership.objects.filter(
        member=member,
        plan__community=community,
        status__in=[MembershipStatus.ACTIVE, MembershipStatus.EXPIRING],
    ).values_list("plan__discount_percent", flat=True)
    return max(max(live, default=0), discounts.member_discount_percent(member, community))


def _whole(value: object, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OrderError(
            _("Give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high},
            field=field_name,
        )
    return value


def _discount(amount: int, percent: int) -> int:
    return (amount * percent + 50) // 100  # rounded half up, in the member's favour at .5


def order_quote(
    *,
    member: Member,
    community: Community,
    lines: list[LineIn],
    drop_id: int | None = None,
    region: str = "",
    now: datetime | None = None,
) -> Quote:
    """What the order would cost, and what it would hold; no writes."""
    moment = now or clock.now()
    if not lines:
        raise OrderError(_("An order has at least one line."), field="lines")
    if len(lines) > MAX_LINES:
        raise OrderError(_("An order has at most %(n)s lines.") % {"n": MAX_LINES}, field="lines")
    if community.archived_at:
        raise WrongState(_("This community is archived."), field="community")
    if not member.is_active_record:
        raise WrongState(_("This member record is closed."), field="member")
    drop = None
    if drop_id is not None:
        drop = (
            Drop.objects.select_related("product__shipping_template", "sku")
            .filter(pk=drop_id, community=community)
            .first()
        )
        if drop is None:
            raise NotFound(_("No such group-buy."), field="drop_id")
        if drop.status != "live" or not drop.starts_at <= moment < drop.ends_at:
            raise DropClosed(
                _("This group-buy opens at %(start)s.")
                % {"start": f"{timezone.localtime(drop.starts_at):%Y-%m-%d %H:%M}"}
                if moment < drop.starts_at
                else _("This group-buy has ended."),
                field="drop_id",
            )
        if len(lines) != 1 or lines[0].product_id != drop.product_id:
            raise OrderError(_("A group-buy order is for its one product."), field="lines")
    bundles: dict[int, list[BundleItem]] = {}
    if drop is not None:
        # The hot path of a flash sale: the drop names its product and SKU, and bundles are
        # never dropped, so nothing else is read.
        products = {drop.product_id: drop.product}
        bundles[drop.product_id] = []
    else:
        products = {
            p.pk: p
            for p in Product.objects.filter(
                community=community, pk__in=[line.product_id for line in lines]
            )
            .select_related("shipping_template")
            .prefetch_related("skus", "bundle_items__component", "bundle_items__sku")
        }
        bundles = {pk: list(p.bundle_items.all()) for pk, p in products.items()}
    percent = 0 if drop else member_discount_percent(member, community)
    quoted: list[QuoteLine] = []
    holds: list[Hold] = []
    per_product: dict[int, int] = defaultdict(int)
    for n, line in enumerate(lines):
        where = f"lines[{n}]"
        quantity = _whole(line.quantity, f"{where}.quantity", 1, MAX_QUANTITY)
        product = products.get(line.product_id)
        if product is None:
            raise NotFound(_("No such product in this community."), field=f"{where}.product_id")
        if not product.active and drop is None:
            raise WrongState(
                _("%(name)s is not on sale.") % {"name": product.name}, field=f"{where}.product_id"
            )
        skus = [] if drop is not None else list(product.skus.all())
        sku = None
        if drop is not None:
            sku = drop.sku
        elif line.sku_id is not None:
            sku = next((s for s in skus if s.pk == line.sku_id), None)
            if sku is None:
                raise NotFound(_("No such spec of this product."), field=f"{where}.sku_id")
        elif skus:
            if len(skus) > 1:
                raise OrderError(_("Choose a spec."), field=f"{where}.sku_id")
            sku = skus[0]
        if product.kind == ProductKind.PHYSICAL and sku is None:
            raise OrderError(_("Choose a spec."), field=f"{where}.sku_id")
        if drop is not None:
            unit = drop.price_minor
            holds.append(Hold("drop", drop.pk, quantity))
        else:
            unit = sku.price_minor if sku and sku.price_minor is not None else product.price_minor
            if sku is not None:
                holds.append(Hold("sku", sku.pk, quantity))
        for item in bundles[product.pk]:
            if item.sku_id is not None:
                holds.append(Hold("sku", item.sku_id, item.quantity * quantity))
        discount = 0
        if percent and product.kind != ProductKind.MEMBERSHIP:
            discount = _discount(unit * quantity, percent)
        quoted.append(QuoteLine(product, sku, quantity, unit, discount))
        per_product[product.pk] += quantity
    limits = [
        Limit(f"product:{pk}", products[pk].per_member_limit or 0, q, products[pk].name)
        for pk, q in per_product.items()
        if products[pk].per_member_limit
    ]
    if drop is not None and drop.per_member_limit:
        limits.append(
            Limit(f"drop:{drop.pk}", drop.per_member_limit, quoted[0].quantity, drop.title)
        )
    for cap in limits:
        if cap.quantity > cap.limit:
            raise OrderError(
                _("%(name)s: at most %(limit)s per member.")
                % {"name": cap.label, "limit": cap.limit},
                field="lines",
            )
    if drop is not None and drop.stock < quoted[0].quantity:
        # Sold out: said at once. The conditional decrement at checkout stays the guarantee.
        raise OutOfStock(_("Sold out: not enough left in stock."), field="quantity")
    needs_shipping = any(
        line.product.kind == ProductKind.PHYSICAL
        or any(i.component.kind == ProductKind.PHYSICAL for i in bundles[line.product.pk])
        for line in quoted
    )
    shipping = _shipping(quoted, region) if needs_shipping and region else 0
    currency = products[lines[0].product_id].currency
    if any(line.product.currency != currency for line in quoted):
        raise OrderError(_("An order is in one currency."), field="lines")
    return Quote(
        community=community,
        member=member,
        drop=drop,
        currency=currency,
        lines=quoted,
        shipping_minor=shipping,
        discount_percent=percent,
        needs_shipping=needs_shipping,
        holds=holds,
        limits=limits,
    )


def _shipping(lines: list[QuoteLine], region: str) -> int:
    """One fee per shipping template, on the units and goods value that ship under it."""
    units: dict[int, int] = defaultdict(int)
    goods: dict[int, int] = defaultdict(int)
    templates: dict[int, ShippingTemplate] = {}
    for line in lines:
        template = line.product.shipping_template  # selected with the product
        if template is not None:
            templates[template.pk] = template
            units[template.pk] += line.quantity
            goods[template.pk] += line.total_minor
    prefetch_related_objects(list(templates.values()), "rules")
    return sum(
        shipping_fee(templates[pk], region, units[pk], goods[pk]).minor for pk in sorted(units)
    )


def _number(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"Q{local:%y%m%d}{secrets.randbelow(10**10):010d}"


def _address(address: Address | None, needs_shipping: bool) -> Address | None:
    if not needs_shipping:
        return None
    if address is None:
        raise OrderError(_("Physical goods need a delivery address."), field="address")
    checks = (
        ("name", address.name, 30, _("Fill in the recipient (at most 30 characters).")),
        ("phone", address.phone, 20, _("Fill in the phone number (at most 20 characters).")),
        ("region", address.region, 30, _("Choose the province.")),
        ("address", address.address, 200, _("Fill in the address (at most 200 characters).")),
    )
    for name, value, limit, message in checks:
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise OrderError(message, field=f"address.{name}")
    return Address(
        address.name.strip(), address.phone.strip(), address.region.strip(), address.address.strip()
    )


def order_create(
    *,
    member: Member,
    community: Community,
    lines: list[LineIn],
    drop_id: int | None = None,
    address: Address | None = None,
    note: str = "",
    channel: str = "",
    provider: str | None = None,
    now: datetime | None = None,
) -> Order:
    """Place an order: it holds its stock for ``QUANZI_ORDER_EXPIRY_MINUTES`` until paid.

    Sold out is 409 ``out_of_stock``; a per-member limit is 409 ``limit_reached``; nothing is
    written when either refuses.
    """
    moment = now or clock.now()
    probe = _address(address, True) if address is not None else None
    try:
        quote = order_quote(
            member=member,
            community=community,
            lines=lines,
            drop_id=drop_id,
            region=probe.region if probe else "",
            now=moment,
        )
    except NoShipping as exc:
        # The region is the address's here: name the field the member fills in.
        raise NoShipping(exc.message, field="address.region") from None
    address = _address(address, quote.needs_shipping)
    note = (note or "").strip()
    if len(note) > 200:
        raise OrderError(_("A note is at most 200 characters."), field="note")
    provider = provider or settings.QUANZI_PAYMENT_PROVIDER
    if provider not in Provider.values:
        raise OrderError(
            _("Pay by %(choices)s.") % {"choices": ", ".join(Provider.values)}, field="provider"
        )
    with transaction.atomic():
        order = Order.objects.create(
            number=_number(moment),
            community=community,
            member=member,
            drop=quote.drop,
            status=OrderStatus.PENDING,
            stock=StockHold.RESERVED if quote.holds else StockHold.NONE,
            currency=quote.currency,
            subtotal_minor=quote.subtotal_minor,
            discount_minor=quote.discount_minor,
            shipping_minor=quote.shipping_minor,
            total_minor=quote.total_minor,
            provider=provider,
            channel=channel[:100],
            note=note,
            needs_shipping=quote.needs_shipping,
            ship_region=address.region if address else "",
            ship_address_enc=crypto.encrypt(address.as_json()) if address else "",
            created_at=moment,
            expires_at=moment + timedelta(minutes=settings.QUANZI_ORDER_EXPIRY_MINUTES),
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    product=line.product,
                    sku=line.sku,
                    name=(quote.drop.title if quote.drop else line.product.name)[:100],
                    kind=line.product.kind,
                    options=line.sku.options if line.sku else {},
                    quantity=line.quantity,
                    unit_price_minor=line.unit_price_minor,
                    discount_minor=line.discount_minor,
                    total_minor=line.total_minor,
                )
                for line in quote.lines
            ]
        )
        activity_record(
            kind=ActivityKind.ORDER,
            occurred_at=moment,
            member_id=member.pk,
            community_id=community.pk,
            channel=order.channel,
            amount=Money(order.total_minor, order.currency),
            object_type="order",
            object_id=order.number,
            data={"products": [line.product.pk for line in quote.lines]},
        )
        tally_take(member.pk, quote.limits)
        stock_take(quote.holds, now=moment)  # last: the hot row is held only until commit
        if order.total_minor == 0:
            order_settle_free(order)  # nothing to pay (a free course): delivered at once
            order.refresh_from_db()  # the caller sees it paid, not as it was created
    return order


def address_of(order: Order) -> Address | None:
    if not order.ship_address_enc:
        return None
    data = json.loads(crypto.decrypt(order.ship_address_enc))
    return Address(**data)


def _release(order: Order) -> None:
    """Give back what a pending order holds; the caller holds the order's row lock."""
    tally_give_back(order.member_id, tallies_of(order))
    if order.stock == StockHold.RESERVED:
        stock_give_back(holds_of(order))
        order.stock = StockHold.RELEASED


def order_cancel(
    *, order: Order, reason: str, actor_id: int | None = None, now: datetime | None = None
) -> Order:
    """Cancel an unpaid order: its stock goes back on sale and its payment is closed.

    A payment that turns out to have arrived meanwhile wins: the order is then paid, and the
    cancellation refused with 409 ``wrong_state``.
    """
    moment = now or clock.now()
    reason = (reason or "").strip()[:200] or "cancelled"
    # Close at the provider first, outside the lock: from here on it takes no money for it.
    for payment in Payment.objects.filter(reference=order.number, status=PaymentStatus.CREATED):
        payment_close(payment=payment)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.PENDING:
            raise WrongState(
                _("Only an order awaiting payment can be cancelled; this one is %(status)s.")
                % {"status": order.get_status_display()},
                field="status",
            )
        _release(order)
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = moment
        order.cancel_reason = reason
        order.save(update_fields=["status", "stock", "cancelled_at", "cancel_reason"])
        activity_record(
            kind=ActivityKind.ORDER,
            occurred_at=moment,
            member_id=order.member_id,
            community_id=order.community_id,
            actor_id=actor_id,
            object_type="order",
            object_id=order.number,
            data={"action": "cancelled", "reason": reason},
        )
        return order


def orders_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """Cancel unpaid orders past their time (the job); returns how many lapsed."""
    moment = now or clock.now()
    lapsed = 0
    due = Order.objects.filter(status=OrderStatus.PENDING, expires_at__lte=moment)
    for order in due.order_by("expires_at")[:limit]:
        try:
            order_cancel(order=order, reason="expired", now=moment)
        except WrongState:
            continue  # paid at the last moment
        except ProviderError:
            continue  # the provider is unreachable; the next run closes it
        lapsed += 1
    return lapsed
