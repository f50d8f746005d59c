"""Crystals (水晶), what they buy, and growth levels.

Crystals live on the core ledger: one wallet per member and community that may never go below
zero, the community's issuance account on the other side. A ``CrystalGrant`` row says why each
credit was made and how much of it is still unspent (``remaining``), so that spending takes the
oldest crystals first, expiry takes what is left of a grant, and a refund claws back what the
order earned. The wallet's balance always equals the sum of its grants' ``remaining``.

What a clawback cannot take (the crystals were spent) becomes debt: a negative balance on the
member's debt account, repaid from their next earnings before anything reaches the wallet.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanzi.catalog.models import Product
from quanzi.communities.models import Community, Group
from quanzi.members.models import Level, Member


class RewardSettings(models.Model):
    community = models.OneToOneField(
        Community, on_delete=models.CASCADE, related_name="reward_settings"
    )
    # Caps over every rule together, per member (0: none).
    daily_cap = models.PositiveIntegerField(default=0)
    weekly_cap = models.PositiveIntegerField(default=0)
    # Crystals expire this many days after they were earned (0: never).
    expiry_days = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reward settings of {self.community_id}"


class CrystalAction(models.TextChoices):
    POST = "post", _("A post")
    INVITE_PAID = "invite_paid", _("An invited friend's first paid order")
    CHECK_IN = "check_in", _("Event check-in")
    FEEDBACK = "feedback", _("Adopted feedback")
    PURCHASE = "purchase", _("Purchase (per yuan)")
    MANUAL = "manual", _("Awarded by the operator")


class CrystalRule(models.Model):
    """How many crystals an action earns (per yuan for a purchase), and its caps per member."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="crystal_rules")
    action = models.CharField(max_length=16, choices=CrystalAction.choices)
    amount = models.PositiveIntegerField()
    daily_cap = models.PositiveIntegerField(default=0)  # 0: none
    weekly_cap = models.PositiveIntegerField(default=0)  # 0: none
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["community", "action"]
        constraints = [
            models.UniqueConstraint(fields=["community", "action"], name="crystal_rule_per_action"),
            models.CheckConstraint(
                condition=Q(amount__gte=1, amount__lte=1_000_000), name="crystal_rule_amount_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.amount}"


class CrystalGrant(models.Model):
    """One credit of crystals and why. ``source`` makes it idempotent: the same post, check-in
    or order earns once, whoever calls twice."""

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="crystal_grants")
    action = models.CharField(max_length=16, choices=CrystalAction.choices)
    source = models.CharField(max_length=100)
    requested = models.PositiveIntegerField()  # what the rule gave before caps
    amount = models.PositiveIntegerField()  # what was earned after caps
    debt_repaid = models.PositiveIntegerField(default=0)  # of ``amount``, what paid off debt
    remaining = models.PositiveIntegerField(default=0)  # still in the wallet, unspent
    clawed = models.PositiveIntegerField(default=0)  # taken back (refunds), wallet or debt
    expired = models.PositiveIntegerField(default=0)
    earned_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, default="")
    actor_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-earned_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "member", "action", "source"], name="crystal_grant_once"
            ),
            models.CheckConstraint(
                condition=Q(amount__lte=models.F("requested")), name="crystal_grant_capped"
            ),
            models.CheckConstraint(
                condition=Q(
                    remaining__lte=models.F("amount") - models.F("debt_repaid"),
                ),
                name="crystal_grant_remaining_bounded",
            ),
            models.CheckConstraint(
                condition=Q(clawed__lte=models.F("amount")), name="crystal_grant_clawed_bounded"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "member", "earned_at"], name="grant_member_time"),
            models.Index(fields=["expires_at"], name="grant_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.action} +{self.amount}"


class RewardKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    COUPON = "coupon", _("Coupon")
    PERK = "perk", _("Perk")


class CrystalReward(models.Model):
    """Something members can redeem crystals for."""

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=RewardKind.choices)
    cost = models.PositiveIntegerField()
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coupon_value_minor = models.BigIntegerField(default=0)
    stock = models.PositiveIntegerField(null=True, blank=True)  # empty: unlimited
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["community", "cost", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=1), name="crystal_reward_costs_some"),
            models.CheckConstraint(
                condition=Q(coupon_value_minor__gte=0), name="crystal_reward_coupon_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RedemptionStatus(models.TextChoices):
    PLACED = "placed", _("To hand over")
    FULFILLED = "fulfilled", _("Handed over")
    CANCELLED = "cancelled", _("Cancelled, crystals returned")


class Redemption(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(
        CrystalReward, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions"
    )
    # A perk the operator gives a contributor (no crystals spent) has no reward row.
    name = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=1)
    crystals = models.PositiveIntegerField(default=0)
    code = models.CharField(max_length=16, unique=True)
    status = models.CharField(
        max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.PLACED
    )
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.code


class GrowthLevel(models.Model):
    """A level (novice → seed user → core → KOL) and what it brings, reached by crystals
    earned over time (spending never lowers a level)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="levels")
    level = models.CharField(max_length=16, choices=Level.choices)
    min_earned = models.PositiveIntegerField()
    discount_percent = models.PositiveSmallIntegerField(default=0)
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    badge = models.CharField(max_length=30, blank=True, default="")

    class Meta:
        ordering = ["community", "min_earned"]
        constraints = [
            models.UniqueConstraint(fields=["community", "level"], name="growth_level_once"),
            models.CheckConstraint(
                condition=Q(discount_percent__lte=50), name="growth_level_discount_at_most_50"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level} ≥ {self.min_earned}"


class MemberLevel(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="levels")
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.NOVICE)
    earned_total = models.BigIntegerField(default=0)
    reached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "member"], name="member_level_once")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.level}"
