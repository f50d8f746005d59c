"""Checkout: what an order costs, what it holds, and that a refused order writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.catalog.models import ProductKind, Sku
from quanzi.catalog.services.errors import OutOfStock
from quanzi.catalog.services.products import product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec
from quanzi.catalog.tests.factories import plan, template
from quanzi.communities.models import MembershipStatus
from quanzi.communities.tests.factories import paid
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.core.models import Activity, ActivityKind
from quanzi.orders.models import Order, OrderLine, OrderStatus, PurchaseTally, StockHold
from quanzi.orders.services.checkout import (
    Address,
    LineIn,
    address_of,
    order_cancel,
    order_create,
    order_quote,
    orders_expire,
)
from quanzi.orders.services.errors import LimitReached, OrderError, WrongState
from quanzi.orders.services.paying import order_pay_start
from quanzi.orders.tests.factories import (
    ADDRESS,
    buyer,
    community,
    goods,
    order,
    paid_order,
    state,
    virtual,
)
from quanzi.payments.models import Payment, PaymentStatus

pytestmark = pytest.mark.django_db


def refusal(call: Any, error: type[ApplicationError] = ApplicationError) -> ApplicationError:
    """The error a call raised, after checking it changed nothing."""
    before = state()
    with pytest.raises(error) as raised:
        call()
    assert state() == before
    return raised.value


def shape(exc: ApplicationError) -> tuple[str, int, list[str]]:
    return exc.code, exc.status, sorted(exc.fields)


# Prices and totals


def test_an_order_keeps_the_price_and_name_it_was_placed_at() -> None:
    # Given: an order for 2 at 50.00
    sku = goods(price_minor=5_000)
    placed = order(sku, quantity=2)

    # When: the product is renamed and repriced
    product_update(product=sku.product, name="Renamed", price_minor=7_000)

    # Then: the order is as it was; a new order pays the new price
    placed.refresh_from_db()
    line = placed.lines.get()
    assert (line.name, line.unit_price_minor, line.total_minor) == (
        sku.product.name,
        5_000,
        10_000,
    )
    assert (placed.subtotal_minor, placed.total_minor) == (10_000, 10_000 + 1_000 + 500)
    again = order(sku, quantity=2)
    assert (again.lines.get().name, again.subtotal_minor) == ("Renamed", 14_000)


def test_a_sku_price_overrides_the_product_price_and_is_snapshotted_with_its_options() -> None:
    # Given: a product at 50.00 with a bigger spec at 88.00
    sku = goods(price_minor=5_000)
    big = sku_create(product=sku.product, options={"规格": "5斤"}, price_minor=8_800, stock=3)

    # When
    placed = order(big)

    # Then
    line = placed.lines.get()
    assert (line.unit_price_minor, line.options, line.sku_id) == (8_800, {"规格": "5斤"}, big.pk)


def test_a_live_membership_gives_its_plans_discount_on_everything_but_memberships() -> None:
    # Given: a plan with 10% off, held by the member; goods, a course and a membership product
    home = community()
    ten_off = plan(home, discount_percent=10)
    who = buyer()
    paid(who, ten_off, at=clock.now() - timedelta(days=1))
    fish = goods(home, price_minor=5_000)
    course = virtual(home, price_minor=9_900)
    card = virtual(home, kind=ProductKind.MEMBERSHIP, plan=ten_off, price_minor=36_500)

    # When
    quote = order_quote(
        member=who,
        community=home,
        lines=[
            LineIn(fish.product_id, 2, fish.pk),
            LineIn(course.pk),
            LineIn(card.pk),
        ],
        region="浙江",
    )

    # Then: 10% of 100.00 and of 99.00; nothing off the membership
    assert quote.discount_percent == 10
    assert [(q.unit_price_minor, q.quantity, q.discount_minor) for q in quote.lines] == [
        (5_000, 2, 1_000),
        (9_900, 1, 990),
        (36_500, 1, 0),
    ]
    assert (quote.subtotal_minor, quote.discount_minor) == (10_000 + 9_900 + 36_500, 1_990)


def test_the_best_live_plan_counts_and_an_expired_or_unpaid_one_does_not() -> None:
    # Given
    home = community()
    five, fifteen = plan(home, discount_percent=5), plan(home, discount_percent=15)
    course = virtual(home, price_minor=10_000)
    who = buyer()

    def percent() -> int:
        return order_quote(member=who, community=home, lines=[LineIn(course.pk)]).discount_percent

    # Then: no membership, nothing off
    assert percent() == 0

    # When: two live memberships, the better one counts
    paid(who, five, at=clock.now())
    fifteen_held = paid(who, fifteen, at=clock.now())
    assert percent() == 15

    # When: the better one lapses
    fifteen_held.status = MembershipStatus.EXPIRED
    fifteen_held.save(update_fields=["status"])
    assert percent() == 5

    # And another community's plan gives nothing here
    elsewhere = buyer()
    paid(elsewhere, plan(community(), discount_percent=50), at=clock.now())
    assert (
        order_quote(member=elsewhere, community=home, lines=[LineIn(course.pk)]).discount_percent
        == 0
    )


def test_the_order_totals_add_up_in_fen() -> None:
    # Given: 7% off (odd fen), goods and a course; Zhejiang ships at 6.00 + 2.00 per extra unit
    home = community()
    seven = plan(home, discount_percent=7)
    who = buyer()
    paid(who, seven, at=clock.now())
    zone = template(home, rules=[RuleSpec(["浙江"], 600, 200), RuleSpec(["*"], 1_500, 500)])
    fish = goods(home, price_minor=3_333, shipping_template=zone)
    course = virtual(home, price_minor=1_999)

    # When
    placed = order_create(
        member=who,
        community=home,
        lines=[LineIn(fish.product_id, 3, fish.pk), LineIn(course.pk, 1)],
        address=ADDRESS,
    )

    # Then: 9,999 * 7% = 699.93 -> 700; 1,999 * 7% = 139.93 -> 140; shipping 6 + 2 + 2
    lines = list(placed.lines.order_by("pk"))
    assert [(x.unit_price_minor, x.quantity, x.discount_minor, x.total_minor) for x in lines] == [
        (3_333, 3, 700, 9_299),
        (1_999, 1, 140, 1_859),
    ]
    assert (
        placed.subtotal_minor,
        placed.discount_minor,
        placed.shipping_minor,
        placed.total_minor,
    ) == (11_998, 840, 1_000, 12_158)
    assert placed.subtotal_minor - placed.discount_minor == sum(x.total_minor for x in lines)
    assert placed.total_minor == (
        placed.subtotal_minor - placed.discount_minor + placed.shipping_minor
    )
    assert (placed.currency, placed.needs_shipping, placed.ship_region) == ("CNY", True, "浙江")


@pytest.mark.parametrize(
    ("region", "quantity", "price", "fee"),
    [
        ("浙江", 1, 5_000, 600),  # first unit
        ("上海", 3, 3_000, 600 + 2 * 200),  # 9,000: under the free threshold
        ("浙江", 2, 5_000, 0),  # 10,000: at the threshold ships free
        ("浙江", 3, 5_000, 0),  # over it
        ("新疆", 3, 5_000, 1_500 + 2 * 500),  # everywhere else: never free
    ],
)
def test_shipping_comes_from_the_template_by_region_with_free_over_threshold(
    region: str, quantity: int, price: int, fee: int
) -> None:
    # Given
    home = community()
    zone = template(
        home,
        rules=[
            RuleSpec(["浙江", "上海"], 600, 200, free_over_minor=10_000),
            RuleSpec(["*"], 1_500, 500),
        ],
    )
    sku = goods(home, price_minor=price, shipping_template=zone)

    # When
    placed = order(
        sku, quantity=quantity, address=Address("李雷", "13900000000", region, "路 1 号")
    )

    # Then
    assert placed.shipping_minor == fee
    assert placed.total_minor == price * quantity + fee
    assert (placed.ship_region, address_of(placed)) == (
        region,
        Address("李雷", "13900000000", region, "路 1 号"),
    )


def test_goods_under_two_templates_pay_each_templates_fee() -> None:
    # Given
    home = community()
    cold = template(home, rules=[RuleSpec(["*"], 2_000, 1_000)])
    plain = template(home, rules=[RuleSpec(["*"], 800, 100)])
    crab, tea = goods(home, shipping_template=cold), goods(home, shipping_template=plain)

    # When
    quote = order_quote(
        member=buyer(),
        community=home,
        lines=[LineIn(crab.product_id, 2, crab.pk), LineIn(tea.product_id, 1, tea.pk)],
        region="浙江",
    )

    # Then
    assert quote.shipping_minor == (2_000 + 1_000) + 800


def test_a_region_the_template_does_not_serve_is_refused() -> None:
    # Given
    who = buyer()
    home = community()
    local = template(home, rules=[RuleSpec(["浙江"], 600, 200)])
    sku = goods(home, shipping_template=local)

    # When
    exc = refusal(lambda: order(sku, who, address=Address("李雷", "139", "西藏", "拉萨")))

    # Then
    assert exc.code == "no_shipping"
    assert exc.status == 422
    assert "address.region" in exc.fields


def test_the_quote_is_what_the_order_then_costs_and_writes_nothing() -> None:
    # Given
    sku = goods(price_minor=5_000)
    who = buyer()
    before = state()

    # When
    quote = order_quote(
        member=who,
        community=sku.product.community,
        lines=[LineIn(sku.product_id, 2, sku.pk)],
        region="浙江",
    )

    # Then
    assert state() == before
    placed = order(sku, who, 2)
    assert (quote.subtotal_minor, quote.shipping_minor, quote.total_minor) == (
        placed.subtotal_minor,
        placed.shipping_minor,
        placed.total_minor,
    )


# What an order needs


def test_a_virtual_order_needs_no_address() -> None:
    # Given
    course = virtual()

    # When
    placed = order_create(member=buyer(), community=course.community, lines=[LineIn(course.pk)])

    # Then
    assert (placed.needs_shipping, placed.shipping_minor, placed.ship_address_enc) == (
        False,
        0,
        "",
    )
    assert (placed.stock, placed.total_minor) == (StockHold.NONE, 9_900)
    assert address_of(placed) is None


def test_physical_goods_need_an_address_and_each_part_of_it() -> None:
    # Given
    who = buyer()
    sku = goods()

    # When / Then: no address at all
    exc = refusal(lambda: order(sku, who, address=None), OrderError)
    assert shape(exc) == ("order_invalid", 422, ["address"])

    # When / Then: each part, blank or too long
    for blank, field in [
        (Address(" ", "139", "浙江", "路"), "address.name"),
        (Address("李雷", "", "浙江", "路"), "address.phone"),
        (Address("李雷", "139", "", "路"), "address.region"),
        (Address("李雷", "139", "浙江", "x" * 201), "address.address"),
    ]:
        exc = refusal(lambda blank=blank: order(sku, who, address=blank), OrderError)
        assert shape(exc) == ("order_invalid", 422, [field])


def test_the_address_is_stored_encrypted_and_read_back_whole() -> None:
    buyer()
    # Given / When
    placed = order(goods())

    # Then
    assert "13800138000" not in placed.ship_address_enc
    assert "王小明" not in placed.ship_address_enc
    assert address_of(Order.objects.get(pk=placed.pk)) == ADDRESS


def test_an_inactive_product_is_refused_on_its_line() -> None:
    # Given
    who = buyer()
    sku = goods()
    product_update(product=sku.product, active=False)

    # When
    exc = refusal(lambda: order(sku, who), WrongState)

    # Then
    assert shape(exc) == ("wrong_state", 409, ["lines[0].product_id"])


def test_another_communitys_product_is_not_found_here() -> None:
    # Given
    who = buyer()
    mine, theirs = community(), goods()
    course = virtual(mine)

    # When
    exc = refusal(
        lambda: order_create(
            member=who,
            community=mine,
            lines=[LineIn(course.pk), LineIn(theirs.product_id, 1, theirs.pk)],
            address=ADDRESS,
        ),
        NotFound,
    )

    # Then
    assert shape(exc) == ("not_found", 404, ["lines[1].product_id"])


def test_an_unknown_sku_is_not_found_on_its_line() -> None:
    # Given: a SKU of another product
    who = buyer()
    sku, other = goods(), goods()

    # When
    exc = refusal(
        lambda: order_create(
            member=who,
            community=sku.product.community,
            lines=[LineIn(sku.product_id, 1, other.pk)],
            address=ADDRESS,
        ),
        NotFound,
    )

    # Then
    assert shape(exc) == ("not_found", 404, ["lines[0].sku_id"])


def test_a_product_with_two_specs_needs_one_chosen() -> None:
    # Given
    who = buyer()
    sku = goods()
    sku_create(product=sku.product, options={"规格": "5斤"}, stock=3)

    # When
    exc = refusal(
        lambda: order_create(
            member=who,
            community=sku.product.community,
            lines=[LineIn(sku.product_id, 1)],
            address=ADDRESS,
        ),
        OrderError,
    )

    # Then
    assert shape(exc) == ("order_invalid", 422, ["lines[0].sku_id"])


@pytest.mark.parametrize("quantity", [0, -1, 1_000, True, 1.5])
def test_a_nonsense_quantity_is_refused_on_its_line(quantity: Any) -> None:
    who = buyer()
    sku = goods()
    exc = refusal(lambda: order(sku, who, quantity=quantity), OrderError)
    assert shape(exc) == ("order_invalid", 422, ["lines[0].quantity"])


def test_an_order_with_no_lines_or_a_long_note_is_refused() -> None:
    who = buyer()
    sku = goods()
    home = sku.product.community
    exc = refusal(lambda: order_create(member=who, community=home, lines=[]), OrderError)
    assert shape(exc) == ("order_invalid", 422, ["lines"])
    exc = refusal(lambda: order(sku, who, note="x" * 201), OrderError)
    assert shape(exc) == ("order_invalid", 422, ["note"])


# Stock


def test_an_order_reserves_its_units_and_a_sold_out_order_writes_nothing() -> None:
    # Given
    who = buyer()
    sku = goods(stock=10)

    # When
    placed = order(sku, quantity=7)

    # Then
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved, placed.stock) == (3, 7, StockHold.RESERVED)
    assert placed.status == OrderStatus.PENDING
    assert placed.expires_at == placed.created_at + timedelta(minutes=30)
    assert Activity.objects.filter(
        kind=ActivityKind.ORDER, object_id=placed.number, amount_minor=placed.total_minor
    ).exists()

    # When / Then: four more than are left
    exc = refusal(lambda: order(sku, who, quantity=4), OutOfStock)
    assert shape(exc) == ("out_of_stock", 409, ["quantity"])


def test_an_expired_order_gives_its_units_back(frozen_clock: Any) -> None:
    # Given: an order with a payment started
    sku = goods(stock=5)
    placed = order(sku, quantity=2)
    payment = order_pay_start(order=placed)

    # When: before its time nothing lapses
    frozen_clock.advance(timedelta(minutes=29))
    assert orders_expire() == 0

    # When: past it
    frozen_clock.advance(timedelta(minutes=2))
    assert orders_expire() == 1

    # Then
    placed.refresh_from_db()
    fresh = Sku.objects.get(pk=sku.pk)
    assert (placed.status, placed.stock, placed.cancel_reason) == (
        OrderStatus.CANCELLED,
        StockHold.RELEASED,
        "expired",
    )
    assert placed.cancelled_at == frozen_clock()
    assert (fresh.stock, fresh.reserved) == (5, 0)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CLOSED
    # Running the job again changes nothing
    assert orders_expire() == 0
    assert Sku.objects.get(pk=sku.pk).stock == 5


def test_a_cancelled_order_gives_its_units_back_once() -> None:
    # Given
    sku = goods(stock=5)
    placed = order(sku, quantity=2)

    # When
    order_cancel(order=placed, reason="changed my mind")

    # Then
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (5, 0)
    placed.refresh_from_db()
    assert (placed.status, placed.cancel_reason) == (OrderStatus.CANCELLED, "changed my mind")

    # When / Then: cancelling again is refused and changes nothing
    exc = refusal(lambda: order_cancel(order=placed, reason="again"), WrongState)
    assert shape(exc) == ("wrong_state", 409, ["status"])


def test_a_paid_order_cannot_be_cancelled() -> None:
    sku = goods(stock=5)
    placed = paid_order(sku)
    exc = refusal(lambda: order_cancel(order=placed, reason="no"), WrongState)
    assert exc.code == "wrong_state"


def test_a_cancelled_order_cannot_be_paid() -> None:
    placed = order(goods())
    order_cancel(order=placed, reason="no")
    placed.refresh_from_db()
    exc = refusal(lambda: order_pay_start(order=placed), WrongState)
    assert exc.code == "wrong_state"


def test_a_lapsed_but_not_yet_expired_order_cannot_start_a_payment(frozen_clock: Any) -> None:
    placed = order(goods())
    frozen_clock.advance(timedelta(minutes=31))
    exc = refusal(lambda: order_pay_start(order=placed), WrongState)
    assert exc.code == "wrong_state"


# Per-member limits


def test_a_per_member_limit_counts_every_order_the_member_holds() -> None:
    # Given: at most 2 each
    sku = goods(stock=20, per_member_limit=2)
    who, other = buyer(), buyer()
    order(sku, who)
    paid_order(sku, who)

    # When / Then: a third unit is refused, and nothing was written
    exc = refusal(lambda: order(sku, who), LimitReached)
    assert shape(exc) == ("limit_reached", 409, ["quantity"])

    # Then: someone else still may
    order(sku, other, 2)
    assert PurchaseTally.objects.get(member=who).quantity == 2


def test_more_than_the_limit_in_one_order_is_refused_before_anything_is_held() -> None:
    who = buyer()
    sku = goods(stock=20, per_member_limit=2)
    exc = refusal(lambda: order(sku, who, quantity=3), OrderError)
    assert shape(exc) == ("order_invalid", 422, ["lines"])


def test_an_expired_or_cancelled_order_gives_the_allowance_back(frozen_clock: Any) -> None:
    # Given: the member used the whole allowance in two orders
    sku = goods(stock=20, per_member_limit=2)
    who = buyer()
    first = order(sku, who)
    second = order(sku, who)
    with pytest.raises(LimitReached):
        order(sku, who)

    # When: one lapses, the other is cancelled
    frozen_clock.advance(timedelta(minutes=10))
    order_cancel(order=second, reason="no")
    frozen_clock.advance(timedelta(minutes=25))
    orders_expire()

    # Then: both units can be ordered again
    first.refresh_from_db()
    assert first.status == OrderStatus.CANCELLED
    assert PurchaseTally.objects.get(member=who).quantity == 0
    again = order(sku, who, 2)
    assert again.status == OrderStatus.PENDING


def test_lines_of_one_limited_product_count_together() -> None:
    # Given
    who = buyer()
    sku = goods(stock=20, per_member_limit=3)
    big = sku_create(product=sku.product, options={"规格": "5斤"}, stock=5)

    # When
    exc = refusal(
        lambda: order_create(
            member=who,
            community=sku.product.community,
            lines=[LineIn(sku.product_id, 2, sku.pk), LineIn(sku.product_id, 2, big.pk)],
            address=ADDRESS,
        ),
        OrderError,
    )

    # Then
    assert shape(exc) == ("order_invalid", 422, ["lines"])
    assert OrderLine.objects.count() == 0
