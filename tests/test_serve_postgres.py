"""``quanzi serve`` on PostgreSQL: workers forked from the master never share its connection."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from quanzi.core.services.tokens import api_token_create
from quanzi.members.services import member_identify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str) -> int:
    # The URL is the loopback server this test started, never input.
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            json.loads(answer.read())
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_concurrent_requests_right_after_start_all_succeed(operator: Any, tmp_path: Path) -> None:
    # Given: a hub on the test database with members to list, and an operator token
    for n in range(30):
        member_identify(display_name=f"会员{n}", identities=[])
    token = api_token_create(username=operator.username, name="serve test")[1]
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    port = _free_port()
    environ = {**os.environ, "DATABASE_URL": url, "QUANZI_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "quanzi", "serve", "--port", str(port), "--workers", "3"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)

        # When: many requests at once in the first seconds, each a few queries long
        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(lambda _: _get(f"{base}/members?limit=20", token), range(240)))

        # Then: every one answered properly (a connection shared by the forked workers mixes
        # their queries up: 500s and wrong answers)
        assert statuses == [200] * 240
    finally:
        server.terminate()
        server.wait(timeout=30)
