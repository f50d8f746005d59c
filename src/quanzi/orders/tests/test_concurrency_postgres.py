"""Orders under real concurrency (PostgreSQL only, real threads, one connection each).

Many buyers for few units, one member racing their own limit, WeChat Pay sending a
notification many times at once, operators approving one refund five times, and an order
lapsing while its payment arrives: each ends one way, with no unit lost or sold twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import translation

from quanzi.catalog.models import Sku
from quanzi.catalog.services.errors import OutOfStock
from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind, LedgerTransaction
from quanzi.members.tests.factories import in_threads, member
from quanzi.orders.models import AfterSale, Order, OrderStatus, PurchaseTally, StockHold
from quanzi.orders.services.aftersales import after_sale_approve, after_sale_open
from quanzi.orders.services.checkout import LineIn, order_create, orders_expire
from quanzi.orders.services.errors import LimitReached
from quanzi.orders.services.paying import order_pay_start
from quanzi.orders.tests.factories import (
    ADDRESS,
    books_balanced,
    goods,
    order,
    running_fake,
    stamp,
    units,
)
from quanzi.payments.models import NotificationNonce, Payment, PaymentStatus, Refund, RefundStatus
from quanzi.payments.services.notifications import (
    NotificationRefused,
    wechatpay_notification_receive,
)
from quanzi.payments.services.payments import payment_confirm_manual
from quanzi.payments.services.refunds import refunds_retry
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_pool(count: int, target: Callable[[int], Any], workers: int = 32) -> list[Any]:
    """``target(i)`` for i in range(count) on a ``ThreadPoolExecutor`` of real threads; what
    each call returned or raised. A worker keeps one connection for all its calls and closes
    it at the end, so no more than ``workers`` are ever open at once."""
    language = translation.get_language()

    def run(i: int) -> Any:
        try:
            with translation.override(language):
                return target(i)
        except Exception as exc:  # the test asserts on what each call met
            return exc

    all_in = threading.Barrier(workers)

    def close(_: int) -> None:
        # One close per worker: each waits here until every worker holds one.
        try:
            all_in.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(run, range(count)))
        list(pool.map(close, range(workers)))
    return results


def kinds(results: list[Any]) -> Counter[str]:
    return Counter(type(r).__name__ for r in results)


def buy(sku: Sku, who: Any, quantity: int = 1) -> Order:
    return order_create(
        member=who,
        community=sku.product.community,
        lines=[LineIn(sku.product_id, quantity, sku.pk)],
        address=ADDRESS,
    )


class StockWatch:
    """Reads the SKU's stock over and over while the buyers run: the lowest value seen."""

    def __init__(self, sku: Sku) -> None:
        self.sku_id = sku.pk
        self.lowest: int | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch)

    def _watch(self) -> None:
        try:
            while not self.stop.is_set():
                stock = Sku.objects.values_list("stock", flat=True).get(pk=self.sku_id)
                self.lowest = stock if self.lowest is None else min(self.lowest, stock)
        finally:
            connection.close()

    def __enter__(self) -> StockWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


# Many buyers, few units


def test_five_hundred_buyers_for_fifty_units_make_exactly_fifty_orders() -> None:
    # Given: 50 units and 500 different members
    sku = goods(stock=50)
    buyers = [member() for _ in range(500)]

    # When: all of them order at once
    with StockWatch(sku) as watch:
        results = in_pool(500, lambda i: buy(sku, buyers[i]), workers=40)

    # Then: 50 orders, 450 told it is sold out, nothing else went wrong
    assert kinds(results) == Counter({"Order": 50, "OutOfStock": 450}), [
        r for r in results if not isinstance(r, (Order, OutOfStock))
    ][:3]
    assert {(r.code, r.status) for r in results if isinstance(r, OutOfStock)} == {
        ("out_of_stock", 409)
    }
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (0, 50)
    assert watch.lowest is not None
    assert watch.lowest >= 0
    assert Order.objects.filter(lines__sku=sku).count() == 50
    assert len({r.member_id for r in results if isinstance(r, Order)}) == 50
    assert Activity.objects.filter(kind=ActivityKind.ORDER).count() == 50


