"""The outbox: every message Quanzi would send a member, before it is sent.

Its own app below ``communities`` and ``campaigns``: welcome rituals, renewal reminders and
campaigns all queue here, and the rules that protect members (opt-out, quiet hours) live once.

The embedded hub sends nothing out: an operator reads the outbox and copies each message into
WeChat. A connected channel (WeCom, SMS) drains the same rows.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from quanzi.members.models import Member


class Purpose(models.TextChoices):
    # Service messages (welcome, renewal reminder) reach members who opted out of marketing.
    SERVICE = "service", _("Service message")
    MARKETING = "marketing", _("Marketing")


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    SUPPRESSED = "suppressed", _("Suppressed")
    FAILED = "failed", _("Failed")


class OutboxMessage(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="outbox")
    community_id = models.BigIntegerField(null=True, blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    template = models.CharField(max_length=64)
    body = models.TextField()
    channel = models.CharField(max_length=32, default="manual")
    # The same message is never queued twice: "welcome:<seat id>", "reminder:<term id>".
    dedupe_key = models.CharField(max_length=200, unique=True)
    # Quiet hours: not before this moment.
    not_before = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "not_before"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.template} -> {self.member_id} ({self.status})"
