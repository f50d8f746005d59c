"""Products (virtual and physical), their SKUs and stock, and shipping templates by region."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanzi.communities.models import Community, Group, MembershipPlan


class ProductKind(models.TextChoices):
    COURSE = "course", _("Course")
    SERVICE = "service", _("Service")
    PAID_COLLECTION = "paid_collection", _("Paid collection")
    MEMBERSHIP = "membership", _("Membership")
    PHYSICAL = "physical", _("Physical goods")
    BUNDLE = "bundle", _("Bundle")


VIRTUAL_KINDS = frozenset(
    {ProductKind.COURSE, ProductKind.SERVICE, ProductKind.PAID_COLLECTION, ProductKind.MEMBERSHIP}
)


class Product(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ProductKind.choices)
    description = models.TextField(blank=True, default="")
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=8, default="CNY")
    active = models.BooleanField(default=True)
    # A membership product: buying it grants this plan.
    plan = models.ForeignKey(
        MembershipPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    # Delivered at payment: a seat in this group (a course's study group, a paid collection's
    # readers' group). Virtual products and bundles only.
    grants_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="granting_products"
    )
    # Units one member may buy in all (paid or awaiting payment); empty: no limit.
    per_member_limit = models.PositiveIntegerField(null=True, blank=True)
    # Free-form grouping for the shop and for commission rules ("海鲜", "水果").
    category = models.CharField(max_length=50, blank=True, default="")
    # Physical goods only.
    shipping_template = models.ForeignKey(
        "ShippingTemplate", null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    packaging = models.CharField(max_length=200, blank=True, default="")
    cold_chain = models.BooleanField(default=False)
    cold_chain_note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["community", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_minor__gte=0), name="product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind="membership", plan__isnull=False)
                | (~Q(kind="membership") & Q(plan__isnull=True)),
                name="product_plan_iff_membership",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Sku(models.Model):
    """One sellable variant of a product, with its own stock.

    ``stock`` is what can still be sold; ``reserved`` is what unpaid orders hold. A reservation
    moves units from one to the other, so ``stock + reserved`` changes only by adjustments (and,
    later, by units leaving with paid orders).
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    # Spec options as the member picks them, e.g. {"规格": "2斤", "产地": "舟山"}.
    options = models.JSONField(default=dict, blank=True)
    # The options as canonical JSON (sorted keys): a product has one SKU per combination,
    # whatever order the keys were typed in.
    options_key = models.CharField(max_length=500)
    # Empty: the product's price.
    price_minor = models.BigIntegerField(null=True, blank=True)
    stock = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "pk"]
        verbose_name = "SKU"
        constraints = [
            models.UniqueConstraint(fields=["product", "options_key"], name="sku_options_unique"),
            # The backstop against overselling: services decrement conditionally, and should one
            # ever not, the database refuses the write rather than store negative stock.
            models.CheckConstraint(condition=Q(stock__gte=0), name="sku_stock_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="sku_reserved_not_negative"),
            models.CheckConstraint(
                condition=Q(price_minor__isnull=True) | Q(price_minor__gte=0),
                name="sku_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        spec = " / ".join(f"{k}: {v}" for k, v in self.options.items())
        return f"{self.product_id} {spec}".strip()


class ShippingTemplate(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="shipping_templates"
    )
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=8, default="CNY")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["community", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="shipping_template_unique")
        ]

    def __str__(self) -> str:
        return self.name


WILDCARD = "*"


class ShippingRule(models.Model):
    """The fee for a set of provinces, or for everywhere else (``["*"]``)."""

    template = models.ForeignKey(ShippingTemplate, on_delete=models.CASCADE, related_name="rules")
    regions = models.JSONField()
    first_fee_minor = models.BigIntegerField()
    additional_fee_minor = models.BigIntegerField()
    # Goods worth at least this ship free (满N包邮); empty: never free.
    free_over_minor = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["template", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_fee_minor__gte=0, additional_fee_minor__gte=0)
                & (Q(free_over_minor__isnull=True) | Q(free_over_minor__gte=0)),
                name="shipping_rule_fees_not_negative",
            )
        ]

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.regions)


class BundleItem(models.Model):
    """One component of a bundle: buying the bundle delivers each component (a membership plan
    with a box of goods, a course with its workbook)."""

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="bundle_items")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="in_bundles")
    # Physical components name the SKU whose stock the bundle draws on.
    sku = models.ForeignKey(Sku, null=True, blank=True, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["bundle", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle", "component", "sku"], name="bundle_item_unique"
            ),
            # NULLs are distinct to a unique constraint: virtual components need their own.
            models.UniqueConstraint(
                fields=["bundle", "component"],
                condition=Q(sku__isnull=True),
                name="bundle_item_unique_virtual",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="bundle_item_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.component_id}"


class DropStatus(models.TextChoices):
    LIVE = "live", _("Live")
    SUCCEEDED = "succeeded", _("Succeeded")
    CANCELLED = "cancelled", _("Cancelled: minimum not reached")
    ENDED = "ended", _("Ended")


class Drop(models.Model):
    """A group-buy drop (团购): one product at a drop price, for a limited time and stock.

    Its units are set aside from the SKU when the drop is created, so orders through the drop
    touch only this row (``stock`` -> ``reserved`` at order, ``reserved`` -> ``sold`` at payment)
    and unsold units go back to the SKU when the drop is settled. With ``min_buyers`` set, a drop
    that has fewer paying buyers at its end is cancelled and every payment refunded.
    """

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="drops")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="drops")
    sku = models.ForeignKey(Sku, null=True, blank=True, on_delete=models.PROTECT)
    title = models.CharField(max_length=100)
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=8, default="CNY")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    units = models.PositiveIntegerField()
    stock = models.PositiveIntegerField()
    reserved = models.PositiveIntegerField(default=0)
    sold = models.PositiveIntegerField(default=0)
    per_member_limit = models.PositiveIntegerField(null=True, blank=True)
    min_buyers = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=DropStatus.choices, default=DropStatus.LIVE)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "pk"]
        constraints = [
            # The backstop against overselling a drop, as on the SKU.
            models.CheckConstraint(condition=Q(stock__gte=0), name="drop_stock_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="drop_reserved_not_negative"),
            models.CheckConstraint(
                condition=Q(stock__lte=models.F("units")), name="drop_stock_within_units"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="drop_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(price_minor__gte=0), name="drop_price_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "ends_at"])]

    def __str__(self) -> str:
        return self.title
