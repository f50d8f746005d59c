"""Distributors and the commission rules that may pay them (groundwork of issue 5).

The lawful side of distribution (DESIGN.md, Rules that protect people) is kept by the schema as
well as by the services: a rule pays the direct referrer (level 1) or, when the operator adds
it, the one above (level 2), and a CHECK constraint refuses any deeper level; a percentage is at
most 100 %. Becoming a distributor never depends on buying anything.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanzi.catalog.models import Product
from quanzi.communities.models import Community, Group
from quanzi.members.models import Member

MAX_LEVEL = 2


class DistributorRole(models.TextChoices):
    GROUP_LEADER = "group_leader", _("Group leader")
    INFLUENCER = "influencer", _("Influencer")
    SHARER = "sharer", _("Store sharer")


class DistributorStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class Distributor(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="distributors")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="distributor_roles")
    role = models.CharField(max_length=16, choices=DistributorRole.choices)
    status = models.CharField(
        max_length=12, choices=DistributorStatus.choices, default=DistributorStatus.APPLIED
    )
    # A group leader (团长) leads a group or a neighbourhood and may be a pick-up point.
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="leaders"
    )
    pickup_point = models.CharField(max_length=200, blank=True, default="")
    application = models.CharField(max_length=500, blank=True, default="")
    # Why it was rejected or suspended (the member sees it).
    reason = models.CharField(max_length=500, blank=True, default="")
    applied_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    # Where payouts go (bank card or WeChat account), filled in by the distributor; encrypted.
    payee_name = models.CharField(max_length=50, blank=True, default="")
    payee_account_encrypted = models.TextField(blank=True, default="")
    payee_account_masked = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["community", "-applied_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "member", "role"], name="distributor_once_per_role"
            )
        ]
        indexes = [models.Index(fields=["community", "status"])]

    def __str__(self) -> str:
        return f"{self.member_id} {self.role}"


class CommissionKind(models.TextChoices):
    PERCENT = "percent", _("Percentage of the amount paid")
    FIXED = "fixed", _("Fixed amount per unit")


class CommissionRule(models.Model):
    """What a sale pays the referrer at ``level`` (1: the direct referrer, 2: the one above).

    The most specific active rule wins: product, then category, then the community; a role
    narrows it to one kind of distributor. Percentages are in basis points (1 % = 100) of the
    amount actually paid after discounts.
    """

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="commission_rules"
    )
    role = models.CharField(max_length=16, choices=DistributorRole.choices, blank=True, default="")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="commission_rules"
    )
    category = models.CharField(max_length=50, blank=True, default="")
    level = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=8, choices=CommissionKind.choices)
    percent_bp = models.PositiveIntegerField(default=0)
    fixed_minor = models.BigIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["community", "level", "pk"]
        constraints = [
            # The hard cap: no configuration pays a third level (禁止传销条例; WeChat's rules).
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=MAX_LEVEL),
                name="commission_at_most_two_levels",
            ),
            models.CheckConstraint(
                condition=Q(percent_bp__lte=10_000), name="commission_at_most_100_percent"
            ),
            models.CheckConstraint(
                condition=Q(fixed_minor__gte=0), name="commission_fixed_not_negative"
            ),
            models.CheckConstraint(
                condition=(Q(kind="percent", fixed_minor=0) | Q(kind="fixed", percent_bp=0)),
                name="commission_one_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"L{self.level} {self.kind}"


class DistributionSettings(models.Model):
    """A community's distribution terms. Absent means the defaults below."""

    community = models.OneToOneField(
        Community, on_delete=models.CASCADE, related_name="distribution_settings"
    )
    # An order goes to the last sharer whose link the buyer opened within this many days.
    attribution_days = models.PositiveSmallIntegerField(default=7)
    # 锁客: a member brought in by a sharer stays theirs this many days (0: no binding).
    binding_days = models.PositiveSmallIntegerField(default=0)
    # The one extra level the operator may enable; the code never pays a third.
    second_level = models.BooleanField(default=False)
    # Commission matures this many days after the goods are received (七天无理由 by default).
    return_window_days = models.PositiveSmallIntegerField(default=7)
    # A payout batch leaves out anyone whose payable balance is below this.
    min_payout_minor = models.BigIntegerField(default=100)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(attribution_days__gte=1, attribution_days__lte=90),
                name="distribution_attribution_1_90_days",
            ),
            models.CheckConstraint(
                condition=Q(binding_days__lte=365), name="distribution_binding_at_most_a_year"
            ),
            models.CheckConstraint(
                condition=Q(return_window_days__lte=90),
                name="distribution_return_window_at_most_90",
            ),
            models.CheckConstraint(
                condition=Q(min_payout_minor__gte=1), name="distribution_min_payout_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"distribution settings of {self.community_id}"


class ReferralLink(models.Model):
    """A member's personal link (and code) to the community or to one product.

    Every member has them, distributor or not: a visit through one is attributed to the sharer,
    and only an approved distributor's attributed sales earn commission. ``label`` names the
    content piece or campaign an influencer made it for.
    """

    code = models.CharField(max_length=16, unique=True)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    sharer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referral_links")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    label = models.CharField(max_length=100, blank=True, default="")
    visits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["community", "sharer", "product", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "sharer", "product", "label"],
                name="referral_link_once_per_target",
            ),
            models.UniqueConstraint(
                fields=["community", "sharer", "label"],
                condition=Q(product__isnull=True),
                name="referral_link_once_per_community",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ReferralTouch(models.Model):
    """A known member opened a sharer's link: the facts attribution is decided from."""

    link = models.ForeignKey(ReferralLink, on_delete=models.CASCADE, related_name="touches")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    sharer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="referral_touches")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["community", "member", "at"], name="touch_member_time")]

    def __str__(self) -> str:
        return f"{self.member_id} via {self.sharer_id}"


