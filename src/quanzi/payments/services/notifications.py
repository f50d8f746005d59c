"""WeChat Pay notifications: verified, decrypted, checked against our payment or refund (merchant,
numbers, amounts), applied once.

Verification (signature, key id, timestamp within 5 minutes, AEAD_AES_256_GCM) is in
``quanzi.payments.wechatpay.notifications``. Here the nonce is stored under a unique constraint
in the same transaction that applies the notification: a replay of an accepted notification is
refused, and a rejected one leaves nothing behind, its nonce included.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.payments.models import NotificationNonce, Payment, Provider, Refund, RefundStatus
from quanzi.payments.providers import ProviderRefund, wechatpay_config
from quanzi.payments.services.payments import _succeed
from quanzi.payments.services.refunds import refund_settle
from quanzi.payments.wechatpay import verify_notification
from quanzi.payments.wechatpay.notifications import VerifiedNotification


class NotificationRefused(ApplicationError):
    """A verified notification that does not match our payment, or a replay of one already
    taken. Same code as the protocol layer's rejections: the caller answers both with a 400."""

    code = "notification_rejected"
    status = 400

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _reject(reason: str, message: str) -> NotificationRefused:
    return NotificationRefused(message, reason=reason)


def wechatpay_notification_receive(
    *, headers: dict[str, str], body: bytes, now: datetime | None = None
) -> Payment | Refund | None:
    """Apply one notification; raises ``NotificationRejected`` or ``NotificationRefused``
    (nothing changed) otherwise."""
    config = wechatpay_config()
    if config is None:
        raise _reject("not_configured", _("WeChat Pay is not set up on this hub."))
    note = verify_notification(headers=headers, body=body, config=config, now=now or clock.now())
    with transaction.atomic():
        try:
            with transaction.atomic():
                NotificationNonce.objects.create(
                    provider=Provider.WECHATPAY, nonce=note.nonce, received_at=clock.now()
                )
        except IntegrityError:
            raise _reject("replayed", _("This notification was already received.")) from None
        if note.event_type == "TRANSACTION.SUCCESS":
            return _paid(note, config.mchid, config.appid)
        if note.event_type.startswith("REFUND."):
            return _refunded(note, config.mchid)
        return None  # an event we do not act on; acknowledged so it is not sent again


def _paid(note: VerifiedNotification, mchid: str, appid: str) -> Payment:
    if note.mchid != mchid or note.appid != appid:
        raise _reject("wrong_merchant", _("This notification is for another merchant."))
    if note.trade_state != "SUCCESS":
        raise _reject("malformed", _("A payment notification without a paid state."))
    payment = Payment.objects.filter(
        out_trade_no=note.out_trade_no, provider=Provider.WECHATPAY
    ).first()
    if payment is None:
        raise _reject("unknown_payment", _("No such payment."))
    if note.amount_total != payment.amount_minor:
        raise _reject("amount_mismatch", _("The amount paid differs from the amount due."))
    payment, _changed = _succeed(
        payment.pk,
        transaction_id=note.transaction_id,
        amount_minor=note.amount_total,
        paid_at=parse_datetime(note.success_time or "") or clock.now(),
    )
    return payment


_REFUND_EVENTS = {
    "REFUND.SUCCESS": RefundStatus.SUCCEEDED,
    "REFUND.ABNORMAL": RefundStatus.FAILED,
    "REFUND.CLOSED": RefundStatus.FAILED,
}


def _refunded(note: VerifiedNotification, mchid: str) -> Refund:
    # Checked as a payment notification is: this merchant, our refund of our payment, and
    # the amounts we asked for.
    if note.mchid != mchid:
        raise _reject("wrong_merchant", _("This notification is for another merchant."))
    found = (
        Refund.objects.select_related("payment")
        .filter(out_refund_no=note.out_refund_no, payment__provider=Provider.WECHATPAY)
        .first()
    )
    if found is None or found.payment.out_trade_no != note.out_trade_no:
        raise _reject("unknown_refund", _("No such refund."))
    if note.amount_refund != found.amount_minor or note.amount_total != found.payment.amount_minor:
        raise _reject("amount_mismatch", _("The amount refunded differs from the refund asked."))
    status = _REFUND_EVENTS.get(note.event_type, RefundStatus.PROCESSING)
    return refund_settle(
        refund=found,
        outcome=ProviderRefund(status=status, failure=note.event_type),
    )
