"""Stock moves only by conditional updates: never below zero, never created from nothing."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanzi.catalog.models import Sku
from quanzi.catalog.services.errors import CatalogError, NotReserved, OutOfStock
from quanzi.catalog.services.stock import stock_adjust, stock_release, stock_reserve
from quanzi.catalog.tests.factories import on_sale_sku, state
from quanzi.core.errors import NotFound
from quanzi.core.models import Activity

pytestmark = pytest.mark.django_db


def _counts(sku: Sku) -> tuple[int, int]:
    fresh = Sku.objects.get(pk=sku.pk)
    return fresh.stock, fresh.reserved


def test_a_reservation_moves_units_from_stock_to_reserved() -> None:
    sku = on_sale_sku(stock=10)
    stock_reserve(sku=sku, quantity=3)
    assert _counts(sku) == (7, 3)
    stock_release(sku=sku, quantity=2)
    assert _counts(sku) == (9, 1)


def test_reserving_more_than_is_left_is_a_409_that_changes_nothing() -> None:
    # Given
    sku = on_sale_sku(stock=2)
    before = state()

    # When
    with pytest.raises(OutOfStock) as refused:
        stock_reserve(sku=sku, quantity=3)

    # Then
    assert (refused.value.code, refused.value.status) == ("out_of_stock", 409)
    assert refused.value.fields == {"quantity": ["Sold out: not enough left in stock."]}
    assert state() == before


def test_releasing_more_than_is_reserved_is_refused() -> None:
    sku = on_sale_sku(stock=5)
    stock_reserve(sku=sku, quantity=1)
    before = state()
    with pytest.raises(NotReserved) as refused:
        stock_release(sku=sku, quantity=2)
    assert (refused.value.code, refused.value.status) == ("not_reserved", 409)
    assert state() == before


def test_an_adjustment_records_why_and_the_stock_after() -> None:
    sku = on_sale_sku(stock=5)
    after = stock_adjust(sku=sku, delta=-2, reason="2 boxes spoiled", actor_id=7)
    assert (after.stock, after.reserved) == (3, 0)
    last = Activity.objects.order_by("pk").last()
    assert last is not None
    assert (last.object_type, last.object_id, last.actor_id, last.data) == (
        "sku",
        str(sku.pk),
        7,
        {"action": "stock_adjusted", "delta": -2, "reason": "2 boxes spoiled", "stock": 3},
    )


def test_an_adjustment_below_zero_is_refused_not_clamped() -> None:
    sku = on_sale_sku(stock=5)
    stock_reserve(sku=sku, quantity=4)
    before = state()
    with pytest.raises(OutOfStock):
        stock_adjust(sku=sku, delta=-2, reason="miscount")
    assert state() == before
    assert _counts(sku) == (1, 4)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: stock_reserve(sku=s, quantity=0), "quantity"),
        (lambda s: stock_release(sku=s, quantity=-1), "quantity"),
        (lambda s: stock_adjust(sku=s, delta=0, reason="x"), "delta"),
        (lambda s: stock_adjust(sku=s, delta=5, reason="  "), "reason"),
    ],
)
def test_nonsense_quantities_are_refused(call: object, field: str) -> None:
    sku = on_sale_sku(stock=5)
    before = state()
    with pytest.raises(CatalogError) as refused:
        call(sku)  # type: ignore[operator]
    assert list(refused.value.fields) == [field]
    assert state() == before


def test_a_missing_sku_is_not_found_rather_than_out_of_stock() -> None:
    with pytest.raises(NotFound):
        stock_reserve(sku=Sku(pk=987_654), quantity=1)


def test_the_database_refuses_negative_stock_even_from_a_careless_update() -> None:
    sku = on_sale_sku(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Sku.objects.filter(pk=sku.pk).update(stock=F("stock") - 2)
    assert _counts(sku) == (1, 0)


def _apply(sku: Sku, op: str, n: int) -> None:
    if op == "adjust":
        stock_adjust(sku=sku, delta=n, reason="count")
    elif op == "reserve":
        stock_reserve(sku=sku, quantity=n)
    else:
        stock_release(sku=sku, quantity=n)


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "release", "adjust"]),
        st.integers(min_value=-6, max_value=6).filter(bool),
    ),
    max_size=30,
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(initial=st.integers(min_value=0, max_value=8), ops=operations)
def test_random_reserve_release_adjust_sequences_never_oversell(
    initial: int, ops: list[tuple[str, int]]
) -> None:
    # Given: a fresh SKU per example (examples share the test's transaction)
    sku = on_sale_sku(stock=initial)
    stock, reserved, adjusted = initial, 0, 0

    for op, n in ops:
        # When: each operation, against a model of what it must do
        if op == "adjust":
            ok = stock + n >= 0
        elif op == "reserve":
            n = abs(n)
            ok = stock >= n
        else:
            n = abs(n)
            ok = reserved >= n
        if ok:
            _apply(sku, op, n)
            if op == "adjust":
                stock, adjusted = stock + n, adjusted + n
            elif op == "reserve":
                stock, reserved = stock - n, reserved + n
            else:
                stock, reserved = stock + n, reserved - n
        else:
            with pytest.raises((OutOfStock, NotReserved)):
                _apply(sku, op, n)

        # Then: exactly the model, never below zero, no unit made or lost
        real_stock, real_reserved = _counts(sku)
        assert (real_stock, real_reserved) == (stock, reserved)
        assert real_stock >= 0
        assert real_reserved >= 0
        assert real_stock + real_reserved == initial + adjusted
