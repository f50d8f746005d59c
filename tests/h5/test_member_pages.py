"""The member pages (H5)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.django_db
def test_member_home_welcomes_without_a_login(client: Any) -> None:
    response = client.get("/m/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "欢迎来到圈子" in body
    assert 'class="tabbar"' in body
    assert 'aria-disabled="true"' not in body  # every tab leads somewhere


@pytest.mark.django_db
def test_member_home_follows_the_language_switch(client: Any) -> None:
    response = client.post("/i18n/setlang/", {"language": "ko", "next": "/m/"})
    assert response["Location"] == "/m/"

    body = client.get("/m/").content.decode()

    assert '<html lang="ko">' in body
    assert "크리스탈" in body
