"""Back-office views of rewards: read-only; every change goes through the services, which
post to the ledger and record the activity."""

from django.contrib import admin

from quanzi.core.admin import ReadOnlyAdmin
from quanzi.rewards.models import (
    CrystalGrant,
    CrystalReward,
    CrystalRule,
    GrowthLevel,
    MemberLevel,
    Redemption,
    RewardSettings,
)


@admin.register(RewardSettings)
class RewardSettingsAdmin(ReadOnlyAdmin):
    list_display = ["community", "daily_cap", "weekly_cap", "expiry_days", "updated_at"]


@admin.register(CrystalRule)
class CrystalRuleAdmin(ReadOnlyAdmin):
    list_display = ["community", "action", "amount", "daily_cap", "weekly_cap", "active"]
    list_filter = ["action", "active"]


@admin.register(CrystalGrant)
class CrystalGrantAdmin(ReadOnlyAdmin):
    list_display = [
        "earned_at",
        "community",
        "member",
        "action",
        "source",
        "amount",
        "remaining",
        "clawed",
        "expired",
        "expires_at",
    ]
    list_filter = ["action"]
    search_fields = ["source"]
    date_hierarchy = "earned_at"


@admin.register(CrystalReward)
class CrystalRewardAdmin(ReadOnlyAdmin):
    list_display = ["name", "community", "kind", "cost", "stock", "active"]
    list_filter = ["kind", "active"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["code", "community", "member", "name", "crystals", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["code"]


@admin.register(GrowthLevel)
class GrowthLevelAdmin(ReadOnlyAdmin):
    list_display = ["community", "level", "min_earned", "discount_percent", "group", "badge"]


@admin.register(MemberLevel)
class MemberLevelAdmin(ReadOnlyAdmin):
    list_display = ["community", "member", "level", "earned_total", "reached_at"]
    list_filter = ["level"]
