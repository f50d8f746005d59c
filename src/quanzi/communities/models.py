"""Communities, their tiered groups, membership plans and memberships, invitations."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanzi.members.models import Member


class CommunityKind(models.TextChoices):
    PRODUCT = "product", _("Product community")
    RESOURCE = "resource", _("Resource community")
    CHARISMA = "charisma", _("Charisma community")


class Vertical(models.TextChoices):
    EDUCATION = "education", _("Education")
    PETS = "pets", _("Pets")
    HEALTH = "health", _("Health & slimming")
    BEAUTY = "beauty", _("Beauty")
    FOOD = "food", _("Food & fresh produce")
    LOCAL_LIFE = "local_life", _("Local life")
    PARENTING = "parenting", _("Parenting")
    FITNESS = "fitness", _("Fitness")
    TRAVEL = "travel", _("Travel")
    OTHER = "other", _("Other")


class Community(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=CommunityKind.choices)
    vertical = models.CharField(max_length=16, choices=Vertical.choices, default=Vertical.OTHER)
    description = models.TextField(blank=True, default="")
    currency = models.CharField(max_length=8, default="CNY")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("communities")

    def __str__(self) -> str:
        return self.name


class Tier(models.TextChoices):
    OPEN = "open", _("Open group")
    JUNIOR = "junior", _("Junior member group")
    CORE = "core", _("Core fans group")


class Group(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="groups")
    name = models.CharField(max_length=100)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.OPEN)
    capacity = models.PositiveIntegerField(default=500)
    rules = models.TextField(blank=True, default="")
    welcome_template = models.TextField(blank=True, default="")
    intro_prompt = models.TextField(blank=True, default="")
    # Entry gating: an active membership of this plan, and/or a paid purchase of this product.
    required_plan = models.ForeignKey(
        "MembershipPlan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    required_product_id = models.BigIntegerField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["community", "tier", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="group_name_unique"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="group_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class SeatStatus(models.TextChoices):
    ACTIVE = "active", _("In the group")
    WAITING = "waiting", _("On the waiting list")
    LEFT = "left", _("Left")
    REMOVED = "removed", _("Removed")


class GroupMembership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="seats")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="group_seats")
    status = models.CharField(max_length=16, choices=SeatStatus.choices)
    channel = models.CharField(max_length=64, blank=True, default="")
    invitation = models.ForeignKey(
        "Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    joined_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            # One live seat (in the group or waiting) per member and group.
            models.UniqueConstraint(
                fields=["group", "member"],
                condition=Q(status__in=["active", "waiting"]),
                name="group_seat_one_live",
            )
        ]
        indexes = [models.Index(fields=["group", "status", "created_at"], name="seat_queue")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.group_id} ({self.status})"


class KolSeat(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="kol_seats")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="kol_seats")
    title = models.CharField(max_length=50, blank=True, default="")
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "member"], name="kol_seat_unique")]

    def __str__(self) -> str:
        return f"KOL {self.member_id} @ {self.group_id}"


class PlanKind(models.TextChoices):
    ANNUAL = "annual", _("Annual membership")
    LIFETIME = "lifetime", _("Lifetime membership")
    FREE = "free", _("Free community")
    PRODUCT_GRANT = "product_grant", _("Buy a product, membership included")
    FEE_GOODS = "fee_goods", _("Membership fee returned as goods")


class MembershipPlan(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=PlanKind.choices)
    price_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=8, default="CNY")
    # Term length; empty for a membership for life (lifetime, free, product_grant "for life").
    duration_days = models.PositiveIntegerField(null=True, blank=True)
    grace_days = models.PositiveIntegerField(default=0)
    reminder_days = models.PositiveIntegerField(default=7)
    groups = models.ManyToManyField(Group, blank=True, related_name="granted_by")
    discount_percent = models.PositiveSmallIntegerField(default=0)
    member_only_content = models.BooleanField(default=False)
    # Distributors earn commission on this plan's fees only when the operator says so.
    commission_enabled = models.BooleanField(default=False)
    # product_grant: the product whose purchase grants this plan.
    product_id = models.BigIntegerField(null=True, blank=True)
    # fee_goods: what the member receives for the fee.
    goods_description = models.CharField(max_length=200, blank=True, default="")
    goods_value_minor = models.BigIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["community", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="plan_name_unique"),
            models.CheckConstraint(condition=Q(price_minor__gte=0), name="plan_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__lte=100), name="plan_discount_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MembershipStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    ACTIVE = "active", _("Active")
    EXPIRING = "expiring", _("Expiring soon")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class Membership(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="memberships")
    plan = models.ForeignKey(MembershipPlan, on_delete=models.PROTECT, related_name="memberships")
    status = models.CharField(max_length=16, choices=MembershipStatus.choices)
    channel = models.CharField(max_length=64, blank=True, default="")
    invitation = models.ForeignKey(
        "Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    # Exclusive: at ends_at the membership has ended. Empty: for life.
    ends_at = models.DateTimeField(null=True, blank=True)
    # When the clean-up job ended the seats this expired membership granted; cleared by a
    # renewal. The job looks only at expired memberships not yet released.
    groups_released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One membership per member and plan that is not over; renewals extend it.
            models.UniqueConstraint(
                fields=["member", "plan"],
                condition=Q(status__in=["pending", "active", "expiring"]),
                name="membership_one_live",
            )
        ]
        indexes = [models.Index(fields=["status", "ends_at"], name="membership_due")]

    def __str__(self) -> str:
        return f"{self.member_id} / {self.plan_id} ({self.status})"


class TermKind(models.TextChoices):
    NEW = "new", _("New")
    RENEWAL = "renewal", _("Renewal")


class MembershipTerm(models.Model):
    """One paid (or granted) period of a membership: the record renewal rates are counted from."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="terms")
    kind = models.CharField(max_length=16, choices=TermKind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField()
    amount_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=8, default="CNY")
    # Where the money came from (an order, an offline transfer); unique so a retry grants once.
    payment_ref = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["membership", "starts_at"]

    def __str__(self) -> str:
        return f"{self.kind} term of {self.membership_id}"


class GoodsStatus(models.TextChoices):
    OWED = "owed", _("Owed")
    ORDERED = "ordered", _("Order created")
    CANCELLED = "cancelled", _("Cancelled")


class OwedGoods(models.Model):
    """Goods of equal value owed for a membership fee, until the commerce domain ships them."""

    term = models.OneToOneField(MembershipTerm, on_delete=models.PROTECT, related_name="goods")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="owed_goods")
    description = models.CharField(max_length=200)
    value_minor = models.BigIntegerField()
    currency = models.CharField(max_length=8, default="CNY")
    status = models.CharField(max_length=16, choices=GoodsStatus.choices, default=GoodsStatus.OWED)
    order_ref = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("owed goods")

    def __str__(self) -> str:
        return f"{self.description} for {self.member_id} ({self.status})"


class Invitation(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="invitations")
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT)
    plan = models.ForeignKey(MembershipPlan, null=True, blank=True, on_delete=models.PROTECT)
    code = models.CharField(max_length=16, unique=True)
    channel = models.CharField(max_length=64)
    content = models.CharField(max_length=128, blank=True, default="")
    note = models.CharField(max_length=200, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=models.F("max_uses")),
                name="invitation_uses_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(group__isnull=False) | Q(plan__isnull=False),
                name="invitation_leads_somewhere",
            ),
        ]

    def __str__(self) -> str:
        return self.code
