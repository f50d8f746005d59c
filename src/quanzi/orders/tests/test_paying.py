"""Paying for an order: by transfer or WeChat Pay, applied once, delivered, and a payment
that arrives after its order lapsed either kept or refunded in full."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from quanzi.catalog.models import ProductKind, Sku
from quanzi.catalog.services.products import product_update
from quanzi.catalog.tests.factories import plan
from quanzi.communities.models import GroupMembership, Membership, MembershipStatus, SeatStatus
from quanzi.communities.tests.factories import group
from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind, LedgerEntry, LedgerTransaction
from quanzi.orders.models import AfterSale, Order, OrderStatus, PurchaseTally, StockHold
from quanzi.orders.services.aftersales import (
    after_sale_approve,
    after_sale_open,
    refundable_minor,
)
from quanzi.orders.services.checkout import LineIn, order_create, orders_expire
from quanzi.orders.services.paying import order_pay_start, order_payments, succeeded_payment
from quanzi.orders.tests.factories import (
    ADDRESS,
    books_balanced,
    buyer,
    community,
    goods,
    order,
    pay,
    running_fake,
    stamp,
    state,
    units,
    virtual,
)
from quanzi.payments.errors import AmountMismatch, PaymentError
from quanzi.payments.jobs import payments_reconcile
from quanzi.payments.models import NotificationNonce, Payment, PaymentStatus, Refund, RefundStatus
from quanzi.payments.services.notifications import (
    NotificationRefused,
    wechatpay_notification_receive,
)
from quanzi.payments.services.payments import payment_confirm_manual
from quanzi.payments.services.refunds import refunds_retry
from quanzi.payments.wechatpay import NotificationRejected
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = pytest.mark.django_db


def ledger_of(payment: Payment) -> list[tuple[str, str, int]]:
    """(kind, account code, amount) of every entry posted for the payment and its refunds."""
    refunds = [
        str(pk) for pk in Refund.objects.filter(payment=payment).values_list("pk", flat=True)
    ]
    entries = LedgerEntry.objects.filter(
        transaction__object_type="payment", transaction__object_id=str(payment.pk)
    ) | LedgerEntry.objects.filter(
        transaction__object_type="refund", transaction__object_id__in=refunds
    )
    return sorted(
        entries.values_list("transaction__kind", "account__code", "amount").order_by("pk")
    )


# Offline transfer, confirmed by an operator


def test_a_transfer_of_the_wrong_amount_is_refused_and_changes_nothing() -> None:
    # Given
    sku = goods(stock=5)
    placed = order(sku, quantity=2)
    payment = order_pay_start(order=placed)
    before = state()

    # When
    with pytest.raises(AmountMismatch) as refused:
        payment_confirm_manual(payment=payment, amount_minor=placed.total_minor - 1)

    # Then
    assert (refused.value.code, refused.value.status, list(refused.value.fields)) == (
        "amount_mismatch",
        422,
        ["amount_minor"],
    )
    assert state() == before


@pytest.mark.parametrize("amount", [0, -5, True, "11500"])
def test_a_nonsense_amount_is_refused(amount: Any) -> None:
    placed = order(goods())
    payment = order_pay_start(order=placed)
    before = state()
    with pytest.raises(PaymentError) as refused:
        payment_confirm_manual(payment=payment, amount_minor=amount)
    assert (refused.value.code, list(refused.value.fields)) == ("payment_invalid", ["amount_minor"])
    assert state() == before


def test_a_transfer_starts_with_instructions_and_the_reference_to_quote(settings: Any) -> None:
    # Given
    settings.QUANZI_MANUAL_PAYMENT_INSTRUCTIONS = "转账至 招商银行 6225 ... 备注订单号"
    placed = order(goods())

    # When
    payment = order_pay_start(order=placed)
    again = order_pay_start(order=placed)

    # Then: one payment for the order, its transfer instructions and reference
    assert again.pk == payment.pk
    assert payment.checkout == {
        "mode": "transfer",
        "instructions": "转账至 招商银行 6225 ... 备注订单号",
        "reference": f"{placed.number}-1",
    }
    assert (payment.amount_minor, payment.reference, payment.status) == (
        placed.total_minor,
        placed.number,
        PaymentStatus.CREATED,
    )
    assert order_payments(placed) == [payment]


def test_the_right_transfer_pays_the_order_sells_its_stock_and_posts_once() -> None:
    # Given: two kinds of goods, 2 + 1 units
    home = community()
    fish, tea = goods(home, stock=5, price_minor=5_000), goods(home, stock=5, price_minor=2_000)
    who = buyer()
    placed = order_create(
        member=who,
        community=home,
        lines=[LineIn(fish.product_id, 2, fish.pk), LineIn(tea.product_id, 1, tea.pk)],
        address=ADDRESS,
        channel="douyin",
    )
    payment = order_pay_start(order=placed)

    # When
    paid = payment_confirm_manual(payment=payment, amount_minor=placed.total_minor, note="招行")

    # Then: the order is paid and its units are gone from the shelf for good
    placed.refresh_from_db()
    assert (placed.status, placed.stock, placed.provider) == (
        OrderStatus.PAID,
        StockHold.SOLD,
        "manual",
    )
    assert placed.paid_at == paid.paid_at is not None
    assert [(s.stock, s.reserved) for s in Sku.objects.filter(pk__in=[fish.pk, tea.pk])] == [
        (3, 0),
        (4, 0),
    ]
    assert (paid.status, paid.transaction_id) == (PaymentStatus.SUCCEEDED, "manual:招行")
    assert succeeded_payment(placed) == paid
    # One ledger transaction: the money at the provider against the community's sales
    assert LedgerTransaction.objects.filter(kind="payment").count() == 1
    assert ledger_of(paid) == sorted(
        [
            ("payment", "payments:manual:clearing:CNY", placed.total_minor),
            ("payment", f"community:{home.pk}:sales:CNY", -placed.total_minor),
        ]
    )
    books_balanced()
    # A PAY activity for each line, with the line's amount
    lines = list(placed.lines.order_by("pk"))
    assert sorted(
        Activity.objects.filter(kind=ActivityKind.PAY, member_id=who.pk).values_list(
            "object_id", "amount_minor", "channel"
        )
    ) == sorted(
        [
            (str(fish.product_id), lines[0].total_minor, "douyin"),
            (str(tea.product_id), lines[1].total_minor, "douyin"),
        ]
    )


def test_confirming_twice_changes_the_order_once() -> None:
    # Given
    sku = goods(stock=5)
    placed = order(sku)
    payment = pay(placed)
    after_first = state()

    # When
    again = payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)

    # Then
    assert again.pk == payment.pk
    assert state() == after_first
    assert LedgerTransaction.objects.filter(kind="payment").count() == 1


def test_only_a_transfer_is_confirmed_by_hand(wechat: FakeWeChatPay) -> None:
    placed = order(goods())
    payment = order_pay_start(order=placed, provider="wechatpay")
    before = state()
    with pytest.raises(PaymentError) as refused:
        payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)
    assert list(refused.value.fields) == ["provider"]
    assert state() == before


# Virtual goods are delivered at payment


def test_a_paid_course_is_delivered_and_the_order_completed_at_once() -> None:
    # Given
    course = virtual(price_minor=9_900)
    placed = order_create(member=buyer(), community=course.community, lines=[LineIn(course.pk)])

    # When
    pay(placed)

    # Then
    placed.refresh_from_db()
    assert placed.status == OrderStatus.COMPLETED
    assert placed.paid_at == placed.delivered_at == placed.received_at is not None
    assert placed.lines.get().delivered_at == placed.paid_at


def test_a_paid_membership_product_activates_the_membership() -> None:
    # Given: an annual plan sold as a product
    home = community()
    annual = plan(home)
    card = virtual(home, kind=ProductKind.MEMBERSHIP, plan=annual, price_minor=annual.price_minor)
    who = buyer()
    placed = order_create(member=who, community=home, lines=[LineIn(card.pk)])

    # When
    pay(placed)

    # Then
    placed.refresh_from_db()
    membership = Membership.objects.get(member=who, plan=annual)
    assert membership.status == MembershipStatus.ACTIVE
    assert placed.paid_at is not None
    assert membership.ends_at == placed.paid_at + timedelta(days=365)
    assert placed.status == OrderStatus.COMPLETED
    # The membership's term records the payment (once)
    assert list(
        Activity.objects.filter(kind=ActivityKind.PAY, member_id=who.pk).values_list(
            "amount_minor", flat=True
        )
    ) == [annual.price_minor]


def test_a_product_that_grants_a_group_seats_the_buyer() -> None:
    # Given: a course with its study group
    home = community()
    study = group(home)
    course = virtual(home, grants_group=study)
    who = buyer()
    placed = order_create(member=who, community=home, lines=[LineIn(course.pk)])

    # When
    pay(placed)

    # Then
    seat = GroupMembership.objects.get(group=study, member=who)
    assert seat.status == SeatStatus.ACTIVE


def test_a_mixed_order_ships_its_goods_and_delivers_its_course_at_payment() -> None:
    # Given
    home = community()
    fish, course = goods(home), virtual(home)
    placed = order_create(
        member=buyer(),
        community=home,
        lines=[LineIn(fish.product_id, 1, fish.pk), LineIn(course.pk)],
        address=ADDRESS,
    )

    # When
    pay(placed)

    # Then
    placed.refresh_from_db()
    assert (placed.status, placed.delivered_at) == (OrderStatus.PAID, None)
    assert [(line.kind, line.delivered_at is not None) for line in placed.lines.order_by("pk")] == [
        ("physical", False),
        ("course", True),
    ]


def test_an_order_with_nothing_to_pay_is_delivered_at_once_without_a_payment() -> None:
    # Given: a free trial lesson
    home = community()
    trial = virtual(home, price_minor=0)
    study = group(home)
    product_update(product=trial, grants_group=study)
    who = buyer()

    # When
    placed = order_create(member=who, community=home, lines=[LineIn(trial.pk)])

    # Then: what the caller gets back is the completed order; no payment, no posting
    assert (placed.status, placed.total_minor) == (OrderStatus.COMPLETED, 0)
    assert placed.paid_at is not None
    assert Order.objects.get(pk=placed.pk).status == OrderStatus.COMPLETED
    assert not Payment.objects.exists()
    assert not LedgerTransaction.objects.exists()
    assert GroupMembership.objects.get(group=study, member=who).status == SeatStatus.ACTIVE


# A payment that arrives after its order lapsed


def test_a_late_payment_keeps_the_order_when_its_units_are_still_there(
    frozen_clock: Any,
) -> None:
    # Given: an order whose payment was started, then the order lapsed
    sku = goods(stock=3)
    placed = order(sku, quantity=2)
    payment = order_pay_start(order=placed)
    frozen_clock.advance(timedelta(minutes=31))
    assert orders_expire() == 1
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (3, 3)

    # When: the transfer is confirmed anyway
    payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)

    # Then: the units were taken again and the order is paid
    placed.refresh_from_db()
    fresh = Sku.objects.get(pk=sku.pk)
    assert (placed.status, placed.stock) == (OrderStatus.PAID, StockHold.SOLD)
    assert (fresh.stock, fresh.reserved, units(sku)) == (1, 0, 3)
    assert not AfterSale.objects.filter(order=placed).exists()
    assert Activity.objects.filter(
        object_id=placed.number, data__action="revived", data__payment=payment.out_trade_no
    ).exists()
    books_balanced()


def test_a_late_payment_is_refunded_in_full_when_the_units_are_gone(
    frozen_clock: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given: the order lapsed and someone else bought the last unit
    sku = goods(stock=1)
    placed = order(sku)
    payment = order_pay_start(order=placed)
    frozen_clock.advance(timedelta(minutes=31))
    orders_expire()
    pay(order(sku))
    assert units(sku) == 1

    # When: the lapsed order's transfer is confirmed
    with django_capture_on_commit_callbacks(execute=True):
        payment_confirm_manual(payment=payment, amount_minor=placed.total_minor)

    # Then: the money went back through a system after-sales case; no unit moved
    placed.refresh_from_db()
    case = AfterSale.objects.get(order=placed)
    refund = Refund.objects.get(payment=payment)
    assert (case.opened_by, case.status, case.restock, case.amount_minor) == (
        "system",
        "refunded",
        False,
        placed.total_minor,
    )
    assert (refund.status, refund.amount_minor, refund.out_refund_no) == (
        RefundStatus.SUCCEEDED,
        placed.total_minor,
        f"{placed.number}R1",
    )
    assert (placed.status, placed.refunded_minor, placed.stock) == (
        OrderStatus.REFUNDED,
        placed.total_minor,
        StockHold.RELEASED,
    )
    assert placed.paid_at is not None
    assert "sold out" in case.reason
    assert Payment.objects.get(pk=payment.pk).refunded_minor == placed.total_minor
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved, units(sku)) == (0, 0, 1)
    assert ledger_of(payment) == sorted(
        [
            ("payment", "payments:manual:clearing:CNY", placed.total_minor),
            ("payment", f"community:{placed.community_id}:sales:CNY", -placed.total_minor),
            ("refund", "payments:manual:clearing:CNY", -placed.total_minor),
            ("refund", f"community:{placed.community_id}:sales:CNY", placed.total_minor),
        ]
    )
    books_balanced()


def test_a_late_payment_is_refunded_when_keeping_it_would_pass_the_member_limit(
    frozen_clock: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given: at most 2 each; the member's first order lapsed, and they ordered 2 again
    sku = goods(stock=10, per_member_limit=2)
    who = buyer()
    lapsed = order(sku, who, 2)
    payment = order_pay_start(order=lapsed)
    frozen_clock.advance(timedelta(minutes=31))
    orders_expire()
    pay(order(sku, who, 2))

    # When: the first order's transfer is confirmed after all
    with django_capture_on_commit_callbacks(execute=True):
        payment_confirm_manual(payment=payment, amount_minor=lapsed.total_minor)

    # Then: keeping it would make 4; it is refunded in full instead
    lapsed.refresh_from_db()
    assert (lapsed.status, lapsed.stock, lapsed.refunded_minor) == (
        OrderStatus.REFUNDED,
        StockHold.RELEASED,
        lapsed.total_minor,
    )
    assert PurchaseTally.objects.get(member=who).quantity == 2
    assert units(sku) == 10
    assert Sku.objects.get(pk=sku.pk).stock == 8
    # and the member is told why: their limit, not a sell-out
    assert "limit" in AfterSale.objects.get(order=lapsed).reason


# WeChat Pay, through the real client against the fake over loopback


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChatPay]:
    with running_fake() as fake:
        yield fake


@pytest.fixture
def wechat(fake_server: FakeWeChatPay, settings: Any) -> FakeWeChatPay:
    fake_server.reset()
    settings.QUANZI_WECHATPAY_CONFIG = fake_server.config()
    return fake_server


def notify(fake: FakeWeChatPay, out_trade_no: str, **kwargs: Any) -> Any:
    headers, body = fake.notification_for(out_trade_no, timestamp=stamp(clock.now()), **kwargs)
    return wechatpay_notification_receive(headers=headers, body=body)


def notify_refund(fake: FakeWeChatPay, out_refund_no: str, **kwargs: Any) -> Any:
    headers, body = fake.refund_notification_for(
        out_refund_no, timestamp=stamp(clock.now()), **kwargs
    )
    return wechatpay_notification_receive(headers=headers, body=body)


def wechat_order(sku: Sku, quantity: int = 1) -> tuple[Order, Payment]:
    placed = order(sku, quantity=quantity, provider="wechatpay")
    return placed, order_pay_start(order=placed)


def test_a_native_payment_gives_a_qr_code_url_once(wechat: FakeWeChatPay) -> None:
    # Given
    placed = order(goods(), provider="wechatpay")

    # When
    payment = order_pay_start(order=placed)
    again = order_pay_start(order=placed)

    # Then: one WeChat order for the order's total, one code_url shown both times
    assert again.pk == payment.pk
    assert payment.checkout["mode"] == "native"
    assert payment.checkout["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert again.checkout == payment.checkout
    at_wechat = wechat.orders[payment.out_trade_no]
    assert (at_wechat["trade_state"], at_wechat["amount"]["total"]) == (
        "NOTPAY",
        placed.total_minor,
    )
    creates = [r for r in wechat.requests if r.path.startswith("/v3/pay/transactions/native")]
    assert len(creates) == 1


def test_a_jsapi_payment_needs_the_openid_and_gives_signed_parameters(
    wechat: FakeWeChatPay,
) -> None:
    placed = order(goods(), provider="wechatpay")
    with pytest.raises(PaymentError) as refused:
        order_pay_start(order=placed, mode="jsapi")
    assert list(refused.value.fields) == ["openid"]

    payment = order_pay_start(order=placed, mode="jsapi", payer_openid="oMember42")

    params = payment.checkout["jsapi"]
    assert payment.checkout["mode"] == "jsapi"
    assert params["package"].startswith("prepay_id=wx")
    assert {"appId", "timeStamp", "nonceStr", "signType", "paySign"} <= set(params)


def test_paying_at_wechat_and_its_notification_pay_the_order(wechat: FakeWeChatPay) -> None:
    # Given
    sku = goods(stock=5)
    placed, payment = wechat_order(sku, 2)

    # When: the member pays, WeChat notifies
    wechat.pay(payment.out_trade_no)
    applied = notify(wechat, payment.out_trade_no, nonce="N-PAID-1")

    # Then
    placed.refresh_from_db()
    assert applied == Payment.objects.get(pk=payment.pk)
    assert applied.status == PaymentStatus.SUCCEEDED
    assert applied.transaction_id == wechat.orders[payment.out_trade_no]["transaction_id"]
    assert (placed.status, placed.stock, placed.provider) == (
        OrderStatus.PAID,
        StockHold.SOLD,
        "wechatpay",
    )
    assert list(NotificationNonce.objects.values_list("nonce", flat=True)) == ["N-PAID-1"]
    assert ledger_of(applied) == sorted(
        [
            ("payment", "payments:wechatpay:clearing:CNY", placed.total_minor),
            ("payment", f"community:{placed.community_id}:sales:CNY", -placed.total_minor),
        ]
    )


def test_a_notification_wechat_sends_again_changes_nothing_more(wechat: FakeWeChatPay) -> None:
    # Given: paid and notified
    _placed, payment = wechat_order(goods())
    wechat.pay(payment.out_trade_no)
    notify(wechat, payment.out_trade_no)
    after_first = state()

    # When: WeChat retries with a fresh nonce, and someone replays the first one
    notify(wechat, payment.out_trade_no, nonce="RETRY-2")

    # Then: only the new nonce is remembered
    assert NotificationNonce.objects.count() == after_first.nonces + 1
    assert LedgerTransaction.objects.count() == after_first.ledger
    assert state().orders == after_first.orders


def test_a_missed_notification_is_recovered_by_reconciliation(
    wechat: FakeWeChatPay, frozen_clock: Any
) -> None:
    # Given: paid at WeChat, notification lost
    placed, payment = wechat_order(goods())
    wechat.pay(payment.out_trade_no)

    # When: reconciliation runs before the payment is a minute old, then after
    assert payments_reconcile() == 0
    frozen_clock.advance(timedelta(minutes=2))
    recovered = payments_reconcile()

    # Then
    placed.refresh_from_db()
    assert recovered == 1
    assert placed.status == OrderStatus.PAID
    assert (
        Payment.objects.get(pk=payment.pk).transaction_id
        == (wechat.orders[payment.out_trade_no]["transaction_id"])
    )
    # The notification arriving after all changes nothing more
    before = state()
    notify(wechat, payment.out_trade_no)
    assert (state().ledger, state().orders) == (before.ledger, before.orders)


def test_an_expired_order_is_closed_at_wechat(wechat: FakeWeChatPay, frozen_clock: Any) -> None:
    # Given
    sku = goods(stock=2)
    placed, payment = wechat_order(sku)

    # When
    frozen_clock.advance(timedelta(minutes=31))
    assert orders_expire() == 1

    # Then
    assert wechat.orders[payment.out_trade_no]["trade_state"] == "CLOSED"
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CLOSED
    placed.refresh_from_db()
    assert placed.status == OrderStatus.CANCELLED
    assert Sku.objects.get(pk=sku.pk).stock == 2


def test_an_order_paid_at_wechat_just_before_it_lapsed_is_kept(
    wechat: FakeWeChatPay, frozen_clock: Any
) -> None:
    # Given: paid at WeChat, the notification not yet in when the expiry job runs
    sku = goods(stock=2)
    placed, payment = wechat_order(sku)
    wechat.pay(payment.out_trade_no)

    # When
    frozen_clock.advance(timedelta(minutes=31))
    lapsed = orders_expire()

    # Then: closing was refused (ORDERPAID), the payment applied instead, the order kept
    placed.refresh_from_db()
    assert lapsed == 0
    assert (placed.status, placed.stock) == (OrderStatus.PAID, StockHold.SOLD)
    assert wechat.orders[payment.out_trade_no]["trade_state"] == "SUCCESS"
    assert (Sku.objects.get(pk=sku.pk).stock, units(sku)) == (1, 2)


def test_a_second_payment_for_a_paid_order_is_refunded_whole(
    wechat: FakeWeChatPay, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given: a transfer and a WeChat payment both started; the transfer is confirmed first
    placed = order(goods())
    transfer = order_pay_start(order=placed, provider="manual")
    online = order_pay_start(order=placed, provider="wechatpay")
    payment_confirm_manual(payment=transfer, amount_minor=placed.total_minor)

    # When: the member pays at WeChat too
    wechat.pay(online.out_trade_no)
    with django_capture_on_commit_callbacks(execute=True):
        notify(wechat, online.out_trade_no)

    # Then: the WeChat payment is being refunded whole, the order stays paid
    case = AfterSale.objects.get(order=placed)
    assert (case.opened_by, case.extra_payment, case.payment_id, case.amount_minor) == (
        "system",
        True,
        online.pk,
        placed.total_minor,
    )
    assert wechat.refunds[case.refund_no]["amount"]["refund"] == placed.total_minor

    # When: WeChat finishes the refund and says so
    wechat.complete_refund(case.refund_no)
    notify_refund(wechat, case.refund_no)

    # Then: the order is untouched by it
    placed.refresh_from_db()
    case.refresh_from_db()
    assert case.status == "refunded"
    assert (placed.status, placed.refunded_minor) == (OrderStatus.PAID, 0)
    assert Payment.objects.get(pk=online.pk).refunded_minor == placed.total_minor
    books_balanced()


def wechat_paid(fake: FakeWeChatPay, sku: Sku, quantity: int = 1) -> Order:
    placed, payment = wechat_order(sku, quantity)
    fake.pay(payment.out_trade_no)
    notify(fake, payment.out_trade_no)
    placed.refresh_from_db()
    return placed


@pytest.mark.parametrize("told_by", ["query", "notification"])
def test_an_approved_refund_goes_back_through_wechat(
    wechat: FakeWeChatPay, django_capture_on_commit_callbacks: Callable[..., Any], told_by: str
) -> None:
    # Given: paid through WeChat; the member asks 20.00 back
    sku = goods(stock=5)
    placed = wechat_paid(wechat, sku, 2)
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=2_000, reason="x")

    # When: approved
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case, actor_id=7)

    # Then: WeChat is processing it under the case's number; nothing counted yet
    number = f"{placed.number}R1"
    assert wechat.refunds[number]["status"] == "PROCESSING"
    assert wechat.refunds[number]["amount"]["refund"] == 2_000
    refund = Refund.objects.get()
    assert (refund.out_refund_no, refund.status) == (number, RefundStatus.PROCESSING)
    case.refresh_from_db()
    placed.refresh_from_db()
    assert (case.status, placed.refunded_minor) == ("refunding", 0)

    # When: WeChat finishes it; the hub hears by asking, or by WeChat telling
    wechat.complete_refund(number)
    if told_by == "query":
        assert refunds_retry() == 1
    else:
        notify_refund(wechat, number)

    # Then
    case.refresh_from_db()
    placed.refresh_from_db()
    assert case.status == "refunded"
    assert (placed.status, placed.refunded_minor) == (OrderStatus.PAID, 2_000)
    assert (
        Activity.objects.filter(
            kind=ActivityKind.REFUND, object_id=placed.number, amount_minor=2_000
        ).count()
        == 1
    )
    # Hearing the other way too changes nothing more
    refunds_retry()
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    books_balanced()


def test_a_refund_approved_while_wechat_is_down_is_finished_later_as_one_refund(
    wechat: FakeWeChatPay, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given: paid through WeChat; WeChat fails the next three requests
    sku = goods(stock=5)
    placed = wechat_paid(wechat, sku)
    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=placed.total_minor, reason="x"
    )
    wechat.fail_next(3)

    # When: approved while WeChat is down
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case)

    # Then: the refund waits, processing, its amount held against the payment
    refund = Refund.objects.get()
    assert (refund.status, refund.out_refund_no) == (RefundStatus.PROCESSING, case.refund_no)
    assert refund.failure
    assert not wechat.refunds
    assert refundable_minor(placed) == 0

    # When: the job runs until WeChat answers, and WeChat completes the refund
    for _ in range(3):
        refunds_retry()
    wechat.complete_refund(case.refund_no)
    refunds_retry()

    # Then: one refund, at WeChat and here, under the first number; the order refunded
    assert list(wechat.refunds) == [case.refund_no]
    assert Refund.objects.count() == 1
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    placed.refresh_from_db()
    assert (placed.status, placed.refunded_minor) == (OrderStatus.REFUNDED, placed.total_minor)
    assert Sku.objects.get(pk=sku.pk).stock == 5
    books_balanced()


def test_a_refund_wechat_closes_goes_back_to_the_queue_under_a_new_number(
    wechat: FakeWeChatPay, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given: an approved refund that WeChat Pay then reports as ABNORMAL (the member's bank
    # account is closed, say)
    placed = wechat_paid(wechat, goods(stock=5))
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case)
    first = case.refund_no
    wechat.complete_refund(first, status="ABNORMAL")

    # When: the hub hears of it
    notify_refund(wechat, first, event_type="REFUND.ABNORMAL")

    # Then: the case waits for the operator again, under a new number, saying why; nothing
    # refunded and the amount free again
    case.refresh_from_db()
    placed.refresh_from_db()
    assert case.status == "requested"
    assert case.refund_no == f"{placed.number}R2"
    assert first in case.decision_note
    assert Refund.objects.get(out_refund_no=first).status == RefundStatus.FAILED
    assert placed.refunded_minor == 0

    # When: approved again and completed by WeChat
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case)
    wechat.complete_refund(case.refund_no)
    refunds_retry()

    # Then: refunded once, under the second number; a new case takes the third
    case.refresh_from_db()
    placed.refresh_from_db()
    assert case.status == "refunded"
    assert placed.refunded_minor == 1_000
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 1
    again = after_sale_open(order=placed, kind="refund_only", amount_minor=500, reason="y")
    assert again.refund_no == f"{placed.number}R3"
    books_balanced()


def test_after_a_double_payment_a_refund_comes_from_the_payment_that_paid(
    wechat: FakeWeChatPay, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given: a transfer started first, then WeChat Pay; the member pays at WeChat, and the
    # operator confirms the transfer afterwards: the transfer is the second payment
    placed = order(goods(stock=5))
    transfer = order_pay_start(order=placed, provider="manual")
    online = order_pay_start(order=placed, provider="wechatpay")
    wechat.pay(online.out_trade_no)
    notify(wechat, online.out_trade_no)
    with django_capture_on_commit_callbacks(execute=True):
        payment_confirm_manual(payment=transfer, amount_minor=placed.total_minor)
    extra = AfterSale.objects.get(order=placed)
    assert (extra.payment_id, extra.extra_payment, extra.status) == (transfer.pk, True, "refunded")

    # When: the member asks for part of the money back
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        after_sale_approve(case=case)

    # Then: it is refunded from the WeChat payment that paid the order
    refund = Refund.objects.get(out_refund_no=case.refund_no)
    assert refund.payment_id == online.pk
    assert wechat.refunds[case.refund_no]["amount"]["refund"] == 1_000


# Notifications that must change nothing


def flip_ciphertext(envelope: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    raw[5] ^= 0x01
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()


def resigned(fake: FakeWeChatPay, body: bytes, change: Callable[[dict[str, Any]], None]) -> Any:
    envelope = json.loads(body)
    change(envelope)
    new_body = json.dumps(envelope, ensure_ascii=False).encode()
    return fake.sign_notification(new_body, timestamp=stamp(clock.now())), new_body


BAD_NOTIFICATIONS: dict[str, tuple[str, Callable[[FakeWeChatPay, str], Any]]] = {
    "tampered body": (
        "bad_signature",
        lambda fake, no: (
            (h := fake.notification_for(no, timestamp=stamp(clock.now())))[0],
            h[1].replace(b'"event_type"', b'"event_type" '),
        ),
    ),
    "flipped ciphertext byte": (
        "decrypt_failed",
        lambda fake, no: resigned(fake, fake.notification_for(no)[1], flip_ciphertext),
    ),
    "wrong amount": (
        "amount_mismatch",
        lambda fake, no: fake.notification_for(
            no,
            timestamp=stamp(clock.now()),
            resource_overrides={"amount": {"total": 1, "payer_total": 1, "currency": "CNY"}},
        ),
    ),
    "stale timestamp": (
        "stale",
        lambda fake, no: fake.notification_for(no, timestamp=stamp(clock.now()) - 301),
    ),
    "wrong mchid": (
        "wrong_merchant",
        lambda fake, no: fake.notification_for(
            no, timestamp=stamp(clock.now()), resource_overrides={"mchid": "1900009999"}
        ),
    ),
    "wrong appid": (
        "wrong_merchant",
        lambda fake, no: fake.notification_for(
            no, timestamp=stamp(clock.now()), resource_overrides={"appid": "wx9999999999999999"}
        ),
    ),
    "unknown payment": (
        "unknown_payment",
        lambda fake, no: fake.notification_for(
            no, timestamp=stamp(clock.now()), resource_overrides={"out_trade_no": "Q0000000000-1"}
        ),
    ),
}


@pytest.mark.parametrize("case", list(BAD_NOTIFICATIONS))
def test_a_bad_notification_is_rejected_and_the_order_stays_pending(
    wechat: FakeWeChatPay, case: str
) -> None:
    # Given: an order paid at WeChat, its notification not yet in
    placed, payment = wechat_order(goods())
    wechat.pay(payment.out_trade_no)
    reason, make = BAD_NOTIFICATIONS[case]
    headers, body = make(wechat, payment.out_trade_no)
    before = state()

    # When
    with pytest.raises((NotificationRejected, NotificationRefused)) as rejected:
        wechatpay_notification_receive(headers=headers, body=body)

    # Then: a 400 naming why; nothing stored, not even the nonce
    assert (
        rejected.value.code,
        rejected.value.status,
        getattr(rejected.value, "reason", None),
    ) == (
        "notification_rejected",
        400,
        reason,
    )
    assert state() == before
    assert NotificationNonce.objects.count() == 0
    placed.refresh_from_db()
    assert placed.status == OrderStatus.PENDING


def test_a_replayed_nonce_is_refused_and_changes_nothing(wechat: FakeWeChatPay) -> None:
    # Given: the notification was taken once
    _placed, payment = wechat_order(goods())
    wechat.pay(payment.out_trade_no)
    headers, body = wechat.notification_for(payment.out_trade_no, timestamp=stamp(clock.now()))
    wechatpay_notification_receive(headers=headers, body=body)
    after_first = state()

    # When: the same request comes again
    with pytest.raises(NotificationRefused) as rejected:
        wechatpay_notification_receive(headers=headers, body=body)

    # Then
    assert rejected.value.reason == "replayed"
    assert state() == after_first
