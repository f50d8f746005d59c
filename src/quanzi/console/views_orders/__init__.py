"""Console pages for orders, shipping and after-sales of one community.

Orders: a filtered, paginated list with a strip of key figures, and one order's page with its
lines, money, member, address (masked unless the operator may see personal data and asks),
payments, shipment, after-sales cases and activity, and the actions an operator takes on it.
Shipping: the pick list and the orders to ship, each with a ship form, and both as Excel.
After-sales: the open cases with their evidence, to approve, refuse or mark returned.

Reads through the orders selectors (and a few small queries); writes through the orders and
payments services, whose refusals are shown next to the field they name.
"""

# The views, in parts: orders, shipping, after-sales.
from quanzi.console.views_orders.aftersales import (
    after_sale_approve_view,
    after_sale_reject_view,
    after_sale_returned_view,
    after_sales,
    after_sales_home,
    evidence_file,
)
from quanzi.console.views_orders.orders import (
    order_cancel_view,
    order_confirm,
    order_delivered,
    order_detail,
    order_list,
    order_refund,
    order_reveal,
    order_ship_view,
    orders_home,
)
from quanzi.console.views_orders.shipping import (
    shipping,
    shipping_export,
    shipping_home,
    shipping_ship,
)

__all__ = [
    "after_sale_approve_view",
    "after_sale_reject_view",
    "after_sale_returned_view",
    "after_sales",
    "after_sales_home",
    "evidence_file",
    "order_cancel_view",
    "order_confirm",
    "order_delivered",
    "order_detail",
    "order_list",
    "order_refund",
    "order_reveal",
    "order_ship_view",
    "orders_home",
    "shipping",
    "shipping_export",
    "shipping_home",
    "shipping_ship",
]
