"""The orders app hears of payments and refunds here (registered at start-up)."""

from __future__ import annotations

from quanzi.orders.services.aftersales import after_sale_apply_refund, after_sale_refund_failed
from quanzi.orders.services.paying import order_apply_payment
from quanzi.payments import hooks

hooks.on_payment_succeeded(order_apply_payment)
hooks.on_refund_succeeded(after_sale_apply_refund)
hooks.on_refund_failed(after_sale_refund_failed)
