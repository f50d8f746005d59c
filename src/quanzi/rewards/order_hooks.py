"""What rewards gives at checkout: the discount of the member's growth level."""

from __future__ import annotations

from quanzi.orders.discounts import register_member_discount
from quanzi.rewards.selectors import level_discount_percent

register_member_discount(level_discount_percent)
