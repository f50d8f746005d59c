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
