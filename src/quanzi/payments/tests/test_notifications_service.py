"""WeChat Pay notifications as the hub takes them: verified, checked against our payment or
refund, applied once; anything else refused with nothing stored, not even its nonce."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community, member
from quanzi.core import clock
from quanzi.core.models import LedgerTransaction
from quanzi.payments.models import NotificationNonce, Payment, PaymentStatus, Refund, RefundStatus
from quanzi.payments.services.notifications import (
    NotificationRefused,
    wechatpay_notification_receive,
)
from quanzi.payments.services.payments import payment_start
from quanzi.payments.services.refunds import refund_start
from quanzi.payments.wechatpay import NotificationRejected
from quanzi.payments.wechatpay.fake import FakeWeChatPay

pytestmark = pytest.mark.django_db

_refs = itertools.count(1)
Envelope = tuple[dict[str, str], bytes]


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay() as fake:
        yield fake


@pytest.fixture
def wechat(fake_server: FakeWeChatPay, settings: Any) -> FakeWeChatPay:
    fake_server.reset()
    settings.QUANZI_WECHATPAY_CONFIG = fake_server.config()
    return fake_server


def now_stamp() -> int:
    return int(clock.now().timestamp())


def started(fake: FakeWeChatPay, amount: int = 8_800) -> Payment:
    """A WeChat payment the member has paid at WeChat; its notification not yet taken."""
    payment = payment_start(
        community_id=community().pk,
        member_id=member().pk,
        reference=f"N{next(_refs):09d}",
        amount_minor=amount,
        currency="CNY",
        description="会员年费",
        provider="wechatpay",
        expires_at=clock.now() + timedelta(minutes=30),
    )
    fake.pay(payment.out_trade_no)
    return payment


def receive(envelope: Envelope) -> Any:
    headers, body = envelope
    return wechatpay_notification_receive(headers=headers, body=body)


def snapshot() -> tuple[Any, ...]:
    return (
        list(Payment.objects.order_by("pk").values_list("pk", "status", "refunded_minor")),
        list(Refund.objects.order_by("pk").values_list("pk", "status")),
        list(NotificationNonce.objects.values_list("nonce", flat=True)),
        LedgerTransaction.objects.count(),
    )


def resigned(
    fake: FakeWeChatPay, body: bytes, change: Callable[[dict[str, Any]], None]
) -> Envelope:
    envelope = json.loads(body)
    change(envelope)
    new_body = json.dumps(envelope, ensure_ascii=False).encode()
    return fake.sign_notification(new_body, timestamp=now_stamp()), new_body


def flip_a_ciphertext_byte(envelope: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    raw[0] ^= 0x80
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()


def test_a_payment_notification_pays_once_and_keeps_its_nonce(wechat: FakeWeChatPay) -> None:
    # Given
    payment = started(wechat)

    # When
    applied = receive(
        wechat.notification_for(payment.out_trade_no, nonce="ONE", timestamp=now_stamp())
    )

    # Then
    assert isinstance(applied, Payment)
    assert (applied.pk, applied.status) == (payment.pk, PaymentStatus.SUCCEEDED)
    assert applied.transaction_id == wechat.orders[payment.out_trade_no]["transaction_id"]
    assert list(NotificationNonce.objects.values_list("provider", "nonce")) == [
        ("wechatpay", "ONE")
    ]
    assert LedgerTransaction.objects.count() == 1


def test_copies_with_fresh_nonces_change_the_payment_once(wechat: FakeWeChatPay) -> None:
    payment = started(wechat)
    for n in range(4):
        receive(wechat.notification_for(payment.out_trade_no, nonce=f"C{n}", timestamp=now_stamp()))
    assert NotificationNonce.objects.count() == 4
    assert LedgerTransaction.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


REJECTED: dict[str, tuple[str, Callable[[FakeWeChatPay, str], Envelope]]] = {
    "tampered body": (
        "bad_signature",
        lambda fake, no: (
            (e := fake.notification_for(no, timestamp=now_stamp()))[0],
            e[1].replace(b'"summary"', b'"summary" '),
        ),
    ),
    "re-signed body with a flipped ciphertext byte": (
        "decrypt_failed",
        lambda fake, no: resigned(fake, fake.notification_for(no)[1], flip_a_ciphertext_byte),
    ),
    "another key's signature": (
        "unknown_serial",
        lambda fake, no: (
            fake.sign_notification(
                (body := fake.notification_for(no)[1]), timestamp=now_stamp(), serial="PUB_X"
            ),
            body,
        ),
    ),
    "stale timestamp": (
        "stale",
        lambda fake, no: fake.notification_for(no, timestamp=now_stamp() - 301),
    ),
    "from the future": (
        "stale",
        lambda fake, no: fake.notification_for(no, timestamp=now_stamp() + 301),
    ),
    "wrong amount": (
        "amount_mismatch",
        lambda fake, no: fake.notification_for(
            no,
            timestamp=now_stamp(),
            resource_overrides={"amount": {"total": 8_799, "currency": "CNY"}},
        ),
    ),
    "wrong mchid": (
        "wrong_merchant",
        lambda fake, no: fake.notification_for(
            no, timestamp=now_stamp(), resource_overrides={"mchid": "1900000002"}
        ),
    ),
    "wrong appid": (
        "wrong_merchant",
        lambda fake, no: fake.notification_for(
            no, timestamp=now_stamp(), resource_overrides={"appid": "wx0000000000000002"}
        ),
    ),
    "not paid": (
        "malformed",
        lambda fake, no: fake.notification_for(
            no, timestamp=now_stamp(), resource_overrides={"trade_state": "NOTPAY"}
        ),
    ),
    "unknown payment": (
        "unknown_payment",
        lambda fake, no: fake.notification_for(
            no, timestamp=now_stamp(), resource_overrides={"out_trade_no": "N000000000-9"}
        ),
    ),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_a_notification_that_fails_a_check_changes_nothing(
    wechat: FakeWeChatPay, case: str
) -> None:
    # Given
    payment = started(wechat)
    reason, make = REJECTED[case]
    envelope = make(wechat, payment.out_trade_no)
    before = snapshot()

    # When
    with pytest.raises((NotificationRejected, NotificationRefused)) as rejected:
        receive(envelope)

    # Then
    assert (
        rejected.value.code,
        rejected.value.status,
        getattr(rejected.value, "reason", None),
    ) == (
        "notification_rejected",
        400,
        reason,
    )
    assert snapshot() == before
    assert NotificationNonce.objects.count() == 0
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED

    # And the genuine notification is still taken afterwards
    receive(wechat.notification_for(payment.out_trade_no, timestamp=now_stamp()))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


def test_a_replayed_notification_is_refused(wechat: FakeWeChatPay) -> None:
    payment = started(wechat)
    envelope = wechat.notification_for(payment.out_trade_no, timestamp=now_stamp())
    receive(envelope)
    before = snapshot()
    with pytest.raises(NotificationRefused) as rejected:
        receive(envelope)
    assert rejected.value.reason == "replayed"
    assert snapshot() == before


def test_without_wechat_pay_set_up_every_notification_is_refused(
    wechat: FakeWeChatPay, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment = started(wechat)
    envelope = wechat.notification_for(payment.out_trade_no, timestamp=now_stamp())
    settings.QUANZI_WECHATPAY_CONFIG = None
    monkeypatch.delenv("QUANZI_WECHATPAY_MCHID", raising=False)
    with pytest.raises(NotificationRefused) as rejected:
        receive(envelope)
    assert rejected.value.reason == "not_configured"
    assert NotificationNonce.objects.count() == 0


# Refund notifications


def refunding(fake: FakeWeChatPay, number: str) -> Refund:
    payment = started(fake)
    receive(fake.notification_for(payment.out_trade_no, timestamp=now_stamp()))
    return refund_start(
        payment=Payment.objects.get(pk=payment.pk),
        amount_minor=2_000,
        out_refund_no=number,
        reference=number,
        reason="x",
    )


def test_a_refund_notification_settles_the_refund_once(wechat: FakeWeChatPay) -> None:
    refund = refunding(wechat, "RN-OK-1")
    wechat.complete_refund("RN-OK-1")
    settled = receive(wechat.refund_notification_for("RN-OK-1", timestamp=now_stamp()))
    assert isinstance(settled, Refund)
    assert (settled.pk, settled.status) == (refund.pk, RefundStatus.SUCCEEDED)
    receive(wechat.refund_notification_for("RN-OK-1", timestamp=now_stamp()))
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1


def test_an_abnormal_refund_fails_and_gives_its_amount_back(wechat: FakeWeChatPay) -> None:
    refund = refunding(wechat, "RN-BAD-1")
    wechat.complete_refund("RN-BAD-1", status="ABNORMAL")
    settled = receive(wechat.refund_notification_for("RN-BAD-1", timestamp=now_stamp()))
    assert (settled.status, settled.failure) == (RefundStatus.FAILED, "REFUND.ABNORMAL")
    assert Payment.objects.get(pk=refund.payment_id).refunded_minor == 0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"out_refund_no": "RN-NOBODY"}, "unknown_refund"),
        ({"mchid": "1900000002"}, "wrong_merchant"),
        (
            {
                "amount": {
                    "total": 8_800,
                    "refund": 8_800,
                    "payer_total": 8_800,
                    "payer_refund": 8_800,
                }
            },
            "amount_mismatch",
        ),
        ({"out_trade_no": "N999999999-1"}, "unknown_refund"),
    ],
)
def test_a_refund_notification_that_is_not_about_our_refund_changes_nothing(
    wechat: FakeWeChatPay, overrides: dict[str, Any], reason: str
) -> None:
    refund = refunding(wechat, "RN-ODD-1")
    wechat.complete_refund("RN-ODD-1")
    envelope = wechat.refund_notification_for(
        "RN-ODD-1", timestamp=now_stamp(), resource_overrides=overrides
    )
    before = snapshot()
    with pytest.raises(NotificationRefused) as rejected:
        receive(envelope)
    assert rejected.value.reason == reason
    assert snapshot() == before
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PROCESSING
