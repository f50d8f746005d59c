"""Fixtures for the core primitives' tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from quanzi.core import scheduling


@pytest.fixture
def job_registry() -> Iterator[dict[str, scheduling.Job]]:
    """The module-level job registry, put back as it was after the test."""
    saved = dict(scheduling._REGISTRY)
    try:
        yield scheduling._REGISTRY
    finally:
        scheduling._REGISTRY.clear()
        scheduling._REGISTRY.update(saved)


class Counter:
    """A job body that counts its runs and can be told to fail."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail = False

    def __call__(self) -> str:
        self.runs += 1
        if self.fail:
            raise RuntimeError(f"boom on run {self.runs}")
        return f"ran {self.runs}"


@pytest.fixture
def counting_job(job_registry: dict[str, scheduling.Job]) -> Callable[..., Counter]:
    """Register a test job that counts its runs; removed again after the test."""

    def register(name: str = "test.count", every: timedelta = timedelta(hours=1)) -> Counter:
        counter = Counter()
        scheduling.job(name, every=every)(counter)
        return counter

    return register
