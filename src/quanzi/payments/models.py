"""Payments and refunds at a provider, and the notification nonces already seen.

The payments app knows nothing of orders: a payment names what it pays by ``reference`` (an
order number) and the orders app hears of successes and refunds through ``payments.hooks``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from quanzi.communities.models import Community
from quanzi.members.models import Member


class Provider(models.TextChoices):
    MANUAL = "manual", _("Offline transfer")
    WECHATPAY = "wechatpay", _("WeChat Pay")


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("Awaiting payment")
    SUCCEEDED = "succeeded", _("Paid")
    CLOSED = "closed", _("Closed")


class Payment(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="payments")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="payments")
    reference = models.CharField(max_length=40, db_index=True)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    out_trade_no = models.CharField(max_length=32, unique=True)
    description = models.CharField(max_length=127)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=8, default="CNY")
    status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    transaction_id = models.CharField(max_length=64, blank=True, default="")
    refunded_minor = models.BigIntegerField(default=0)
    # What the member needs to pay: JSAPI parameters, a Native code_url, transfer instructions.
    checkout = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            # The backstop for "total refunded never exceeds total paid".
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0) & Q(refunded_minor__lte=F("amount_minor")),
                name="payment_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(paid_at__isnull=False),
                name="payment_paid_at_when_succeeded",
            ),
        ]
        indexes = [models.Index(fields=["provider", "status", "created_at"])]

    def __str__(self) -> str:
        return self.out_trade_no


class RefundStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(max_length=64, unique=True)
    reference = models.CharField(max_length=40)  # the after-sales case or drop cancellation
    amount_minor = models.BigIntegerField()
    reason = models.CharField(max_length=80)
    status = models.CharField(
        max_length=12, choices=RefundStatus.choices, default=RefundStatus.PROCESSING
    )
    provider_refund_id = models.CharField(max_length=64, blank=True, default="")
    failure = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return self.out_refund_no


class NotificationNonce(models.Model):
    """A notification nonce already accepted: a replay carrying it again is refused."""

    provider = models.CharField(max_length=16)
    nonce = models.CharField(max_length=64)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "nonce"], name="notification_nonce_once")
        ]

    def __str__(self) -> str:
        return self.nonce
