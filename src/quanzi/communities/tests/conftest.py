"""Fixtures for the communities tests: a clock that starts at a known moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Saturday morning in Shanghai, well inside waking hours; every test moves time from here.
START = datetime(2025, 3, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock_at(frozen_clock: Any) -> Any:
    """The frozen clock, set to ``START``. Services are given ``now=`` from it too."""
    frozen_clock.set(START)
    return frozen_clock
