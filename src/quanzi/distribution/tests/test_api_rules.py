"""API v1: commission rules: one or two levels and never a third, never over 100 %."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from quanzi.catalog.tests.factories import product
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.core.models import Activity
from quanzi.distribution.models import CommissionRule
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.distribution.tests.kit import api_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/commission-rules"


def _written() -> tuple[int, int]:
    return (
        CommissionRule.objects.count(),
        Activity.objects.filter(object_type="commission_rule").count(),
    )


def test_a_rule_is_created_201_and_listed(api: Any, home: Community, operator: Any) -> None:
    fish = product(home)

    response = api.post(
        URL,
        {
            "community_id": home.pk,
            "kind": "percent",
            "percent_bp": 1_000,
            "role": "group_leader",
            "product_id": fish.pk,
        },
    )

    assert response.status_code == 201
    rule = CommissionRule.objects.get()
    assert response.json() == {
        "id": rule.pk,
        "community_id": home.pk,
        "level": 1,
        "kind": "percent",
        "percent_bp": 1_000,
        "fixed_minor": 0,
        "role": "group_leader",
        "product_id": fish.pk,
        "category": "",
        "active": True,
        "created_at": response.json()["created_at"],
        "created_by_id": operator.pk,
    }
    second = api.post(
        URL, {"community_id": home.pk, "kind": "fixed", "fixed_minor": 300, "level": 2}
    )
    assert second.status_code == 201
    listed = api.get(f"{URL}?community_id={home.pk}").json()
    assert [item["id"] for item in listed["items"]] == [rule.pk, second.json()["id"]]
    assert api.get(f"{URL}/{rule.pk}").json() == response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": 3}, "level"),
        ({"level": 0}, "level"),
        ({"percent_bp": 10_001}, "percent_bp"),
        ({"percent_bp": 0}, "percent_bp"),
        ({"percent_bp": 10**30}, "percent_bp"),
        ({"percent_bp": -5}, "percent_bp"),
        ({"kind": "fixed", "fixed_minor": 0, "percent_bp": 0}, "fixed_minor"),
        ({"kind": "fixed", "fixed_minor": 2**70, "percent_bp": 0}, "fixed_minor"),
        ({"kind": "fixed", "fixed_minor": 100}, "percent_bp"),
        ({"kind": "pyramid"}, "kind"),
        ({"role": "recruiter"}, "role"),
        ({"category": "x" * 51}, "category"),
        ({"product_id": "ELSEWHERE"}, "product_id"),
        ({"level": "three"}, "level"),
    ],
)
def test_a_rule_beyond_the_law_or_the_sale_is_422_naming_the_field_and_nothing_is_created(
    api: Any, home: Community, body: dict[str, Any], field: str
) -> None:
    if body.get("product_id") == "ELSEWHERE":
        body["product_id"] = product(community()).pk
    payload = {"community_id": home.pk, "kind": "percent", "percent_bp": 500, **body}

    response = api.post(URL, payload)

    assert response.status_code == 422, response.json()
    assert list(api_error(response)["fields"]) == [field]
    assert _written() == (0, 0)


def test_the_third_level_refusal_says_why(api: Any, home: Community) -> None:
    response = api.post(
        URL, {"community_id": home.pk, "kind": "percent", "percent_bp": 100, "level": 3}
    )

    assert api_error(response) == {
        "code": "distribution_invalid",
        "message": "Commission reaches the direct referrer (level 1) and at most the one above "
        "(level 2); never further.",
        "fields": {
            "level": [
                "Commission reaches the direct referrer (level 1) and at most the one above "
                "(level 2); never further."
            ]
        },
    }


def test_an_unknown_community_or_product_is_404(api: Any, home: Community) -> None:
    for body, field in (
        ({"community_id": 999_999}, "community_id"),
        ({"product_id": 999_999}, "product_id"),
    ):
        response = api.post(
            URL, {"community_id": home.pk, "kind": "percent", "percent_bp": 100, **body}
        )
        assert response.status_code == 404
        assert list(api_error(response)["fields"]) == [field]
    assert _written() == (0, 0)


def test_a_deactivated_rule_stays_listed_as_inactive(api: Any, home: Community) -> None:
    rule = commission_rule_create(community=home, kind="percent", percent_bp=500)

    response = api.post(f"{URL}/{rule.pk}/actions/deactivate", {})

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert api.get(f"{URL}?active=true").json()["count"] == 0
    assert [r["id"] for r in api.get(f"{URL}?active=false").json()["items"]] == [rule.pk]
    assert api.post(f"{URL}/{rule.pk}/actions/deactivate", {}).json()["active"] is False
    missing = api.post(f"{URL}/999999/actions/deactivate", {})
    assert (missing.status_code, list(api_error(missing)["fields"])) == (404, ["rule_id"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("get", f"{URL}/RULE"),
        ("post", f"{URL}/RULE/actions/deactivate"),
    ],
)
def test_every_rule_endpoint_needs_a_token(
    client: Client, home: Community, method: str, path: str
) -> None:
    rule = commission_rule_create(community=home, kind="percent", percent_bp=500)
    path = path.replace("RULE", str(rule.pk))
    body = json.dumps({"community_id": home.pk, "kind": "percent", "percent_bp": 100})

    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, body, content_type="application/json")

    assert response.status_code == 401
    assert CommissionRule.objects.filter(active=True).count() == 1
    assert CommissionRule.objects.count() == 1
