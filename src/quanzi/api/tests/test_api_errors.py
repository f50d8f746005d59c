"""Every refusal of the API has one shape: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from quanzi.core.models import Activity

pytestmark = pytest.mark.django_db

URL = "/api/v1/activities"


def _error(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]


def _written() -> int:
    return Activity.objects.filter(source="api").count()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer qz_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic b3duZXI6cGFzcw=="},
        {"Authorization": "Bearer " + "qz_" + "x" * 300},
    ],
    ids=["none", "wrong", "empty", "basic", "too-long"],
)
def test_no_or_a_wrong_token_is_401_unauthorized(
    client: Client, operator: Any, headers: dict[str, str]
) -> None:
    # When
    listed = client.get(URL, headers=headers)
    posted = client.post(
        URL, json.dumps({"kind": "join"}), content_type="application/json", headers=headers
    )

    # Then
    for response in (listed, posted):
        assert response.status_code == 401
        assert _error(response) == {
            "code": "unauthorized",
            "message": "Send a valid operator token: Authorization: Bearer qz_...",
            "fields": {},
        }
        assert response["WWW-Authenticate"] == 'Bearer realm="quanzi"'
    assert _written() == 0


@pytest.mark.parametrize("body", ["{bad", '{"kind": "join",}', b"\xff\xfe"])
def test_a_malformed_json_body_is_400_malformed_json(api: Any, body: str | bytes) -> None:
    response = api.post(URL, body)

    assert response.status_code == 400
    assert _error(response) == {
        "code": "malformed_json",
        "message": "The request body is not valid JSON.",
        "fields": {},
    }
    assert _written() == 0


def test_a_field_error_is_422_naming_the_field(api: Any) -> None:
    response = api.post(URL, {"kind": "teleport", "member_id": "forty-two", "currency": "BTC"})

    assert response.status_code == 422
    error = _error(response)
    assert (error["code"], error["message"]) == ("invalid", "Some fields are invalid.")
    assert sorted(error["fields"]) == ["currency", "kind", "member_id"]
    assert error["fields"]["kind"][0].startswith("unknown kind; use one of visit, join,")
    assert error["fields"]["currency"][0].startswith("unknown currency; use one of CNY,")
    assert _written() == 0


def test_a_missing_field_is_422_naming_the_field(api: Any) -> None:
    response = api.post(URL, {"member_id": 1})

    assert response.status_code == 422
    assert _error(response)["fields"] == {"kind": ["Field required"]}
    assert _written() == 0


def test_a_refusal_from_a_service_is_422_with_its_field(api: Any) -> None:
    response = api.post(URL, {"kind": "join", "occurred_at": "2999-01-01T00:00:00Z"})

    assert response.status_code == 422
    assert _error(response) == {
        "code": "invalid",
        "message": "An activity cannot happen in the future.",
        "fields": {"occurred_at": ["An activity cannot happen in the future."]},
    }
    assert _written() == 0


def test_a_time_without_a_zone_is_422_not_a_server_error(api: Any) -> None:
    response = api.post(URL, {"kind": "join", "occurred_at": "2024-05-01T10:00:00"})

    assert response.status_code == 422
    assert _error(response)["fields"] == {
        "occurred_at": ["The time needs a time zone, like 2024-05-01T10:00:00+08:00."]
    }
    assert _written() == 0


def test_a_valid_activity_is_201_with_the_stored_row(api: Any, operator: Any) -> None:
    response = api.post(
        URL,
        {
            "kind": "pay",
            "occurred_at": "2024-05-01T10:00:00+08:00",
            "member_id": 7,
            "amount_minor": 9900,
            "currency": "CNY",
            "object_type": "order",
            "object_id": "A-1",
        },
    )

    assert response.status_code == 201
    body = response.json()
    stored = Activity.objects.get(pk=body["id"])
    assert (stored.kind, stored.member_id, stored.amount_minor, stored.currency) == (
        "pay",
        7,
        9900,
        "CNY",
    )
    assert (stored.actor_id, stored.source, stored.object_id) == (operator.pk, "api", "A-1")
    assert stored.occurred_at.isoformat() == "2024-05-01T02:00:00+00:00"
    assert body["occurred_at"].startswith("2024-05-01T")


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/activities/1/nope", "/api/v2/health"])
def test_an_unknown_endpoint_is_404_in_the_same_shape(api: Any, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 404
    assert _error(response) == {
        "code": "not_found",
        "message": "No such API endpoint.",
        "fields": {},
    }


def test_a_wrong_method_is_405_in_the_same_shape(api: Any) -> None:
    response = api.post("/api/v1/health", {})

    assert response.status_code == 405
    assert _error(response) == {
        "code": "method_not_allowed",
        "message": "This endpoint does not take that method.",
        "fields": {},
    }
    assert response["Allow"] == "GET"


def test_pages_come_with_count_and_next_offset(api: Any) -> None:
    # Given five activities, the newest last
    for member in range(5):
        assert api.post(URL, {"kind": "visit", "member_id": member}).status_code == 201

    # When
    first = api.get(URL + "?kind=visit&limit=2")
    middle = api.get(URL + "?kind=visit&limit=2&offset=2")
    last = api.get(URL + "?kind=visit&limit=2&offset=4")
    beyond = api.get(URL + "?kind=visit&limit=2&offset=10")

    # Then
    pages = [r.json() for r in (first, middle, last, beyond)]
    assert [(p["count"], p["limit"], p["offset"], p["next_offset"]) for p in pages] == [
        (5, 2, 0, 2),
        (5, 2, 2, 4),
        (5, 2, 4, None),
        (5, 2, 10, None),
    ]
    members = [[item["member_id"] for item in p["items"]] for p in pages]
    assert members == [[4, 3], [2, 1], [0], []]


def test_the_default_page_is_fifty_and_filters_narrow_the_count(api: Any) -> None:
    api.post(URL, {"kind": "visit", "member_id": 1, "channel": "weibo"})
    api.post(URL, {"kind": "visit", "member_id": 2, "channel": "douyin"})

    page = api.get(URL + "?channel=weibo").json()

    assert (page["count"], page["limit"], page["offset"], page["next_offset"]) == (1, 50, 0, None)
    assert [item["member_id"] for item in page["items"]] == [1]


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=500", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset")],
)
def test_a_page_size_out_of_range_is_422_naming_the_field(api: Any, query: str, field: str) -> None:
    response = api.get(f"{URL}?{query}")

    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]


def test_a_bad_filter_is_422_naming_the_field(api: Any) -> None:
    response = api.get(URL + "?since=yesterday")

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == ["since"]


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="SQLite stores NUL; PostgreSQL refuses it in text",
)
def test_a_nul_character_postgresql_cannot_store_is_422_not_a_server_error(api: Any) -> None:
    from quanzi.members.models import Member

    before = Member.objects.count()

    escaped = api.post("/api/v1/members", '{"display_name": "阿\\u0000芳"}')
    query = api.get("/api/v1/members?q=%00")

    for response in (escaped, query):
        assert response.status_code == 422, response.content
        assert response.json()["error"]["code"] == "invalid"
        assert "NUL" in response.json()["error"]["message"]
    assert Member.objects.count() == before
