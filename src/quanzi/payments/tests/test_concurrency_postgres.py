"""Payments and refunds under real concurrency (PostgreSQL only, real threads).

Confirmations, notifications and refunds arriving at once each change the money once, and
refunds racing each other never add up to more than was paid.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community, member
from quanzi.core import clock, selectors
from quanzi.core.models import LedgerTransaction
from quanzi.members.tests.factories import in_threads
from quanzi.payments.models import NotificationNonce, Payment, PaymentStatus, Refund, RefundStatus
from quanzi.payments.services.notifications import wechatpay_notification_receive
from quanzi.payments.services.payments import payment_confirm_manual, payment_start
from quanzi.payments.services.refunds import refund_start, refunds_retry
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_refs = itertools.count(1)


def kinds(results: list[Any]) -> Counter[str]:
    return Counter(type(r).__name__ for r in results)


def start(provider: str = "manual", amount: int = 10_000) -> Payment:
    return payment_start(
        community_id=community().pk,
        member_id=member().pk,
        reference=f"C{next(_refs):09d}",
        amount_minor=amount,
        currency="CNY",
        description="会员年费",
        provider=provider,
        expires_at=clock.now() + timedelta(minutes=30),
        mode="transfer" if provider == "manual" else "native",
    )


def books_balanced() -> None:
    assert selectors.ledger_unbalanced_transactions() == []
    assert selectors.ledger_drift() == []


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay() as fake:
        yield fake


@pytest.fixture
def wechat(fake_server: FakeWeChatPay, settings: Any) -> FakeWeChatPay:
    fake_server.reset()
    settings.QUANZI_WECHATPAY_CONFIG = fake_server.config()
    return fake_server


def test_ten_operators_confirming_one_transfer_post_it_once() -> None:
    payment = start(amount=12_300)

    results = in_threads(
        10, lambda i: payment_confirm_manual(payment=payment, amount_minor=12_300, actor_id=i)
    )

    assert kinds(results) == Counter({"Payment": 10})
    assert {r.paid_at for r in results} == {Payment.objects.get(pk=payment.pk).paid_at}
    assert LedgerTransaction.objects.count() == 1
    books_balanced()


def test_a_payment_notification_and_reconciliation_at_once_pay_once(
    wechat: FakeWeChatPay,
) -> None:
    # Given: paid at WeChat; ten copies of the notification with their own nonces
    payment = start("wechatpay", 8_800)
    wechat.pay(payment.out_trade_no)
    stamp = int(clock.now().timestamp())
    copies = [
        wechat.notification_for(payment.out_trade_no, nonce=f"P{i}", timestamp=stamp)
        for i in range(10)
    ]

    # When
    results = in_threads(
        10, lambda i: wechatpay_notification_receive(headers=copies[i][0], body=copies[i][1])
    )

    # Then
    assert kinds(results) == Counter({"Payment": 10})
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert NotificationNonce.objects.count() == 10
    assert LedgerTransaction.objects.count() == 1


def test_refunds_racing_each_other_never_pass_what_was_paid() -> None:
    # Given: 100.00 paid
    payment = start(amount=10_000)
    payment_confirm_manual(payment=payment, amount_minor=10_000)

    # When: twelve refunds of 15.00 at once (180.00 asked)
    results = in_threads(
        12,
        lambda i: refund_start(
            payment=payment,
            amount_minor=1_500,
            out_refund_no=f"{payment.reference}R{i + 1}",
            reference="race",
            reason="x",
        ),
    )

    # Then: six went through, six were refused as over-refunds
    assert kinds(results) == Counter({"Refund": 6, "OverRefund": 6})
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 9_000
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 6
    assert LedgerTransaction.objects.filter(kind="refund").count() == 6
    books_balanced()


def test_one_refund_number_started_at_once_is_one_refund_at_wechat(
    wechat: FakeWeChatPay,
) -> None:
    # Given: a WeChat payment
    payment = start("wechatpay", 8_800)
    wechat.pay(payment.out_trade_no)
    headers, body = wechat.notification_for(
        payment.out_trade_no, timestamp=int(clock.now().timestamp())
    )
    wechatpay_notification_receive(headers=headers, body=body)

    # When: the same refund started five times at once (a retry racing the first try)
    results = in_threads(
        5,
        lambda i: refund_start(
            payment=payment,
            amount_minor=3_000,
            out_refund_no="ONE-REFUND-1",
            reference="x",
            reason="x",
        ),
    )

    # Then: whoever lost the race was told to try again; one refund here and at WeChat
    assert set(kinds(results)) <= {"Refund", "Conflict"}
    assert kinds(results)["Refund"] >= 1
    assert list(wechat.refunds) == ["ONE-REFUND-1"]
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 3_000

    # When: WeChat completes it and three jobs ask at once
    wechat.complete_refund("ONE-REFUND-1")
    retried = in_threads(3, lambda i: refunds_retry())

    # Then
    assert [r for r in retried if isinstance(r, Exception)] == []
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    books_balanced()


def test_a_full_refund_started_twice_at_once_is_one_refund_and_no_error() -> None:
    # Given: 100.00 paid by transfer
    payment = start(amount=10_000)
    payment_confirm_manual(payment=payment, amount_minor=10_000)

    # When: the whole amount, under one number, from the approval and the job at once
    results = in_threads(
        6,
        lambda i: refund_start(
            payment=payment,
            amount_minor=10_000,
            out_refund_no="FULL-1",
            reference="x",
            reason="x",
        ),
    )

    # Then: nobody is told the payment is over-refunded; one refund
    assert "OverRefund" not in kinds(results), results
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 10_000
