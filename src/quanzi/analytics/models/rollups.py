"""Incremental rollups of the activity log, kept by jobs, read by dashboards.

Dashboards never scan the activity log: they read these tables, which the rollup job extends
from a watermark (the last activity id it folded in). Scopes are a community
(``group_id == COMMUNITY_SCOPE``) or one of its groups. Days are local days in ``TIME_ZONE``;
weeks start on Monday.
"""

from __future__ import annotations

from django.db import models

COMMUNITY_SCOPE = 0


class RollupState(models.Model):
    name = models.CharField(max_length=64, unique=True)
    last_activity_id = models.BigIntegerField(default=0)
    last_message_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    # The day every scope's daily rows were last carried on to, quiet ones included.
    carried_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_activity_id}"


class PendingKind(models.TextChoices):
    SCOPE = "scope", "scope days from a day"
    SEATS = "seats", "a member's seats"
    PAIRS = "pairs", "a community's shared members"
    SNAPSHOTS = "snapshots", "a community's snapshots"


class RollupPending(models.Model):
    """What folded rows left to recompute, written in the same transaction as the rows and their
    watermark, and removed in the one that recomputes it: a run stopped between the two leaves
    its work to the next run instead of stale daily rows."""

    kind = models.CharField(max_length=16, choices=PendingKind.choices)
    community_id = models.BigIntegerField()
    group_id = models.BigIntegerField(default=0)
    member_id = models.BigIntegerField(default=0)
    since = models.DateField(null=True, blank=True)  # scope days: the first day to redo

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "community_id", "group_id", "member_id"], name="rollup_pending_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.community_id}/{self.group_id}/{self.member_id}"


class MemberDay(models.Model):
    """What one member did on one day in one scope: the base every distinct count comes from."""

    community_id = models.BigIntegerField()
    group_id = models.BigIntegerField(default=COMMUNITY_SCOPE)
    member_id = models.BigIntegerField()
    day = models.DateField()
    actions = models.IntegerField(default=0)  # any activity
    engaged = models.IntegerField(default=0)  # message, post, vote or check-in
    messages = models.IntegerField(default=0)
    interactions = models.IntegerField(default=0)  # reply, mention or like, given or received

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community_id", "group_id", "member_id", "day"], name="member_day_unique"
            )
        ]
        indexes = [
            models.Index(fields=["community_id", "group_id", "day"], name="member_day_scope_day"),
            models.Index(fields=["member_id", "day"], name="member_day_member"),
            # Strangeness: who interacted in a period, read from the index alone.
            models.Index(
                fields=["community_id", "group_id", "day", "member_id"],
                condition=models.Q(interactions__gt=0),
                name="member_day_interacted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.community_id}/{self.group_id} on {self.day}"


class ScopeDay(models.Model):
    """One scope's day: the lines on the health page and the inputs of the warning score."""

    community_id = models.BigIntegerField()
    group_id = models.BigIntegerField(default=COMMUNITY_SCOPE)
    day = models.DateField()
    members = models.IntegerField(default=0)  # members with a live seat at the end of the day
    joins = models.IntegerField(default=0)
    leaves = models.IntegerField(default=0)
    visits = models.IntegerField(default=0)
    messages = models.IntegerField(default=0)  # every message, unknown senders included
    ad_messages = models.IntegerField(default=0)  # promotion not from operators
    kol_messages = models.IntegerField(default=0)  # messages and replies by KOL seats
    unknown_messages = models.IntegerField(default=0)
    active_members = models.IntegerField(default=0)  # distinct members with any activity
    engaged_members = models.IntegerField(default=0)  # distinct: message, post, vote, check-in
    engaged_7d = models.IntegerField(default=0)  # distinct engaged over the 7 days ending here
    payers = models.IntegerField(default=0)
    orders = models.IntegerField(default=0)
    revenue_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community_id", "group_id", "day"], name="scope_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.community_id}/{self.group_id} on {self.day}"


class MemberFact(models.Model):
    """A member's milestones in a scope: the funnel, RFM and lifecycle read these."""

    community_id = models.BigIntegerField()
    group_id = models.BigIntegerField(default=COMMUNITY_SCOPE)
    member_id = models.BigIntegerField()
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    first_visit_at = models.DateTimeField(null=True, blank=True)
    first_paid_at = models.DateTimeField(null=True, blank=True)
    second_paid_at = models.DateTimeField(null=True, blank=True)
    last_paid_at = models.DateTimeField(null=True, blank=True)
    # The day of the paid order before the last (of two or more): "two orders from ``start`` to
    # today" is then one comparison, as "one order" is with ``last_paid_at``.
    previous_paid_day = models.DateField(null=True, blank=True)
    paid_orders = models.IntegerField(default=0)
    paid_days = models.IntegerField(default=0)
    revenue_minor = models.BigIntegerField(default=0)
    first_referral_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    last_engaged_at = models.DateTimeField(null=True, blank=True)
    # The last day the member gave or received a reply, mention or like in the scope.
    last_interaction_day = models.DateField(null=True, blank=True)
    group_count = models.IntegerField(default=0)  # live seats in the community's groups
    # Days of the last year as bits (``quanzi.analytics.daybits``): the days they interacted
    # (anchored at ``last_interaction_day``), paid and paid twice or more (at ``last_paid_day``).
    # A period that ended in the past is then counted in one pass over the members too.
    last_paid_day = models.DateField(null=True, blank=True)
    interaction_bits_0 = models.BigIntegerField(default=0)
    interaction_bits_1 = models.BigIntegerField(default=0)
    interaction_bits_2 = models.BigIntegerField(default=0)
    interaction_bits_3 = models.BigIntegerField(default=0)
    interaction_bits_4 = models.BigIntegerField(default=0)
    interaction_bits_5 = models.BigIntegerField(default=0)
    paid_bits_0 = models.BigIntegerField(default=0)
    paid_bits_1 = models.BigIntegerField(default=0)
    paid_bits_2 = models.BigIntegerField(default=0)
    paid_bits_3 = models.BigIntegerField(default=0)
    paid_bits_4 = models.BigIntegerField(default=0)
    paid_bits_5 = models.BigIntegerField(default=0)
    repaid_bits_0 = models.BigIntegerField(default=0)
    repaid_bits_1 = models.BigIntegerField(default=0)
    repaid_bits_2 = models.BigIntegerField(default=0)
    repaid_bits_3 = models.BigIntegerField(default=0)
    repaid_bits_4 = models.BigIntegerField(default=0)
    repaid_bits_5 = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community_id", "group_id", "member_id"], name="member_fact_unique"
            )
        ]
        indexes = [
            models.Index(fields=["community_id", "group_id", "joined_at"], name="member_fact_join"),
            # A member's facts in every group: the rollup job looks them up for each chunk.
            models.Index(fields=["community_id", "member_id"], name="member_fact_member"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.community_id}/{self.group_id}"


class Purchase(models.Model):
    """One paid order (a shop order, a membership term, or an imported historic order)."""

    community_id = models.BigIntegerField()
    member_id = models.BigIntegerField()
    order_key = models.CharField(max_length=128)
    paid_at = models.DateTimeField()
    day = models.DateField()
    amount_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=8, default="CNY")
    channel = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community_id", "order_key"], name="purchase_unique")
        ]
        indexes = [
            models.Index(fields=["community_id", "day"], name="purchase_community_day"),
            models.Index(fields=["community_id", "member_id"], name="purchase_member"),
        ]

    def __str__(self) -> str:
        return f"{self.order_key} of {self.member_id}"


