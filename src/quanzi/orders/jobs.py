"""Scheduled order work; each job is idempotent and safe to run twice or after a crash."""

from __future__ import annotations

from datetime import timedelta

from quanzi.core.scheduling import job
from quanzi.orders.services.aftersales import after_sales_refund_pending
from quanzi.orders.services.checkout import orders_expire
from quanzi.orders.services.drops import drops_settle
from quanzi.orders.services.fulfilment import orders_auto_receive


@job("orders.expire_unpaid", every=timedelta(minutes=1))
def expire_unpaid() -> str:
    """Cancel orders left unpaid past their time; their stock goes back on sale."""
    return f"{orders_expire()} order(s) lapsed"


@job("orders.settle_drops", every=timedelta(minutes=5))
def settle_drops() -> str:
    """Settle ended group-buys: below their minimum, cancel and refund every payment."""
    return f"{drops_settle()} drop(s) settled"


@job("orders.auto_receive", every=timedelta(hours=1))
def auto_receive() -> str:
    """Count shipped orders as received after the configured days."""
    return f"{orders_auto_receive()} order(s) received"


@job("orders.refunds_pending", every=timedelta(minutes=5))
def refunds_pending() -> str:
    """Start refunds approved but not yet sent to the provider (after a crash)."""
    return f"{after_sales_refund_pending()} refund(s) started"
