"""Commission from a shared link to a payout: accrued on the amount paid, matured when the
return window closes, reversed or clawed back on refunds, paid out once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.communities.tests.factories import community
from quanzi.distribution.models import Commission, CommissionStatus
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.tests.factories import (
    approved,
    payable,
    pending,
    percent,
    received,
    refund,
    shared,
)
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db


def test_a_shared_sale_accrues_pending_commission_on_the_amount_paid(frozen_clock: Any) -> None:
    home = community()
    sku = goods(home, price_minor=8_800)
    sharer, friend = member(), member()
    approved(home, sharer)
    percent(home, 1_000)  # 10 %

    order = shared(sku, sharer, friend)

    line = order.lines.get()
    assert pending(home, sharer) == line.total_minor // 10 == 880
    commission = Commission.objects.get()
    assert commission.status == CommissionStatus.PENDING
    assert payable(home, sharer) == 0


def test_commission_matures_after_the_return_window_and_refunds_claw_back(
    frozen_clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    home = community()
    sku = goods(home, price_minor=10_000)
    sharer, friend = member(), member()
    approved(home, sharer)
    percent(home, 1_000)
    order = shared(sku, sharer, friend)
    received(order)

    frozen_clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert commissions_mature_due() == 0
    frozen_clock.advance(timedelta(seconds=1))
    assert commissions_mature_due() == 1
    assert commissions_mature_due() == 0  # run twice: nothing again
    assert (pending(home, sharer), payable(home, sharer)) == (0, 1_000)

    with django_capture_on_commit_callbacks(execute=True):
        refund(order, 4_000)
    assert payable(home, sharer) == 600
    commission = Commission.objects.get()
    assert (commission.clawed_minor, commission.reversed_minor) == (400, 0)
