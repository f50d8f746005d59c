"""Stock under real concurrency (PostgreSQL only, real threads, one connection each)."""

from __future__ import annotations

import pytest

from quanzi.catalog.models import Sku
from quanzi.catalog.services.errors import OutOfStock
from quanzi.catalog.services.stock import stock_adjust, stock_release, stock_reserve
from quanzi.catalog.tests.factories import on_sale_sku
from quanzi.members.tests.factories import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_fifty_buyers_for_ten_units_reserve_exactly_ten() -> None:
    # Given
    sku = on_sale_sku(stock=10)

    # When
    results = in_threads(50, lambda i: stock_reserve(sku=sku, quantity=1))

    # Then: ten reserved, forty told it is sold out, nothing else went wrong
    won = [r for r in results if r is None]
    lost = [r for r in results if isinstance(r, OutOfStock)]
    assert (len(won), len(lost)) == (10, 40), [r for r in results if r is not None][:3]
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (0, 10)


def test_reserves_releases_and_restocks_at_once_lose_no_unit() -> None:
    # Given: 20 in stock, 10 of them already reserved
    sku = on_sale_sku(stock=20)
    stock_reserve(sku=sku, quantity=10)

    # When: 30 threads at once; a third reserve, a third release, a third add a unit
    def act(i: int) -> object:
        if i % 3 == 0:
            return stock_reserve(sku=sku, quantity=1)
        if i % 3 == 1:
            return stock_release(sku=sku, quantity=1)
        return stock_adjust(sku=sku, delta=1, reason="restock")

    results = in_threads(30, act)

    # Then: every call succeeded (there was always enough) and the units add up exactly:
    # 10 taken from stock, 10 returned to it, 10 added; 20 + 10 units in all
    assert [r for r in results if isinstance(r, Exception)] == []
    fresh = Sku.objects.get(pk=sku.pk)
    assert (fresh.stock, fresh.reserved) == (20, 10)