def test_one_unit_and_a_hundred_buyers_make_one_order() -> None:
    sku = goods(stock=1)
    buyers = [member() for _ in range(100)]

    results = in_pool(100, lambda i: buy(sku, buyers[i]), workers=32)

    assert kinds(results) == Counter({"Order": 1, "OutOfStock": 99})
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (0, 1)


def test_one_member_racing_their_own_limit_gets_exactly_the_limit() -> None:
    # Given: at most 3 each, plenty in stock
    sku = goods(stock=100, per_member_limit=3)
    who = member()

    # When: 20 orders of one unit at once
    results = in_threads(20, lambda i: buy(sku, who))

    # Then
    assert kinds(results) == Counter({"Order": 3, "LimitReached": 17}), [
        r for r in results if not isinstance(r, (Order, LimitReached))
    ][:3]
    assert PurchaseTally.objects.get(member=who).quantity == 3
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (97, 3)


# WeChat Pay notifications and refunds


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChatPay]:
    with running_fake() as fake:
        yield fake


@pytest.fixture
def wechat(fake_server: FakeWeChatPay, settings: Any) -> FakeWeChatPay:
    fake_server.reset()
    settings.QUANZI_WECHATPAY_CONFIG = fake_server.config()
    return fake_server


def paid_at_wechat(fake: FakeWeChatPay, sku: Sku, quantity: int = 1) -> tuple[Order, Payment]:
    placed = order(sku, quantity=quantity, provider="wechatpay")
    payment = order_pay_start(order=placed)
    fake.pay(payment.out_trade_no)
    return placed, payment


def test_a_notification_sent_fifteen_times_pays_the_order_once(wechat: FakeWeChatPay) -> None:
    # Given: 15 copies of the notification, each with its own nonce (as WeChat retries)
    sku = goods(stock=5)
    placed, payment = paid_at_wechat(wechat, sku, 2)
    copies = [
        wechat.notification_for(
            payment.out_trade_no, nonce=f"COPY{i:02d}", timestamp=stamp(clock.now())
        )
        for i in range(15)
    ]

    # When: ten at once, then five late
    results = in_threads(
        10, lambda i: wechatpay_notification_receive(headers=copies[i][0], body=copies[i][1])
    )
    late = in_threads(
        5,
        lambda i: wechatpay_notification_receive(headers=copies[10 + i][0], body=copies[10 + i][1]),
    )

    # Then: every copy acknowledged; one change, one posting, one sale of the units
    assert kinds(results + late) == Counter({"Payment": 15})
    assert NotificationNonce.objects.count() == 15
    assert LedgerTransaction.objects.filter(kind="payment").count() == 1
    placed.refresh_from_db()
    assert (placed.status, placed.stock) == (OrderStatus.PAID, StockHold.SOLD)
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (3, 0)
    assert Activity.objects.filter(kind=ActivityKind.PAY, member_id=placed.member_id).count() == 1
    assert not AfterSale.objects.exists()
    books_balanced()


def test_the_same_notification_replayed_at_once_is_taken_once(wechat: FakeWeChatPay) -> None:
    # Given: one notification, one nonce
    placed, payment = paid_at_wechat(wechat, goods(stock=5))
    headers, body = wechat.notification_for(payment.out_trade_no, timestamp=stamp(clock.now()))

    # When: ten copies of the very same request at once
    results = in_threads(10, lambda i: wechatpay_notification_receive(headers=headers, body=body))

    # Then: one accepted, nine refused as replays
    assert kinds(results) == Counter({"Payment": 1, "NotificationRefused": 9})
    assert {r.reason for r in results if isinstance(r, NotificationRefused)} == {"replayed"}
    assert NotificationNonce.objects.count() == 1
    assert LedgerTransaction.objects.count() == 1
    placed.refresh_from_db()
    assert placed.status == OrderStatus.PAID


