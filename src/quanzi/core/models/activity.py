"""The append-only activity log: one row for every fact analytics will ever ask about.

Members, communities and groups are referenced by id, not by foreign key: the log outlives what
it speaks of (a deleted group's history still counts in last year's figures), ``core`` sits below
every domain app, and analytics joins on plain indexed integers.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to edit or delete an append-only row."""


class ActivityKind(models.TextChoices):
    VISIT = "visit", _("Visit")
    JOIN = "join", _("Join")
    LEAVE = "leave", _("Leave")
    MESSAGE = "message", _("Message")
    REPLY = "reply", _("Reply")
    MENTION = "mention", _("Mention")
    LIKE = "like", _("Like")
    VIEW = "view", _("View")
    ORDER = "order", _("Order")
    PAY = "pay", _("Payment")
    REFUND = "refund", _("Refund")
    REFERRAL = "referral", _("Referral")
    CHECK_IN = "check_in", _("Check-in")
    VOTE = "vote", _("Vote")
    POST = "post", _("Post")
    CRYSTALS = "crystals", _("Crystals")
    STAGE = "stage", _("Lifecycle stage change")
    LEVEL = "level", _("Level change")
    MEMBERSHIP = "membership", _("Membership change")
    MEMBER = "member", _("Member record change")
    WAITLIST = "waitlist", _("Waiting list")
    OPERATOR = "operator", _("Operator action")


class ActivityQuerySet(models.QuerySet["Activity"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("The activity log is append-only; record a new activity instead.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("The activity log is append-only; nothing is deleted from it.")


class Activity(models.Model):
    kind = models.CharField(max_length=32, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    member_id = models.BigIntegerField(null=True, blank=True)
    # The other member of an interaction (reply to, mention of, like of, co-attendance).
    target_member_id = models.BigIntegerField(null=True, blank=True)
    community_id = models.BigIntegerField(null=True, blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=64, blank=True, default="")
    content = models.CharField(max_length=128, blank=True, default="")

    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=8, blank=True, default="")

    # Who made it happen: an operator's user id; empty for members and jobs.
    actor_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=32, blank=True, default="")
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["community_id", "occurred_at"], name="activity_community_time"),
            models.Index(fields=["group_id", "occurred_at"], name="activity_group_time"),
            models.Index(fields=["member_id", "occurred_at"], name="activity_member_time"),
            models.Index(fields=["kind", "occurred_at"], name="activity_kind_time"),
        ]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("The activity log is append-only; record a new activity instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("The activity log is append-only; nothing is deleted from it.")
