from django.contrib import admin

from quanzi.catalog.models import Drop, Product, ShippingRule, ShippingTemplate, Sku


class SkuInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Sku
    fields = ["options", "price_minor", "stock", "reserved"]
    # Stock moves only through the stock services (conditional updates, an activity row each);
    # a form saving a number read a minute ago would undo sales made since.
    readonly_fields = ["options", "stock", "reserved"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "community", "kind", "price_minor", "currency", "active"]
    list_filter = ["kind", "active", "cold_chain"]
    search_fields = ["name"]
    readonly_fields = ["community", "kind", "currency", "plan"]
    inlines = [SkuInline]


class ShippingRuleInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ShippingRule
    fields = ["regions", "first_fee_minor", "additional_fee_minor", "free_over_minor"]
    extra = 0


@admin.register(ShippingTemplate)
class ShippingTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "community", "currency"]
    inlines = [ShippingRuleInline]


@admin.register(Drop)
class DropAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "title",
        "community",
        "starts_at",
        "ends_at",
        "units",
        "stock",
        "sold",
        "status",
    ]
    list_filter = ["status"]
    # Stock and status move through the drop services and the settlement job only.
    readonly_fields = [
        "community",
        "product",
        "sku",
        "units",
        "stock",
        "reserved",
        "sold",
        "status",
    ]