class CohortCell(models.Model):
    """Members who joined the scope in a week, and how many were active ``week_index`` later."""

    community_id = models.BigIntegerField()
    group_id = models.BigIntegerField(default=COMMUNITY_SCOPE)
    cohort_week = models.DateField()  # a Monday
    week_index = models.IntegerField()
    size = models.IntegerField(default=0)
    retained = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community_id", "group_id", "cohort_week", "week_index"],
                name="cohort_cell_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.community_id}/{self.group_id} {self.cohort_week} +{self.week_index}"


class GroupPair(models.Model):
    """Members two groups of a community share now: the overlap map's cells."""

    community_id = models.BigIntegerField()
    group_a_id = models.BigIntegerField()
    group_b_id = models.BigIntegerField()
    shared = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group_a_id", "group_b_id"], name="group_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(group_a_id__lt=models.F("group_b_id")),
                name="group_pair_ordered",
            ),
        ]
        indexes = [models.Index(fields=["community_id"], name="group_pair_community")]

    def __str__(self) -> str:
        return f"{self.group_a_id}&{self.group_b_id}: {self.shared}"


class SeatCount(models.Model):
    """Live seats now, kept with the group pairs: a group's row (``group_id`` > 0) holds its
    members; the community's row (``COMMUNITY_SCOPE``) holds the distinct members with a live
    seat in any of its groups (``members``) and those with two or more (``multi``). The overlap
    rate and the overlap map's group sizes read these."""

    community_id = models.BigIntegerField()
    group_id = models.BigIntegerField(default=COMMUNITY_SCOPE)
    members = models.IntegerField(default=0)
    multi = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community_id", "group_id"], name="seat_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.community_id}/{self.group_id}: {self.members}"


class SnapshotKind(models.TextChoices):
    KPIS = "kpis"  # the per-member parts of the tiles over a window ending today
    RFM = "rfm"  # the eight segments today
    LIFECYCLE = "lifecycle"  # members by stage today


class Snapshot(models.Model):
    """A community's figures that only a pass over its members can give, worked out by the
    rollup job at the end of every run that touched the community (and once a day) for the
    periods the console offers: the last 7, 30 and 90 days ending today, and "today".

    A dashboard reading exactly such a period reads the row; any other period is worked out
    live from the rollups. Only today's rows are kept, so a row is never older than the last
    run that changed the community."""

    community_id = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=SnapshotKind.choices)
    start = models.DateField()
    end = models.DateField()  # exclusive
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community_id", "kind", "start", "end"], name="snapshot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.community_id} {self.kind} {self.start}..{self.end}"
