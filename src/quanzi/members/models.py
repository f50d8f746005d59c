"""Members and their identities.

One member, many identities: a WeChat unionid, openids per app, a WeCom external_userid, a phone
number, an e-mail address, buyer ids on public platforms. Identity values are personal data:
stored encrypted, found through a keyed hash, shown masked.
"""

from __future__ import annotations

from datetime import time

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """Lifecycle stage (顾客→用户→粉丝→铁粉); empty until the first paid order."""

    NONE = "", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    USER = "user", _("User")
    FAN = "fan", _("Fan")
    IRON_FAN = "iron_fan", _("Iron fan")


class Level(models.TextChoices):
    """Growth level (新手→种子用户→核心→意见领袖)."""

    NOVICE = "novice", _("Novice")
    SEED = "seed", _("Seed user")
    CORE = "core", _("Core member")
    KOL = "kol", _("KOL")


class IdentityKind(models.TextChoices):
    WECHAT_UNIONID = "wechat_unionid", _("WeChat unionid")
    WECHAT_OPENID = "wechat_openid", _("WeChat openid")
    WECOM = "wecom_external_userid", _("WeCom external contact")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    PLATFORM_BUYER = "platform_buyer", _("Platform buyer id")


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    display_name = models.CharField(max_length=100)
    note = models.CharField(max_length=500, blank=True, default="")
    source_channel = models.CharField(max_length=64, blank=True, default="")
    source_content = models.CharField(max_length=128, blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="members")
    interests = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)

    consent_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.CharField(max_length=32, blank=True, default="")
    marketing_opt_out = models.BooleanField(default=False)
    opt_out_at = models.DateTimeField(null=True, blank=True)
    quiet_start = models.TimeField(default=time(22, 0))
    quiet_end = models.TimeField(default=time(8, 0))

    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, default="")
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.NOVICE)

    # A merged member points at the one that absorbed it; its own row stays, so that the
    # activity log's old member ids still resolve.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed"
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["stage"], name="member_stage"),
            models.Index(fields=["source_channel"], name="member_source_channel"),
        ]
        permissions = [
            ("view_personal_data", "Can see members' phone numbers and ids unmasked"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_active_record(self) -> bool:
        return self.merged_into_id is None and self.anonymised_at is None


class Identity(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=32, choices=IdentityKind.choices)
    # The app id of an openid, the platform of a buyer id; empty where the kind needs none.
    namespace = models.CharField(max_length=64, blank=True, default="")
    value_hash = models.CharField(max_length=64)
    value_encrypted = models.TextField()
    value_masked = models.CharField(max_length=64)
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "namespace", "value_hash"], name="identity_unique_value"
            ),
        ]
        verbose_name_plural = _("identities")

    def __str__(self) -> str:
        return f"{self.kind}:{self.value_masked}"
