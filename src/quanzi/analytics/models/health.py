"""Dead-group early warning: a score per group, the signals behind it, and who was told."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from quanzi.communities.models import Community, Group


class HealthSettings(models.Model):
    community = models.OneToOneField(
        Community, on_delete=models.CASCADE, related_name="health_settings"
    )
    threshold = models.PositiveSmallIntegerField(default=50)  # a score at or above warns
    window_days = models.PositiveSmallIntegerField(default=14)
    webhook_url = models.URLField(blank=True, default="")
    webhook_secret = models.CharField(max_length=128, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("health settings")
        verbose_name_plural = _("health settings")

    def __str__(self) -> str:
        return f"health settings of {self.community_id}"


class WarningStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class HealthWarning(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="health_warnings"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="health_warnings")
    day = models.DateField()
    score = models.PositiveSmallIntegerField()
    # [{"code": "activity_trend", "value": -0.6, "points": 30, "action": "..."}, ...]
    signals = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=WarningStatus.choices)
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "day"], name="health_warning_group_day")
        ]
        verbose_name = _("health warning")
        verbose_name_plural = _("health warnings")

    def __str__(self) -> str:
        return f"{self.group_id} {self.day}: {self.score}"


class GroupScore(models.Model):
    """Each live group's score at the last evaluation, warned or not. The console's group table
    reads these rather than scoring every listed group on each page load."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="health_score")
    day = models.DateField()
    score = models.PositiveSmallIntegerField(null=True, blank=True)  # None: not enough data
    reason = models.CharField(max_length=32, blank=True, default="")
    signals = models.JSONField(default=list)
    evaluated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.group_id} {self.day}: {self.score}"


class WebhookDelivery(models.Model):
    warning = models.ForeignKey(HealthWarning, on_delete=models.CASCADE, related_name="deliveries")
    url = models.URLField()
    payload = models.JSONField(default=dict)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["warning", "url"], name="webhook_delivery_unique")
        ]

    def __str__(self) -> str:
        return f"{self.url} for warning {self.warning_id}"
