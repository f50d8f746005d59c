"""Back-office views of payments and refunds: read-only; money moves through the services."""

from django.contrib import admin

from quanzi.core.admin import ReadOnlyAdmin
from quanzi.payments.models import Payment, Refund


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "out_trade_no",
        "provider",
        "status",
        "amount_minor",
        "refunded_minor",
        "paid_at",
    ]
    list_filter = ["provider", "status"]
    search_fields = ["out_trade_no", "reference", "transaction_id"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["out_refund_no", "payment", "amount_minor", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["out_refund_no", "reference"]
