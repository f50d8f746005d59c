"""Orders with their lines, shipments and after-sales cases.

An order keeps a snapshot of what was bought at what price: a product renamed or repriced later
changes no order. Amounts are integer fen; ``total = subtotal - discount + shipping`` and
``refunded <= total`` are database constraints, not just service rules.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from quanzi.catalog.models import Drop, Product, Sku
from quanzi.communities.models import Community
from quanzi.members.models import Member


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    PAID = "paid", _("Paid, to ship")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


# Paid orders, whatever became of them after the payment.
PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
    OrderStatus.REFUNDED,
)


class StockHold(models.TextChoices):
    """Where the order's units are: held for it, gone with it, or back on the shelf."""

    NONE = "none", _("Holds no stock")
    RESERVED = "reserved", _("Reserved")
    SOLD = "sold", _("Sold")
    RELEASED = "released", _("Released")


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="orders")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="orders")
    drop = models.ForeignKey(
        Drop, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default="pending")
    stock = models.CharField(max_length=10, choices=StockHold.choices, default="none")
    currency = models.CharField(max_length=8, default="CNY")
    subtotal_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    shipping_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()
    refunded_minor = models.BigIntegerField(default=0)
    provider = models.CharField(max_length=16, default="manual")
    channel = models.CharField(max_length=100, blank=True, default="")
    note = models.CharField(max_length=200, blank=True, default="")
    needs_shipping = models.BooleanField(default=False)
    # The province, in the clear: shipping fees and the pick list group by it.
    ship_region = models.CharField(max_length=30, blank=True, default="")
    # Recipient, phone and street address as encrypted JSON (personal data).
    ship_address_enc = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True, default="")
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    auto_received = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    total_minor=F("subtotal_minor") - F("discount_minor") + F("shipping_minor")
                ),
                name="order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(subtotal_minor__gte=0, discount_minor__gte=0, shipping_minor__gte=0)
                & Q(total_minor__gte=0),
                name="order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0) & Q(refunded_minor__lte=F("total_minor")),
                name="order_refund_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status", "-created_at"]),
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["member", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES and self.paid_at is not None


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.ForeignKey(Sku, null=True, blank=True, on_delete=models.PROTECT)
    # Snapshot at order time.
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16)
    options = models.JSONField(default=dict, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()
    refunded_minor = models.BigIntegerField(default=0)
    restocked = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity"),
            models.CheckConstraint(
                condition=Q(
                    total_minor=F("unit_price_minor") * F("quantity") - F("discount_minor")
                ),
                name="order_line_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0) & Q(refunded_minor__lte=F("total_minor")),
                name="order_line_refund_within_total",
            ),
            models.CheckConstraint(
                condition=Q(restocked__lte=F("quantity")), name="order_line_restock_within"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class PurchaseTally(models.Model):
    """Units a member holds of a limited product or drop (ordered, not lapsed).

    One row per (member, scope), raised by a conditional update that refuses to pass the limit:
    two concurrent orders by one member queue on this row, so the limit holds.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=40)  # "product:12" or "drop:3"
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "scope"], name="purchase_tally_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.quantity}"


class Shipment(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="shipment")
    carrier = models.CharField(max_length=50)
    tracking_no = models.CharField(max_length=50)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    shipped_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-shipped_at"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_no}"


class AfterSaleKind(models.TextChoices):
    REFUND_ONLY = "refund_only", _("Refund only")
    RETURN_REFUND = "return_refund", _("Return and refund")


class AfterSaleStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting decision")
    AWAITING_RETURN = "awaiting_return", _("Awaiting return")
    REFUNDING = "refunding", _("Refunding")
    REFUNDED = "refunded", _("Refunded")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Request withdrawn")


OPEN_AFTER_SALE = (
    AfterSaleStatus.REQUESTED,
    AfterSaleStatus.AWAITING_RETURN,
    AfterSaleStatus.REFUNDING,
)


class AfterSale(models.Model):
    """A refund request and its decision: full or partial, with or without a return.

    ``refund_no`` is fixed when the case opens; every attempt to pay the refund out uses it, so
    a retry at the provider is never a second refund.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="after_sales")
    refund_no = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=16, choices=AfterSaleKind.choices)
    # A line (and how many of its units) when the case is about one product; empty: the order.
    line = models.ForeignKey(OrderLine, null=True, blank=True, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=AfterSaleStatus.choices, default=AfterSaleStatus.REQUESTED
    )
    restock = models.BooleanField(default=False)
    opened_by = models.CharField(max_length=10, default="member")  # member | operator | system
    # The payment refunded: empty for the order's payment. A second payment for an order already
    # paid is refunded whole and does not count against the order's total.
    payment_id = models.BigIntegerField(null=True, blank=True)
    extra_payment = models.BooleanField(default=False)
    return_carrier = models.CharField(max_length=50, blank=True, default="")
    return_tracking_no = models.CharField(max_length=50, blank=True, default="")
    decision_note = models.CharField(max_length=500, blank=True, default="")
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="after_sale_amount"),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.refund_no


class EvidenceKind(models.TextChoices):
    LOGISTICS = "logistics", _("Logistics proof")
    PHOTO = "photo", _("Photo")
    NOTE = "note", _("Note")


class Evidence(models.Model):
    after_sale = models.ForeignKey(AfterSale, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=10, choices=EvidenceKind.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    file = models.FileField(upload_to="evidence/%Y/%m/", blank=True, default="")
    submitted_by = models.CharField(max_length=10)  # member | operator
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"
