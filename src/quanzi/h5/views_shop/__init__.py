"""The member shop (H5): a community's shop, products, group-buy drops, checkout, paying, and
"My orders" with receipt, cancellation and refund requests.

Anyone may look at a shop; buying and orders need a signed-in member (see ``views``). A member
sees only their own orders: anybody else's order number is a 404, the same as a wrong one.

Placing an order is idempotent per checkout page: the page carries a one-time token, and the
token's order is remembered in the session under a lock on the member's row, so a double tap
or a resent form finds the first order instead of placing a second.
"""

# The views, in parts: the shop and drops (catalog), checkout and paying, my orders.
from quanzi.h5.views_shop.catalog import drop, drop_stock, product, shop
from quanzi.h5.views_shop.checkout import checkout, checkout_quote, pay, pay_status
from quanzi.h5.views_shop.orders import (
    case_evidence,
    case_return,
    case_withdraw,
    my_orders,
    order_cancel_view,
    order_detail,
    order_receive,
    refund_request,
)

__all__ = [
    "case_evidence",
    "case_return",
    "case_withdraw",
    "checkout",
    "checkout_quote",
    "drop",
    "drop_stock",
    "my_orders",
    "order_cancel_view",
    "order_detail",
    "order_receive",
    "pay",
    "pay_status",
    "product",
    "refund_request",
    "shop",
]
