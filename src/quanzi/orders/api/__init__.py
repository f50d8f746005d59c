"""API v1 routes of the orders domain: checkout, payments, fulfilment, after-sales, drops."""

from ninja import Router

from quanzi.orders.api import aftersales, drops, fulfilment, orders, paying

router = Router()
# ``orders`` first: its fixed paths (/orders/quote, /orders/pick-list) must be matched before
# /orders/{number}.
for part in (orders, paying, fulfilment, aftersales, drops):
    router.add_router("", part.router)
