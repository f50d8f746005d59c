from django.contrib import admin

from quanzi.core.models import Activity, ApiToken, JobRun, LedgerAccount, LedgerTransaction


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Append-only records are shown, never edited, in the back-office."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "kind", "member_id", "community_id", "group_id", "channel"]
    list_filter = ["kind", "source"]
    date_hierarchy = "occurred_at"


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "currency", "balance", "allow_negative"]
    search_fields = ["code", "name"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "occurred_at", "object_type", "object_id"]
    list_filter = ["kind"]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["job", "slot", "status", "attempts", "started_at", "finished_at"]
    list_filter = ["job", "status"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
