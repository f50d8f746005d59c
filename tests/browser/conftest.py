from __future__ import annotations

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls these tests make
# (fixtures, seeding) are still plain synchronous calls, so Django's async guard is lifted here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session", autouse=True)
def _compiled_messages() -> None:
    from quanzi.i18n import compile_messages

    compile_messages()
