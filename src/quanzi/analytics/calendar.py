"""Local days and weeks: every rollup and metric counts days in ``TIME_ZONE``, weeks from
Monday."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone


def _zone() -> Any:
    return timezone.get_default_timezone()


def local_day(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def day_start(day: date) -> datetime:
    """The first moment of a local day, aware."""
    return timezone.make_aware(datetime.combine(day, time.min), _zone())


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
