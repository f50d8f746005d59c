"""The API speaks English unless Accept-Language asks otherwise; the error code never changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from quanzi.communities.models import Community
from quanzi.communities.services.setup import community_create

pytestmark = pytest.mark.django_db

TAKEN = {"slug": "english", "name": "Other", "kind": "product"}


@pytest.fixture
def circle(db: None) -> Community:
    return community_create(slug="english", name="晨读英语圈", kind="resource")


def _refusal(api: Any, **headers: str) -> tuple[int, dict[str, Any], Any]:
    response = api.post("/api/v1/communities", TAKEN, headers=headers)
    return response.status_code, response.json()["error"], response


def test_a_refusal_is_in_english_by_default(api: Any, circle: Community) -> None:
    status, error, response = _refusal(api)

    assert status == 409
    assert error == {
        "code": "conflict",
        "message": "A community with slug 'english' exists already.",
        "fields": {"slug": ["A community with slug 'english' exists already."]},
    }
    assert response["Content-Language"] == "en"
    assert "Accept-Language" in response["Vary"]
    assert Community.objects.count() == 1


def test_the_console_language_cookie_does_not_change_the_api(
    api: Any, client: Any, circle: Community
) -> None:
    client.cookies["quanzi_language"] = "zh-hans"

    _, error, _ = _refusal(api)

    assert error["message"] == "A community with slug 'english' exists already."


@pytest.mark.parametrize(
    ("accept", "message"),
    [
        ("zh-CN", "链接短名为 'english' 的社群已存在。"),
        ("zh-Hans,en;q=0.5", "链接短名为 'english' 的社群已存在。"),
        ("ko-KR,ko;q=0.9", "링크용 짧은 이름이 'english'인 커뮤니티가 이미 있습니다."),
        ("fr-FR,*;q=0.5", "A community with slug 'english' exists already."),
        ("en-US,zh-CN;q=0.8", "A community with slug 'english' exists already."),
    ],
)
def test_accept_language_asks_for_a_supported_language(
    api: Any, circle: Community, accept: str, message: str
) -> None:
    status, error, _ = _refusal(api, **{"Accept-Language": accept})

    assert status == 409
    assert error == {"code": "conflict", "message": message, "fields": {"slug": [message]}}


def test_api_messages_of_its_own_follow_the_header_too(api: Any) -> None:
    response = api.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN"})

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "没有这个 API 接口。",
        "fields": {},
    }


def test_a_request_leaves_no_language_behind_for_the_next(api: Any, circle: Community) -> None:
    _refusal(api, **{"Accept-Language": "zh-CN"})
    with translation.override("zh-hans"):
        _, error, _ = _refusal(api)

    assert error["message"] == "A community with slug 'english' exists already."