def test_five_operators_approving_one_refund_at_once_refund_it_once(
    wechat: FakeWeChatPay,
) -> None:
    # Given: a WeChat-paid order and a request for part of it back
    placed, payment = paid_at_wechat(wechat, goods(stock=5))
    headers, body = wechat.notification_for(payment.out_trade_no, timestamp=stamp(clock.now()))
    wechatpay_notification_receive(headers=headers, body=body)
    placed.refresh_from_db()
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="x")

    # When: five approvals at once (each runs the refund after its commit)
    results = in_threads(5, lambda i: after_sale_approve(case=case, actor_id=i + 1))

    # Then: one approval, four told it is decided; one refund here and at WeChat
    assert kinds(results) == Counter({"AfterSale": 1, "WrongState": 4})
    assert list(wechat.refunds) == [case.refund_no]
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 1_000

    # When: WeChat completes it
    wechat.complete_refund(case.refund_no)
    retried = in_threads(3, lambda i: refunds_retry())
    assert [r for r in retried if isinstance(r, Exception)] == []

    # Then
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    placed.refresh_from_db()
    assert placed.refunded_minor == 1_000
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    books_balanced()


# An order lapsing while its payment arrives


def test_orders_lapsing_while_their_payments_arrive_end_one_way_and_lose_no_unit(
    frozen_clock: Any,
) -> None:
    # Given: 12 units; 10 orders of one unit, each with a transfer started; 2 units left
    sku = goods(stock=12)
    placed = [order(sku) for _ in range(10)]
    payments = [order_pay_start(order=p) for p in placed]
    latecomers = [member() for _ in range(5)]
    frozen_clock.advance(timedelta(minutes=31))

    # When: at once, the expiry job runs, the ten transfers are confirmed, and five more
    # members try to buy
    def act(i: int) -> Any:
        if i == 0:
            return orders_expire()
        if i <= 10:
            payment = payments[i - 1]
            return payment_confirm_manual(payment=payment, amount_minor=payment.amount_minor)
        return buy(sku, latecomers[i - 11])

    results = in_threads(16, act)

    # Then: nothing failed but sold-out latecomers, every transfer counted once
    assert [r for r in results if isinstance(r, Exception) and not isinstance(r, OutOfStock)] == []
    assert all(r.status == PaymentStatus.SUCCEEDED for r in results[1:11])
    assert LedgerTransaction.objects.filter(kind="payment").count() == 10
    # Each order is paid and kept, or (its units gone) refunded in full
    outcomes: Counter[str] = Counter()
    for each in placed:
        each.refresh_from_db()
        outcomes[each.status] += 1
        if each.status == OrderStatus.REFUNDED:
            case = AfterSale.objects.get(order=each)
            assert (case.opened_by, case.status) == ("system", "refunded")
            assert each.stock == StockHold.RELEASED
        else:
            assert (each.status, each.stock) == (OrderStatus.PAID, StockHold.SOLD)
    assert set(outcomes) <= {OrderStatus.PAID, OrderStatus.REFUNDED}
    # And every unit is somewhere: on the shelf, held, or sold, never twice
    fresh = Sku.objects.get(pk=sku.pk)
    new_orders = sum(isinstance(r, Order) for r in results[11:])
    assert outcomes[OrderStatus.PAID] + new_orders + fresh.stock == 12
    assert fresh.reserved == new_orders
    assert units(sku) == 12
    books_balanced()


def test_one_order_lapsing_while_its_payment_arrives_is_consistent_every_time(
    frozen_clock: Any,
) -> None:
    # Given: ten orders, each about to be raced by its own expiry and its own payment
    sku = goods(stock=10)
    pairs = []
    for _ in range(10):
        each = order(sku)
        pairs.append((each, order_pay_start(order=each)))
    frozen_clock.advance(timedelta(minutes=31))
    cancel_at = clock.now()

    for each, payment in pairs:
        # When: the expiry and the confirmation in two threads at once
        def act(i: int, each: Order = each, payment: Payment = payment) -> Any:
            if i == 0:
                return orders_expire(now=cancel_at)
            return payment_confirm_manual(payment=payment, amount_minor=payment.amount_minor)

        results = in_threads(2, act)

        # Then: the payment counted; the order paid, its unit sold once
        assert not [r for r in results if isinstance(r, Exception)], results
        each.refresh_from_db()
        assert (each.status, each.stock) == (OrderStatus.PAID, StockHold.SOLD)
    assert units(sku) == 10
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (0, 0)
    books_balanced()
