from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API runs an event loop in the test thread; the ORM calls these tests
    make (fixtures, seeding) are plain synchronous calls, so Django's async guard is lifted for
    the test only (never process-wide: a subprocess would inherit it)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
