"""A member's days of the last year as bits: on which days they interacted in a scope, paid, or
paid twice. Kept in a few integer columns of their fact (``MemberFact``), they make "did they,
between these days?" a mask test inside the one pass over the members that a period's counts
make anyway, instead of a join of the members with their member-days or orders.

Day ``d`` takes bit ``d.toordinal() % window()`` of the set, spread over ``COLUMNS`` integers
of ``COLUMN_BITS`` bits each (63: an integer column stays positive on both databases, so
``x & (x - 1)`` never overflows). A set is kept against an anchor, the member's last such day,
and holds exactly the days in ``(anchor - window(), anchor]``: a later day moves the anchor
and drops the days it pushes out of reach, so a bit never stands for a day a year older.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

COLUMNS = 6
COLUMN_BITS = 63

Bits = tuple[int, ...]
EMPTY: Bits = (0,) * COLUMNS


def window() -> int:
    """How many days a set reaches back from its anchor, the anchor included (378)."""
    return COLUMNS * COLUMN_BITS


def position(day: date) -> int:
    return day.toordinal() % window()


def in_reach(day: date, anchor: date) -> bool:
    return anchor - timedelta(days=window()) < day <= anchor


def encode(days: Iterable[date], anchor: date) -> Bits:
    """The set of ``days`` within reach of ``anchor``; days out of reach are left out."""
    columns = [0] * COLUMNS
    for day in days:
        if in_reach(day, anchor):
            spot = position(day)
            columns[spot // COLUMN_BITS] |= 1 << (spot % COLUMN_BITS)
    return tuple(columns)


def decode(bits: Sequence[int], anchor: date) -> set[date]:
    """The days a set stands for."""
    days = set()
    top = position(anchor)
    for index, value in enumerate(bits):
        while value:
            low = value & -value
            spot = index * COLUMN_BITS + low.bit_length() - 1
            days.add(anchor - timedelta(days=(top - spot) % window()))
            value ^= low
    return days


def merge(
    anchor: date | None, bits: Sequence[int] | None, days: Iterable[date]
) -> tuple[date | None, Bits]:
    """A stored set (``anchor``, ``bits``) with more ``days`` added: the new anchor and set."""
    known = decode(bits, anchor) if anchor is not None and bits is not None else set()
    known.update(days)
    if not known:
        return anchor, tuple(bits) if bits is not None else EMPTY
    last = max(known)
    if anchor is not None and anchor > last:
        last = anchor
    return last, encode(known, last)


def masks(start: date, end: date) -> Bits:
    """The bits of the days ``[start, end)``, a span of at most ``window()`` days."""
    if (end - start).days > window():
        raise ValueError(f"a span of more than {window()} days has no mask")
    days = (start + timedelta(days=n) for n in range((end - start).days))
    return encode(days, end - timedelta(days=1))
