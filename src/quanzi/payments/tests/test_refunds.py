"""Refunds: reserved against the payment so no more than was paid goes back, paid out by the
provider under one number however often it is asked, settled once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community, member
from quanzi.core import clock, selectors
from quanzi.core.errors import Conflict
from quanzi.core.models import LedgerTransaction
from quanzi.payments.errors import OverRefund, PaymentError
from quanzi.payments.models import Payment, Refund, RefundStatus
from quanzi.payments.services.notifications import wechatpay_notification_receive
from quanzi.payments.services.payments import payment_confirm_manual, payment_start
from quanzi.payments.services.refunds import refund_start, refunds_retry
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = pytest.mark.django_db

_refs = itertools.count(1)


def paid(
    provider: str = "manual", amount: int = 10_000, fake: FakeWeChatPay | None = None
) -> Payment:
    payment = payment_start(
        community_id=community().pk,
        member_id=member().pk,
        reference=f"R{next(_refs):09d}",
        amount_minor=amount,
        currency="CNY",
        description="带鱼 2斤",
        provider=provider,
        expires_at=clock.now() + timedelta(minutes=30),
        mode="transfer" if provider == "manual" else "native",
    )
    if provider == "manual":
        return payment_confirm_manual(payment=payment, amount_minor=amount)
    assert fake is not None
    fake.pay(payment.out_trade_no)
    headers, body = fake.notification_for(
        payment.out_trade_no, timestamp=int(clock.now().timestamp())
    )
    result = wechatpay_notification_receive(headers=headers, body=body)
    assert isinstance(result, Payment)
    return result


def refund(payment: Payment, amount: int, number: str = "", **kwargs: Any) -> Refund:
    return refund_start(
        payment=payment,
        amount_minor=amount,
        out_refund_no=number or f"{payment.reference}R1",
        reference=number or f"{payment.reference}R1",
        reason=kwargs.pop("reason", "spoiled"),
        **kwargs,
    )


def snapshot() -> tuple[Any, ...]:
    return (
        list(Payment.objects.order_by("pk").values_list("pk", "status", "refunded_minor")),
        list(Refund.objects.order_by("pk").values_list("pk", "status", "amount_minor")),
        LedgerTransaction.objects.count(),
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


# Manual


def test_a_transfer_refund_is_recorded_at_once_and_reverses_the_posting() -> None:
    # Given
    payment = paid(amount=10_000)

    # When
    done = refund(payment, 3_000, actor_id=9)

    # Then
    assert (done.status, done.amount_minor, done.actor_id) == (RefundStatus.SUCCEEDED, 3_000, 9)
    assert done.succeeded_at is not None
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 3_000
    txn = LedgerTransaction.objects.get(kind="refund")
    assert sorted(txn.entries.values_list("account__code", "amount")) == sorted(
        [
            (f"community:{payment.community_id}:sales:CNY", 3_000),
            ("payments:manual:clearing:CNY", -3_000),
        ]
    )
    books_balanced()


def test_no_more_than_was_paid_goes_back() -> None:
    # Given: 100.00 paid, 70.00 refunded
    payment = paid(amount=10_000)
    refund(payment, 7_000, "N1")
    before = snapshot()

    # When / Then
    with pytest.raises(OverRefund) as refused:
        refund(payment, 3_001, "N2")
    assert (refused.value.code, refused.value.status, list(refused.value.fields)) == (
        "over_refund",
        409,
        ["amount_minor"],
    )
    assert "30.00" in refused.value.message
    assert snapshot() == before

    # And the rest may go back
    refund(payment, 3_000, "N3")
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 10_000


def test_the_same_number_is_the_same_refund() -> None:
    payment = paid(amount=10_000)
    first = refund(payment, 2_000, "SAME-1")
    again = refund(payment, 2_000, "SAME-1")
    assert again.pk == first.pk
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 2_000
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        refund(payment, 2_500, "SAME-1")
    assert list(refused.value.fields) == ["out_refund_no"]
    assert snapshot() == before


def test_an_unpaid_payment_cannot_be_refunded() -> None:
    payment = payment_start(
        community_id=community().pk,
        member_id=member().pk,
        reference="R-UNPAID-1",
        amount_minor=100,
        currency="CNY",
        description="x",
        provider="manual",
        expires_at=clock.now() + timedelta(minutes=30),
        mode="transfer",
    )
    before = snapshot()
    with pytest.raises(Conflict):
        refund(payment, 100)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("amount", "number", "field"),
    [
        (0, "X1", "amount_minor"),
        (-1, "X1", "amount_minor"),
        (True, "X1", "amount_minor"),
        (100, "", "out_refund_no"),
        (100, "x" * 65, "out_refund_no"),
    ],
)
def test_nonsense_is_refused(amount: Any, number: str, field: str) -> None:
    payment = paid()
    before = snapshot()
    with pytest.raises(PaymentError) as refused:
        refund_start(
            payment=payment, amount_minor=amount, out_refund_no=number, reference="x", reason="x"
        )
    assert list(refused.value.fields) == [field]
    assert snapshot() == before


# WeChat Pay


def test_a_wechat_refund_processes_then_succeeds_by_query(wechat: FakeWeChatPay) -> None:
    # Given
    payment = paid("wechatpay", 8_800, wechat)

    # When
    started = refund(payment, 1_100, "W-QUERY-1", reason="少了一条")

    # Then: WeChat took it and is processing it
    assert started.status == RefundStatus.PROCESSING
    at_wechat = wechat.refunds["W-QUERY-1"]
    assert (at_wechat["status"], at_wechat["amount"]["refund"]) == ("PROCESSING", 1_100)
    assert Refund.objects.get().provider_refund_id == at_wechat["refund_id"]
    assert not LedgerTransaction.objects.filter(kind="refund").exists()
    assert refunds_retry() == 0

    # When: WeChat finishes it and the job asks
    wechat.complete_refund("W-QUERY-1")
    assert refunds_retry() == 1

    # Then
    done = Refund.objects.get()
    assert done.status == RefundStatus.SUCCEEDED
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 1_100
    assert refunds_retry() == 0
    books_balanced()


def test_a_wechat_refund_succeeds_by_its_notification(wechat: FakeWeChatPay) -> None:
    payment = paid("wechatpay", 8_800, wechat)
    refund(payment, 8_800, "W-NOTE-1")
    wechat.complete_refund("W-NOTE-1")
    headers, body = wechat.refund_notification_for(
        "W-NOTE-1", timestamp=int(clock.now().timestamp())
    )

    settled = wechatpay_notification_receive(headers=headers, body=body)

    assert isinstance(settled, Refund)
    assert settled.status == RefundStatus.SUCCEEDED
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    # The job asking afterwards changes nothing more
    assert refunds_retry() == 0
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1


def test_a_refund_wechat_closes_gives_the_amount_back_to_refund_again(
    wechat: FakeWeChatPay,
) -> None:
    payment = paid("wechatpay", 8_800, wechat)
    refund(payment, 5_000, "W-CLOSED-1")
    wechat.complete_refund("W-CLOSED-1", status="CLOSED")
    headers, body = wechat.refund_notification_for(
        "W-CLOSED-1", timestamp=int(clock.now().timestamp())
    )

    settled = wechatpay_notification_receive(headers=headers, body=body)

    assert isinstance(settled, Refund)
    assert (settled.status, settled.failure) == (RefundStatus.FAILED, "REFUND.CLOSED")
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 0
    assert not LedgerTransaction.objects.filter(kind="refund").exists()
    assert refund(payment, 8_800, "W-CLOSED-2").status == RefundStatus.PROCESSING


@pytest.mark.parametrize("after_processing", [False, True])
def test_an_unreachable_wechat_leaves_the_refund_to_the_job_under_the_same_number(
    wechat: FakeWeChatPay, after_processing: bool
) -> None:
    # Given: WeChat fails the next three requests (with after_processing: it acted on the
    # first, but its answer was lost)
    payment = paid("wechatpay", 8_800, wechat)
    wechat.fail_next(3, after_processing=after_processing)

    # When
    started = refund(payment, 8_800, "W-DOWN-1")

    # Then: still processing, the failure noted
    assert started.status == RefundStatus.PROCESSING
    assert "SYSTEM_ERROR" in Refund.objects.get().failure
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 8_800

    # When: the job runs while WeChat is down, then after
    assert refunds_retry() == 0
    assert refunds_retry() == 0
    refunds_retry()
    if wechat.refunds["W-DOWN-1"]["status"] == "PROCESSING":
        wechat.complete_refund("W-DOWN-1")
    refunds_retry()

    # Then: one refund at WeChat and here, under the first number
    assert list(wechat.refunds) == ["W-DOWN-1"]
    done = Refund.objects.get()
    assert (done.out_refund_no, done.status, done.failure) == (
        "W-DOWN-1",
        RefundStatus.SUCCEEDED,
        "",
    )
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    books_balanced()


def test_a_merchant_short_of_balance_gets_the_refund_retried_once_topped_up(
    wechat: FakeWeChatPay,
) -> None:
    # Given: the merchant's WeChat balance is empty
    payment = paid("wechatpay", 8_800, wechat)
    wechat.set_balance(0)

    # When
    short = refund(payment, 1_000, "W-POOR-1")

    # Then: WeChat refused (NOT_ENOUGH); the refund waits, its amount still held
    assert short.status == RefundStatus.PROCESSING
    assert "NOT_ENOUGH" in Refund.objects.get().failure
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 1_000
    assert not wechat.refunds
    assert refunds_retry() == 0

    # When: the merchant tops up, and the job runs
    wechat.set_balance(None)
    refunds_retry()
    wechat.complete_refund("W-POOR-1")
    assert refunds_retry() == 1

    # Then
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert list(wechat.refunds) == ["W-POOR-1"]