class MemberReferral(models.Model):
    """Who first brought a member to the community: the customer binding (锁客) and the one
    relation a second-level commission may follow."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="referred_by")
    referrer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referred")
    link = models.ForeignKey(
        ReferralLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    # The end of the binding, fixed when it began (no binding: equal to ``at``).
    bound_until = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "member"], name="member_referred_once_per_community"
            ),
            models.CheckConstraint(
                condition=~Q(member=models.F("referrer")), name="member_referral_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} brought by {self.referrer_id}"


class AttributionVia(models.TextChoices):
    LINK = "link", _("Last link opened")
    BINDING = "binding", _("Customer binding")


class OrderAttribution(models.Model):
    """The sharer a paid order was attributed to, decided once when it was paid."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    sharer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="attributed_orders")
    link = models.ForeignKey(
        ReferralLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=10, choices=AttributionVia.choices)
    touched_at = models.DateTimeField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["community", "sharer", "at"], name="attribution_sharer")]

    def __str__(self) -> str:
        return f"{self.order_id} via {self.sharer_id}"


class CommissionLevel(models.IntegerChoices):
    DIRECT = 1, _("Direct referrer")
    SECOND = 2, _("Second level")


class CommissionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    MATURED = "matured", _("Matured")
    REVERSED = "reversed", _("Reversed")


class Commission(models.Model):
    """What one order line pays one beneficiary at one level.

    One row per (line, beneficiary, level), enforced by the schema: a job or a payment hook
    run twice finds the row and posts nothing again. The money itself lives on the core
    ledger (pending, then payable); this row says why and keeps the running figures:
    ``amount_minor`` accrued at payment, less ``reversed_minor`` (refunds before maturity) or
    ``clawed_minor`` (refunds after it).
    """

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    beneficiary = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="commissions")
    distributor = models.ForeignKey(Distributor, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(choices=CommissionLevel.choices)
    rule = models.ForeignKey(CommissionRule, on_delete=models.PROTECT, related_name="+")
    # The rule as it was: later edits never change what was earned.
    rule_kind = models.CharField(max_length=8, choices=CommissionKind.choices)
    percent_bp = models.PositiveIntegerField(default=0)
    fixed_minor = models.BigIntegerField(default=0)
    quantity = models.PositiveIntegerField(default=1)
    base_minor = models.BigIntegerField()  # the line's amount paid after discounts
    amount_minor = models.BigIntegerField()
    reversed_minor = models.BigIntegerField(default=0)
    clawed_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=8, default="CNY")
    status = models.CharField(
        max_length=10, choices=CommissionStatus.choices, default=CommissionStatus.PENDING
    )
    window_days = models.PositiveSmallIntegerField(default=7)
    accrued_at = models.DateTimeField()
    matured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-accrued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "beneficiary", "level"], name="commission_once_per_line"
            ),
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=MAX_LEVEL),
                name="commission_row_at_most_two_levels",
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0, base_minor__gte=0),
                name="commission_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(
                    reversed_minor__gte=0,
                    clawed_minor__gte=0,
                    amount_minor__gte=models.F("reversed_minor") + models.F("clawed_minor"),
                ),
                name="commission_never_takes_back_more",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "accrued_at"], name="commission_status_time"),
            models.Index(fields=["community", "beneficiary"], name="commission_beneficiary"),
        ]

    def __str__(self) -> str:
        return f"L{self.level} {self.amount_minor} to {self.beneficiary_id}"

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.reversed_minor - self.clawed_minor


class PayoutStatus(models.TextChoices):
    OPEN = "open", _("To pay")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled")


class PayoutBatch(models.Model):
    """Payable balances set aside to be paid by bank or WeChat transfer, then marked paid."""

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=32, unique=True)
    status = models.CharField(
        max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.OPEN
    )
    currency = models.CharField(max_length=8, default="CNY")
    total_minor = models.BigIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_minor__gte=0), name="payout_total_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.number


class PayoutItem(models.Model):
    batch = models.ForeignKey(PayoutBatch, on_delete=models.CASCADE, related_name="items")
    beneficiary = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="payouts")
    amount_minor = models.BigIntegerField()
    # How the money went: the transfer's reference, filled when it is marked paid.
    reference = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["batch", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "beneficiary"], name="payout_once_per_batch"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payout_item_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.beneficiary_id} {self.amount_minor}"
