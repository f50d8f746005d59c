"""Payments: started once per reference and provider, confirmed once with the amount checked,
reconciled with the provider, closed so no money is taken after the fact."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community, member
from quanzi.core import clock, selectors
from quanzi.core.errors import Conflict
from quanzi.core.models import LedgerEntry, LedgerTransaction
from quanzi.payments.errors import AmountMismatch, PaymentError
from quanzi.payments.jobs import payments_reconcile
from quanzi.payments.models import Payment, PaymentStatus
from quanzi.payments.services.payments import (
    payment_close,
    payment_confirm_manual,
    payment_reconcile,
    payment_start,
)
from quanzi.payments.wechatpay import ProviderError, WeChatPayClient
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = pytest.mark.django_db

_refs = itertools.count(1)


def start(provider: str = "manual", amount: int = 8_800, **kwargs: Any) -> Payment:
    """A payment for a reference that is no order (the payments app knows no orders)."""
    home = kwargs.pop("home", None) or community()
    kwargs.setdefault("reference", f"T{next(_refs):09d}")
    kwargs.setdefault("mode", "transfer" if provider == "manual" else "native")
    return payment_start(
        community_id=home.pk,
        member_id=member().pk,
        amount_minor=amount,
        currency="CNY",
        description="会员年费",
        provider=provider,
        expires_at=clock.now() + timedelta(minutes=30),
        **kwargs,
    )


def snapshot() -> tuple[list[tuple[Any, ...]], int]:
    return (
        list(
            Payment.objects.order_by("pk").values_list(
                "pk", "status", "paid_at", "transaction_id", "checkout"
            )
        ),
        LedgerTransaction.objects.count(),
    )


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay() as fake:
        yield fake


@pytest.fixture
def wechat(fake_server: FakeWeChatPay, settings: Any) -> FakeWeChatPay:
    fake_server.reset()
    settings.QUANZI_WECHATPAY_CONFIG = fake_server.config()
    return fake_server


# Starting


def test_a_payment_is_started_once_per_reference_and_provider() -> None:
    # Given
    home = community()
    first = start(home=home, reference="T-ONCE-001")

    # When
    again = payment_start(
        community_id=home.pk,
        member_id=first.member_id,
        reference="T-ONCE-001",
        amount_minor=8_800,
        currency="CNY",
        description="会员年费",
        provider="manual",
        expires_at=clock.now() + timedelta(minutes=30),
        mode="transfer",
    )

    # Then
    assert again.pk == first.pk
    assert (first.out_trade_no, first.status, first.checkout["reference"]) == (
        "T-ONCE-001-1",
        PaymentStatus.CREATED,
        "T-ONCE-001-1",
    )
    assert Payment.objects.count() == 1


def test_a_changed_amount_is_refused_while_the_first_payment_is_open() -> None:
    first = start(reference="T-AMOUNT-01")
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        start(reference="T-AMOUNT-01", amount=9_900)
    assert list(refused.value.fields) == ["amount_minor"]
    assert snapshot() == before
    assert Payment.objects.get().pk == first.pk


def test_after_a_payment_closes_the_next_one_gets_a_new_number() -> None:
    first = start(reference="T-AGAIN-01")
    payment_close(payment=first)
    second = start(reference="T-AGAIN-01")
    assert (first.out_trade_no, second.out_trade_no) == ("T-AGAIN-01-1", "T-AGAIN-01-2")
    assert Payment.objects.get(pk=first.pk).status == PaymentStatus.CLOSED


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"provider": "alipay"}, "provider"), ({"mode": "h5"}, "mode")],
)
def test_an_unknown_provider_or_mode_is_refused(kwargs: dict[str, Any], field: str) -> None:
    home = community()
    before = snapshot()
    with pytest.raises(PaymentError) as refused:
        start(home=home, **kwargs)
    assert list(refused.value.fields) == [field]
    assert snapshot() == before


def test_wechat_pay_not_set_up_is_refused_before_anything_is_written(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.QUANZI_WECHATPAY_CONFIG = None
    monkeypatch.delenv("QUANZI_WECHATPAY_MCHID", raising=False)
    home = community()
    before = snapshot()
    with pytest.raises(PaymentError) as refused:
        start("wechatpay", home=home)
    assert list(refused.value.fields) == ["provider"]
    assert snapshot() == before


# Confirming a transfer


def test_a_confirmed_transfer_posts_the_money_once() -> None:
    # Given
    home = community()
    payment = start(home=home, amount=12_300)

    # When
    done = payment_confirm_manual(
        payment=payment, amount_minor=12_300, note="  招行 0412 ", actor_id=3
    )
    again = payment_confirm_manual(payment=payment, amount_minor=12_300)

    # Then
    assert (done.status, done.transaction_id, done.confirmed_by_id) == (
        PaymentStatus.SUCCEEDED,
        "manual:招行 0412",
        3,
    )
    assert done.paid_at is not None
    assert again.paid_at == done.paid_at
    txn = LedgerTransaction.objects.get()
    assert (txn.kind, txn.memo, txn.actor_id, txn.object_id) == (
        "payment",
        payment.reference,
        3,
        str(payment.pk),
    )
    assert sorted(txn.entries.values_list("account__code", "amount")) == sorted(
        [("payments:manual:clearing:CNY", 12_300), (f"community:{home.pk}:sales:CNY", -12_300)]
    )
    assert selectors.ledger_unbalanced_transactions() == []
    assert selectors.ledger_drift() == []


def test_a_transfer_of_another_amount_is_refused_and_changes_nothing() -> None:
    payment = start(amount=12_300)
    before = snapshot()
    for wrong in (12_299, 12_301, 1):
        with pytest.raises(AmountMismatch) as refused:
            payment_confirm_manual(payment=payment, amount_minor=wrong)
        assert (refused.value.code, refused.value.status) == ("amount_mismatch", 422)
    assert snapshot() == before
    assert LedgerEntry.objects.count() == 0


def test_a_closed_transfer_confirmed_anyway_still_counts_the_money() -> None:
    payment = start()
    payment_close(payment=payment)
    done = payment_confirm_manual(payment=payment, amount_minor=8_800)
    assert done.status == PaymentStatus.SUCCEEDED
    assert LedgerTransaction.objects.filter(kind="payment").count() == 1


def test_closing_a_paid_payment_leaves_it_paid() -> None:
    payment = start()
    payment_confirm_manual(payment=payment, amount_minor=8_800)
    assert payment_close(payment=Payment.objects.get(pk=payment.pk)).status == (
        PaymentStatus.SUCCEEDED
    )


def test_a_transfer_is_not_reconciled_by_the_job(frozen_clock: Any) -> None:
    payment = start()
    frozen_clock.advance(timedelta(minutes=5))
    assert payments_reconcile() == 0
    assert payment_reconcile(payment=payment).status == PaymentStatus.CREATED


# WeChat Pay


def test_a_wechat_payment_registers_the_order_at_wechat_once(wechat: FakeWeChatPay) -> None:
    payment = start("wechatpay", amount=8_800)
    again = start("wechatpay", amount=8_800, reference=payment.reference)
    assert again.pk == payment.pk
    assert payment.checkout["code_url"].startswith("weixin://")
    at_wechat = wechat.orders[payment.out_trade_no]
    assert (at_wechat["amount"]["total"], at_wechat["trade_state"]) == (8_800, "NOTPAY")
    assert sum(1 for r in wechat.requests if r.method == "POST") == 1


def test_a_payment_whose_start_failed_registers_again_under_the_same_number(
    wechat: FakeWeChatPay,
) -> None:
    # Given: WeChat does not answer the first time
    wechat.fail_next()
    with pytest.raises(ProviderError):
        start("wechatpay", reference="T-RETRY-01")
    payment = Payment.objects.get()
    assert payment.checkout == {}

    # When: the member tries again
    again = start("wechatpay", reference="T-RETRY-01")

    # Then
    assert again.pk == payment.pk
    assert again.checkout["mode"] == "native"
    assert list(wechat.orders) == ["T-RETRY-01-1"]


def test_reconciling_applies_what_wechat_says(wechat: FakeWeChatPay) -> None:
    # Given: one paid at WeChat, one not, one closed there
    paid, unpaid, closed = (start("wechatpay") for _ in range(3))
    wechat.pay(paid.out_trade_no)
    wechat_client_close(wechat, closed)

    # When
    results = [payment_reconcile(payment=p) for p in (paid, unpaid, closed)]

    # Then
    assert [r.status for r in results] == [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.CREATED,
        PaymentStatus.CLOSED,
    ]
    assert results[0].transaction_id == wechat.orders[paid.out_trade_no]["transaction_id"]
    assert LedgerTransaction.objects.count() == 1


def wechat_client_close(fake: FakeWeChatPay, payment: Payment) -> None:
    WeChatPayClient(fake.config()).close(out_trade_no=payment.out_trade_no)


def test_the_job_recovers_only_payments_a_minute_old(
    wechat: FakeWeChatPay, frozen_clock: Any
) -> None:
    payment = start("wechatpay")
    wechat.pay(payment.out_trade_no)
    assert payments_reconcile() == 0
    frozen_clock.advance(timedelta(seconds=61))
    assert payments_reconcile() == 1
    assert payments_reconcile() == 0
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


def test_the_job_skips_a_provider_it_cannot_reach(wechat: FakeWeChatPay, frozen_clock: Any) -> None:
    payment = start("wechatpay")
    wechat.pay(payment.out_trade_no)
    frozen_clock.advance(timedelta(minutes=2))
    wechat.fail_next(1)
    assert payments_reconcile() == 0
    assert payments_reconcile() == 1


def test_closing_stops_wechat_taking_money(wechat: FakeWeChatPay) -> None:
    payment = start("wechatpay")
    closed = payment_close(payment=payment)
    assert closed.status == PaymentStatus.CLOSED
    assert wechat.orders[payment.out_trade_no]["trade_state"] == "CLOSED"
    with pytest.raises(ValueError, match="not an unpaid order"):
        wechat.pay(payment.out_trade_no)


def test_closing_a_payment_paid_meanwhile_applies_it_instead(wechat: FakeWeChatPay) -> None:
    payment = start("wechatpay")
    wechat.pay(payment.out_trade_no)
    result = payment_close(payment=payment)
    assert result.status == PaymentStatus.SUCCEEDED
    assert wechat.orders[payment.out_trade_no]["trade_state"] == "SUCCESS"
    assert LedgerTransaction.objects.count() == 1


def test_closing_while_wechat_is_unreachable_leaves_the_payment_open(
    wechat: FakeWeChatPay,
) -> None:
    payment = start("wechatpay")
    before = snapshot()
    wechat.fail_next(1)
    with pytest.raises(ProviderError):
        payment_close(payment=payment)
    assert snapshot() == before
