"""Day bits: a set holds exactly the days within reach of its anchor, whatever order the days
came in, and a period's mask picks out exactly its days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanzi.analytics import daybits

BASE = date(2026, 1, 1)
days = st.integers(0, 900).map(lambda n: BASE + timedelta(days=n))


def reachable(found: set[date], anchor: date) -> set[date]:
    return {d for d in found if anchor - timedelta(days=daybits.window()) < d <= anchor}


@given(st.sets(days, min_size=1))
def test_a_set_holds_the_days_in_reach_of_its_anchor(found: set[date]) -> None:
    anchor = max(found)
    bits = daybits.encode(found, anchor)
    assert daybits.decode(bits, anchor) == reachable(found, anchor)
    assert all(0 <= column < 2**daybits.COLUMN_BITS for column in bits)


@given(st.lists(st.sets(days, max_size=12), min_size=1, max_size=6))
def test_days_merged_in_any_order_keep_what_is_in_reach(batches: list[set[date]]) -> None:
    anchor: date | None = None
    bits: tuple[int, ...] | None = None
    for batch in batches:
        anchor, bits = daybits.merge(anchor, bits, batch)
    everything = set().union(*batches)
    if not everything:
        assert anchor is None
        return
    assert anchor == max(everything)
    assert bits is not None
    assert daybits.decode(bits, anchor) == reachable(everything, anchor)


@given(days, st.integers(1, 378), st.sets(days))
def test_a_mask_picks_out_the_days_of_its_period(
    start: date, length: int, found: set[date]
) -> None:
    end = start + timedelta(days=length)
    anchor = max([end - timedelta(days=1), *found])
    if start <= anchor - timedelta(days=daybits.window()):
        return  # the period reaches past the set's reach: not a question the bits answer
    bits = daybits.encode(found, anchor)
    masks = daybits.masks(start, end)
    hit = any(b & m for b, m in zip(bits, masks, strict=True))
    assert hit == any(start <= d < end for d in found)


def test_a_period_longer_than_the_reach_has_no_mask() -> None:
    with pytest.raises(ValueError, match="more than 378 days"):
        daybits.masks(BASE, BASE + timedelta(days=379))
