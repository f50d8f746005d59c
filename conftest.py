"""Fixtures shared by every test.

Tests that need a real service say so with a marker or fixture. Without the service they are
skipped, so the suite passes on SQLite with nothing running; CI sets QUANZI_REQUIRE_SERVICES=1,
which turns every such skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

REQUIRE_SERVICES = os.environ.get("QUANZI_REQUIRE_SERVICES") == "1"
ARTIFACTS = Path(os.environ.get("QUANZI_ARTIFACTS", Path(__file__).parent / "artifacts"))


def need(reason: str) -> None:
    """Skip for a missing service, or fail when CI said every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _postgres_marker(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        need("needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    """dev.py compiles the catalogues at install; a bare pytest run compiles them here."""
    from quanzi.i18n import compile_messages

    compile_messages()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Services word their refusals in the active language; tests that call a service directly
    read them in English. A request through the test client still takes its language from the
    middleware (console and member pages Chinese by default, the API English)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _rollups_see_everything(settings: Any) -> None:
    # Tests refresh the analytics rollups right after writing; nothing is in flight.
    settings.QUANZI_ROLLUP_SETTLE_SECONDS = 0


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    # Operators are created in many tests; the production hasher takes a third of a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(db: None) -> Any:
    from quanzi.core.services.tokens import operator_create

    user, _ = operator_create(username="owner", password="a-Long-enough-pass-42")
    return user


@pytest.fixture
def api_token(operator: Any) -> str:
    from quanzi.core.services.tokens import api_token_create

    _, raw = api_token_create(username=operator.username, name="tests")
    return raw


@pytest.fixture
def api(client: Any, api_token: str) -> Any:
    """A test client that sends the operator's bearer token with every request."""

    class Api:
        def __init__(self) -> None:
            self.headers = {"Authorization": f"Bearer {api_token}"}

        def get(self, path: str, **kw: Any) -> Any:
            return client.get(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

        def post(self, path: str, data: Any = None, **kw: Any) -> Any:
            import json

            body = data if isinstance(data, (str, bytes)) else json.dumps(data or {})
            return client.post(
                path,
                body,
                content_type=kw.pop("content_type", "application/json"),
                headers={**self.headers, **kw.pop("headers", {})},
                **kw,
            )

    return Api()


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``quanzi.core.clock.now()`` under the test's control: ``frozen_clock.set(moment)``,
    ``frozen_clock.advance(timedelta(...))``. Starts at the real now."""
    from datetime import datetime, timedelta

    from django.utils import timezone

    from quanzi.core import clock

    class Frozen:
        def __init__(self) -> None:
            self.moment = timezone.now()

        def set(self, moment: datetime) -> None:
            self.moment = moment

        def advance(self, delta: timedelta) -> datetime:
            self.moment += delta
            return self.moment

        def __call__(self) -> datetime:
            return self.moment

    frozen = Frozen()
    monkeypatch.setattr(clock, "now", frozen)
    return frozen


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("QUANZI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        need(f"needs Redis at {url}")
    return url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("QUANZI_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists() and not shutil.which(path):
        need(f"needs Chromium at {path} (apt-get install chromium)")
    return path


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        try:
            yield instance
        finally:
            instance.close()
