"""Group-buy drops: a drop price for a limited time and stock, settled when it ends; below its
minimum of buyers every payment goes back and every unit returns to the shelf."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from quanzi.catalog.models import Drop, DropStatus, Sku
from quanzi.catalog.services.errors import OutOfStock
from quanzi.catalog.tests.factories import plan
from quanzi.communities.tests.factories import paid
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.members.models import Member
from quanzi.orders.models import AfterSale, Order, OrderStatus, StockHold
from quanzi.orders.services.aftersales import after_sale_approve, after_sale_open
from quanzi.orders.services.checkout import LineIn, order_create, orders_expire
from quanzi.orders.services.drops import drop_buyers, drops_settle
from quanzi.orders.services.errors import DropClosed, LimitReached, OrderError
from quanzi.orders.services.paying import order_pay_start
from quanzi.orders.tests.factories import (
    ADDRESS,
    books_balanced,
    buyer,
    community,
    drop,
    goods,
    pay,
    running_fake,
    stamp,
    state,
    units,
    virtual,
)
from quanzi.payments.models import Payment, Refund, RefundStatus
from quanzi.payments.services.notifications import wechatpay_notification_receive
from quanzi.payments.services.payments import payment_confirm_manual
from quanzi.payments.services.refunds import refunds_retry
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def drop_order(sale: Drop, who: Member | None = None, quantity: int = 1) -> Order:
    return order_create(
        member=who or buyer(),
        community=sale.product.community,
        lines=[LineIn(sale.product_id, quantity)],
        drop_id=sale.pk,
        address=ADDRESS,
    )


def refusal(call: Callable[[], Any], error: type[ApplicationError]) -> ApplicationError:
    before = state()
    with pytest.raises(error) as raised:
        call()
    assert state() == before
    return raised.value


def test_a_drop_sets_its_units_aside_and_sells_them_at_its_price() -> None:
    # Given: 20 in stock, 8 set aside for a drop at 30.00; a member with 10% off
    home = community()
    who = buyer()
    paid(who, plan(home, discount_percent=10), at=clock.now())
    sku = goods(home, stock=20, price_minor=5_000)
    sale = drop(sku, units=8, price_minor=3_000)
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (12, 20)

    # When
    placed = drop_order(sale, who, 2)

    # Then: the drop price, no member discount, the drop's units held (not the SKU's)
    line = placed.lines.get()
    assert (line.name, line.unit_price_minor, line.discount_minor, line.sku_id) == (
        sale.title,
        3_000,
        0,
        sku.pk,
    )
    assert (placed.drop_id, placed.subtotal_minor, placed.discount_minor) == (sale.pk, 6_000, 0)
    sale.refresh_from_db()
    assert (sale.stock, sale.reserved, sale.sold) == (6, 2, 0)
    assert Sku.objects.get(pk=sku.pk).stock == 12

    # When: paid
    pay(placed)

    # Then
    sale.refresh_from_db()
    assert (sale.stock, sale.reserved, sale.sold) == (6, 0, 2)
    assert units(sku) == 20


def test_a_drop_takes_orders_only_while_it_is_open(frozen_clock: Any) -> None:
    # Given
    sku = goods(stock=20)
    sale = drop(sku, units=5, hours=2)
    who = buyer()

    # When / Then: after its end
    frozen_clock.advance(timedelta(hours=2))
    exc = refusal(lambda: drop_order(sale, who), DropClosed)
    assert (exc.code, exc.status, list(exc.fields)) == ("drop_closed", 409, ["drop_id"])


def test_a_drop_that_has_not_started_says_when_it_opens() -> None:
    sku = goods(stock=20)
    later = drop(sku, units=5)
    Drop.objects.filter(pk=later.pk).update(starts_at=clock.now() + timedelta(hours=1))
    who = buyer()
    exc = refusal(lambda: drop_order(later, who), DropClosed)
    assert "opens at" in exc.message


def test_a_drop_order_is_for_the_drops_product_only() -> None:
    home = community()
    sale = drop(goods(home, stock=20), units=5)
    other = virtual(home)
    who = buyer()
    exc = refusal(
        lambda: order_create(
            member=who,
            community=home,
            lines=[LineIn(other.pk)],
            drop_id=sale.pk,
            address=ADDRESS,
        ),
        OrderError,
    )
    assert list(exc.fields) == ["lines"]
    elsewhere = community()
    exc = refusal(
        lambda: order_create(
            member=who, community=elsewhere, lines=[LineIn(sale.product_id)], drop_id=sale.pk
        ),
        NotFound,
    )
    assert list(exc.fields) == ["drop_id"]


def test_a_drop_sells_out_at_its_units() -> None:
    sale = drop(goods(stock=20), units=3)
    drop_order(sale, quantity=2)
    who = buyer()
    exc = refusal(lambda: drop_order(sale, who, 2), OutOfStock)
    assert exc.code == "out_of_stock"


def test_a_drops_per_member_limit_holds_and_a_lapsed_order_gives_it_back(
    frozen_clock: Any,
) -> None:
    # Given: one each
    sale = drop(goods(stock=20), units=10, per_member_limit=1)
    who = buyer()
    drop_order(sale, who)

    # When / Then
    exc = refusal(lambda: drop_order(sale, who), LimitReached)
    assert exc.code == "limit_reached"
    refusal(lambda: drop_order(sale, who, 2), OrderError)

    # When: the first order lapses
    frozen_clock.advance(timedelta(minutes=31))
    orders_expire()

    # Then
    assert drop_order(sale, who).status == OrderStatus.PENDING


def test_a_drop_below_its_minimum_is_cancelled_and_every_payment_refunded(
    frozen_clock: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    # Given: a drop of 10 that needs 3 buyers; 2 paid (one for 2 units), 1 never paid
    sku = goods(stock=30)
    sale = drop(sku, units=10, min_buyers=3, hours=24)
    first, second = drop_order(sale, quantity=2), drop_order(sale)
    pay(first)
    pay(second)
    drop_order(sale)

    # When: the drop ends; settling waits while an order may still be paid
    frozen_clock.advance(timedelta(hours=24))
    assert drops_settle() == 0
    frozen_clock.advance(timedelta(minutes=31))
    orders_expire()
    with django_capture_on_commit_callbacks(execute=True):
        assert drops_settle() == 1

    # Then: cancelled; each paid order refunded in full by a system case
    sale.refresh_from_db()
    assert (sale.status, sale.stock, sale.reserved) == (DropStatus.CANCELLED, 0, 0)
    for placed in (first, second):
        placed.refresh_from_db()
        case = AfterSale.objects.get(order=placed)
        assert (case.opened_by, case.status, case.amount_minor) == (
            "system",
            "refunded",
            placed.total_minor,
        )
        assert Refund.objects.get(out_refund_no=case.refund_no).status == RefundStatus.SUCCEEDED
        assert (placed.status, placed.refunded_minor) == (OrderStatus.REFUNDED, placed.total_minor)
    # Every unit is back on the shelf: the unsold and the refunded
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (30, 30)
    books_balanced()

    # When: the job runs again
    before = state()
    with django_capture_on_commit_callbacks(execute=True):
        assert drops_settle() == 0

    # Then
    assert state() == before


def test_a_drop_that_reaches_its_minimum_succeeds_and_returns_what_it_did_not_sell(
    frozen_clock: Any,
) -> None:
    # Given
    sku = goods(stock=30)
    sale = drop(sku, units=10, min_buyers=2)
    for _ in range(2):
        pay(drop_order(sale, quantity=2))

    # When
    frozen_clock.advance(timedelta(hours=25))
    assert drops_settle() == 1

    # Then: 4 sold, 6 back on the SKU
    sale.refresh_from_db()
    assert (sale.status, sale.sold, sale.stock) == (DropStatus.SUCCEEDED, 4, 0)
    assert sale.settled_at == frozen_clock()
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (26, 30)
    assert not AfterSale.objects.exists()
    assert drops_settle() == 0


def test_a_drop_without_a_minimum_just_ends() -> None:
    sale = drop(virtual(price_minor=19_900), units=50, price_minor=9_900)
    pay(
        order_create(
            member=buyer(),
            community=sale.community,
            lines=[LineIn(sale.product_id)],
            drop_id=sale.pk,
        )
    )
    Drop.objects.filter(pk=sale.pk).update(ends_at=clock.now())
    assert drops_settle() == 1
    sale.refresh_from_db()
    assert (sale.status, sale.sold) == (DropStatus.ENDED, 1)


def test_buyers_refunded_in_full_do_not_count_towards_the_minimum(
    frozen_clock: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    # Given: two buyers for a drop that needs two; one changes their mind and is refunded
    sku = goods(stock=30)
    sale = drop(sku, units=10, min_buyers=2)
    kept, refunded = drop_order(sale), drop_order(sale)
    pay(kept)
    pay(refunded)
    refunded.refresh_from_db()
    case = after_sale_open(
        order=refunded, kind="refund_only", amount_minor=refunded.total_minor, reason="changed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case)
    assert drop_buyers(sale) == 1

    # When
    frozen_clock.advance(timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        drops_settle()

    # Then: one real buyer is not two; the drop is cancelled and the other refunded too
    sale.refresh_from_db()
    kept.refresh_from_db()
    assert sale.status == DropStatus.CANCELLED
    assert kept.status == OrderStatus.REFUNDED
    assert units(sku) == 30


def test_a_drop_order_paid_after_the_drop_was_settled_is_refunded(
    frozen_clock: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    # Given: an order whose payment was started, then the drop ended and was settled
    sku = goods(stock=30)
    sale = drop(sku, units=10, hours=1)
    placed = drop_order(sale)
    payment = order_pay_start(order=placed)
    frozen_clock.advance(timedelta(hours=2))
    orders_expire()
    drops_settle()
    assert units(sku) == 30

    # When: the transfer is confirmed anyway
    with django_capture_on_commit_callbacks(execute=True):
        payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)

    # Then: refunded in full, no unit taken
    placed.refresh_from_db()
    assert (placed.status, placed.stock, placed.refunded_minor) == (
        OrderStatus.REFUNDED,
        StockHold.RELEASED,
        placed.total_minor,
    )
    assert Payment.objects.get(pk=payment.pk).refunded_minor == placed.total_minor
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (30, 30)


def test_a_lapsed_drop_order_paid_while_the_drop_is_still_live_keeps_its_units(
    frozen_clock: Any,
) -> None:
    sku = goods(stock=30)
    sale = drop(sku, units=10)
    placed = drop_order(sale)
    payment = order_pay_start(order=placed)
    frozen_clock.advance(timedelta(minutes=31))
    orders_expire()

    payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)

    placed.refresh_from_db()
    sale.refresh_from_db()
    assert (placed.status, placed.stock) == (OrderStatus.PAID, StockHold.SOLD)
    assert (sale.stock, sale.reserved, sale.sold) == (9, 0, 1)
    assert units(sku) == 30


# With WeChat Pay, whose refunds take a while


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChatPay]:
    with running_fake() as fake:
        yield fake


@pytest.fixture
def wechat(fake_server: FakeWeChatPay, settings: Any) -> FakeWeChatPay:
    fake_server.reset()
    settings.QUANZI_WECHATPAY_CONFIG = fake_server.config()
    return fake_server


def notify(fake: FakeWeChatPay, out_trade_no: str) -> None:
    headers, body = fake.notification_for(out_trade_no, timestamp=stamp(clock.now()))
    wechatpay_notification_receive(headers=headers, body=body)


def test_a_cancelled_drop_refunds_the_payment_that_paid_even_after_a_double_payment(
    wechat: FakeWeChatPay, frozen_clock: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    # Given: a drop that needs 2 buyers and gets 1, who paid twice (WeChat, then a transfer
    # started earlier and confirmed later: already being refunded as the extra payment)
    sku = goods(stock=30)
    sale = drop(sku, units=10, min_buyers=2)
    placed = drop_order(sale, quantity=2)
    transfer = order_pay_start(order=placed, provider="manual")
    online = order_pay_start(order=placed, provider="wechatpay")
    wechat.pay(online.out_trade_no)
    notify(wechat, online.out_trade_no)
    with django_capture_on_commit_callbacks(execute=True):
        payment_confirm_manual(payment=transfer, amount_minor=placed.total_minor)

    # When: the drop ends below its minimum
    frozen_clock.advance(timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        assert drops_settle() == 1

    # Then: the WeChat payment is being refunded in full, as the order's own refund
    own = AfterSale.objects.get(order=placed, extra_payment=False)
    assert (own.payment_id, own.amount_minor, own.restock) == (
        online.pk,
        placed.total_minor,
        True,
    )
    assert wechat.refunds[own.refund_no]["amount"]["refund"] == placed.total_minor

    # When: WeChat completes it
    wechat.complete_refund(own.refund_no)
    refunds_retry()

    # Then: the order is refunded and its units are back on the shelf
    placed.refresh_from_db()
    assert (placed.status, placed.refunded_minor) == (OrderStatus.REFUNDED, placed.total_minor)
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (30, 30)


def test_a_refund_in_flight_when_the_drop_is_cancelled_finishes_and_the_rest_follows(
    wechat: FakeWeChatPay, frozen_clock: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    # Given: a drop that needs 2 buyers and gets 1; that buyer was granted 10.00 back, and
    # WeChat is still processing it; another request of theirs awaits a decision
    sku = goods(stock=30)
    sale = drop(sku, units=10, min_buyers=2)
    placed = order_create(
        member=buyer(),
        community=sale.community,
        lines=[LineIn(sale.product_id, 2)],
        drop_id=sale.pk,
        address=ADDRESS,
        provider="wechatpay",
    )
    payment = order_pay_start(order=placed)
    wechat.pay(payment.out_trade_no)
    notify(wechat, payment.out_trade_no)
    placed.refresh_from_db()
    granted = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=granted)
    waiting = after_sale_open(order=placed, kind="refund_only", amount_minor=500, reason="y")

    # When: the drop is cancelled, and WeChat completes every refund
    frozen_clock.advance(timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        drops_settle()
    for number in list(wechat.refunds):
        wechat.complete_refund(number)
    refunds_retry()

    # Then: the granted refund stands, the waiting request gave way, the rest came back
    granted.refresh_from_db()
    waiting.refresh_from_db()
    placed.refresh_from_db()
    assert (granted.status, waiting.status) == ("refunded", "withdrawn")
    system = AfterSale.objects.get(order=placed, opened_by="system")
    assert (system.status, system.amount_minor) == ("refunded", placed.total_minor - 1_000)
    assert (placed.status, placed.refunded_minor) == (OrderStatus.REFUNDED, placed.total_minor)
    assert sorted(r["amount"]["refund"] for r in wechat.refunds.values()) == sorted(
        [1_000, placed.total_minor - 1_000]
    )
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (30, 30)
