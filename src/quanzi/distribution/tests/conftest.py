"""Fixtures the distribution tests share."""

from __future__ import annotations

import pytest

from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community


@pytest.fixture
def home() -> Community:
    return community()
