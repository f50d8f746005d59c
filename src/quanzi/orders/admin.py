"""Back-office views of orders: read-only, since every change goes through the services."""

from django.contrib import admin

from quanzi.core.admin import ReadOnlyAdmin
from quanzi.orders.models import AfterSale, Order, OrderLine


class LineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrderLine
    fields = (
        "name",
        "quantity",
        "unit_price_minor",
        "discount_minor",
        "total_minor",
        "refunded_minor",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "community", "status", "total_minor", "refunded_minor", "created_at"]
    list_filter = ["status", "provider", "needs_shipping"]
    search_fields = ["number"]
    exclude = ["ship_address_enc"]  # personal data: decrypted only where the permission is checked
    inlines = [LineInline]


@admin.register(AfterSale)
class AfterSaleAdmin(ReadOnlyAdmin):
    list_display = ["refund_no", "order", "kind", "amount_minor", "status", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["refund_no"]
