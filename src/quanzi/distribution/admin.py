"""Back-office views of distribution: read-only; decisions go through the services, which
record who decided and why."""

from django.contrib import admin

from quanzi.core.admin import ReadOnlyAdmin
from quanzi.distribution.models import CommissionRule, Distributor


@admin.register(Distributor)
class DistributorAdmin(ReadOnlyAdmin):
    list_display = ["member", "community", "role", "status", "applied_at", "decided_at"]
    list_filter = ["role", "status"]


@admin.register(CommissionRule)
class CommissionRuleAdmin(ReadOnlyAdmin):
    list_display = ["community", "level", "kind", "percent_bp", "fixed_minor", "role", "active"]
    list_filter = ["level", "kind", "active"]
