"""API v1: growth levels and a member's level."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from quanzi.communities.models import Community
from quanzi.communities.tests.factories import group
from quanzi.rewards.models import GrowthLevel
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.tests.factories import award, circle, member

pytestmark = pytest.mark.django_db


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


def _put(client: Client, api: Any, path: str, body: dict[str, Any]) -> Any:
    return client.put(path, json.dumps(body), content_type="application/json", headers=api.headers)


@pytest.fixture
def home() -> Community:
    return circle()


def test_levels_are_set_listed_and_a_member_reaches_one(
    client: Client, api: Any, home: Community, django_capture_on_commit_callbacks: Any
) -> None:
    url = f"/api/v1/communities/{home.slug}/growth-levels"
    team = group(home)
    with django_capture_on_commit_callbacks(execute=True):
        seed = _put(client, api, f"{url}/seed", {"min_earned": 100, "discount_percent": 5})
        core = _put(
            client,
            api,
            f"{url}/core",
            {"min_earned": 500, "discount_percent": 10, "group_id": team.pk, "badge": "核心"},
        )

    assert (seed.status_code, core.status_code) == (200, 200)
    assert core.json() == {
        "level": "core",
        "min_earned": 500,
        "discount_percent": 10,
        "group_id": team.pk,
        "badge": "核心",
    }
    assert [lv["level"] for lv in api.get(url).json()] == ["seed", "core"]

    who = member()
    award(home, who, 120)
    response = api.get(f"/api/v1/members/{who.pk}/level?community_id={home.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "community_id": home.pk,
        "member_id": who.pk,
        "level": "seed",
        "earned_total": 120,
        "discount_percent": 5,
        "badge": "",
        "next_level": "core",
        "next_needs": 380,
    }


@pytest.mark.parametrize(
    ("level", "body", "status", "field"),
    [
        ("legend", {"min_earned": 10}, 422, "level"),
        ("core", {"min_earned": 50}, 422, "min_earned"),  # below seed's 100
        ("core", {"min_earned": 500, "discount_percent": 51}, 422, "discount_percent"),
        ("core", {"min_earned": -1}, 422, "min_earned"),
        ("core", {"min_earned": 500, "badge": "x" * 31}, 422, "badge"),
        ("core", {"min_earned": 500, "group_id": 999_999}, 404, "group_id"),
        ("core", {"min_earned": 500, "group_id": "ELSEWHERE"}, 422, "group_id"),
    ],
)
def test_a_bad_level_is_refused_naming_the_field_and_nothing_changes(
    client: Client,
    api: Any,
    home: Community,
    level: str,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    growth_level_set(community=home, level="seed", min_earned=100)
    if body.get("group_id") == "ELSEWHERE":
        body["group_id"] = group(circle()).pk

    response = _put(client, api, f"/api/v1/communities/{home.slug}/growth-levels/{level}", body)

    assert response.status_code == status, response.json()
    assert list(_error(response)["fields"]) == [field]
    assert list(GrowthLevel.objects.values_list("level", "min_earned")) == [("seed", 100)]


def test_a_member_who_earned_nothing_is_a_novice(api: Any, home: Community) -> None:
    who = member()

    response = api.get(f"/api/v1/members/{who.pk}/level?community_id={home.pk}")

    assert response.json()["level"] == "novice"
    assert api.get(f"/api/v1/members/999999/level?community_id={home.pk}").status_code == 404
    assert api.get(f"/api/v1/members/{who.pk}/level").status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/communities/SLUG/growth-levels"),
        ("put", "/api/v1/communities/SLUG/growth-levels/seed"),
        ("get", "/api/v1/members/1/level?community_id=1"),
    ],
)
def test_every_level_endpoint_needs_a_token(
    client: Client, home: Community, method: str, path: str
) -> None:
    path = path.replace("SLUG", home.slug)

    if method == "get":
        response = client.get(path)
    else:
        response = client.put(path, json.dumps({"min_earned": 10}), content_type="application/json")

    assert response.status_code == 401
    assert GrowthLevel.objects.count() == 0
