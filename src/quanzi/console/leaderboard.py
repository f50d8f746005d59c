"""What the distribution and crystal overviews share: the leaderboard's period, chosen with
``?days=``, and each leader's rank and bar length."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from django.http import HttpRequest

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30

_Row = TypeVar("_Row")


def period_days(request: HttpRequest) -> int:
    """The days the page asked for; anything but one of ``PERIODS`` is the default."""
    try:
        days = int(request.GET.get("days", DEFAULT_PERIOD))
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def ranked(rows: Sequence[_Row], value: Callable[[_Row], int]) -> Iterator[tuple[int, _Row, int]]:
    """(rank from 1, row, its bar as a percentage of the first's) for rows best first."""
    top = max((value(r) for r in rows), default=0)
    for rank, row in enumerate(rows, start=1):
        yield rank, row, round(value(row) * 100 / top) if top else 0
