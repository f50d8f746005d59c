"""API v1: referral links made on first use, visits reported by bots, orders' attribution."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from quanzi.catalog.models import Sku
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.distribution.models import MemberReferral, ReferralLink, ReferralTouch
from quanzi.distribution.services.links import referral_link_get_or_create
from quanzi.distribution.tests.kit import api_error
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods, paid_order

pytestmark = pytest.mark.django_db

URL = "/api/v1/referral-links"


@pytest.fixture
def sku(home: Community) -> Sku:
    return goods(home, price_minor=8_800)


@pytest.fixture
def sharer() -> Member:
    return member("阿海")


def test_a_link_is_made_on_first_use_201_then_the_same_one_200(
    api: Any, home: Community, sku: Sku, sharer: Member
) -> None:
    body = {"community_id": home.pk, "sharer_id": sharer.pk, "product_id": sku.product_id}

    made = api.post(URL, {**body, "label": "抖音 5 月"})
    again = api.post(URL, {**body, "label": " 抖音 5 月 "})

    assert made.status_code == 201
    assert again.status_code == 200
    link = ReferralLink.objects.get()
    assert (
        made.json()
        == again.json()
        == {
            "code": link.code,
            "url": f"/m/r/{link.code}/",
            "poster_url": f"/m/r/{link.code}/poster.png",
            "community_id": home.pk,
            "sharer_id": sharer.pk,
            "product_id": sku.product_id,
            "label": "抖音 5 月",
            "visits": 0,
            "created_at": made.json()["created_at"],
        }
    )
    community_link = api.post(URL, {"community_id": home.pk, "sharer_id": sharer.pk})
    assert community_link.status_code == 201
    assert community_link.json()["product_id"] is None
    assert ReferralLink.objects.count() == 2


def test_the_sharers_links_are_listed_and_one_is_found_by_its_code(
    api: Any, home: Community, sku: Sku, sharer: Member
) -> None:
    own = referral_link_get_or_create(community=home, sharer=sharer)
    product = referral_link_get_or_create(community=home, sharer=sharer, product=sku.product)
    referral_link_get_or_create(community=home, sharer=member())

    listed = api.get(f"{URL}?sharer_id={sharer.pk}")

    assert listed.status_code == 200
    assert [item["code"] for item in listed.json()["items"]] == [own.code, product.code]
    assert api.get(f"{URL}/{own.code.lower()}").json()["code"] == own.code
    assert (
        api.get(f"{URL}?sharer_id={sharer.pk}&community_id={community().pk}").json()["count"] == 0
    )
    missing = api.get(URL)
    assert missing.status_code == 422
    assert list(api_error(missing)["fields"]) == ["sharer_id"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"product_id": "ELSEWHERE"}, 422, "product_id"),
        ({"product_id": 999_999}, 404, "product_id"),
        ({"sharer_id": 999_999}, 404, "sharer_id"),
        ({"community_id": 999_999}, 404, "community_id"),
        ({"label": "x" * 101}, 422, "label"),
        ({"community_id": "one"}, 422, "community_id"),
    ],
    ids=["other-community", "product", "sharer", "community", "label", "type"],
)
def test_a_bad_link_request_is_refused_naming_the_field(
    api: Any, home: Community, sharer: Member, body: dict[str, Any], status: int, field: str
) -> None:
    if body.get("product_id") == "ELSEWHERE":
        body["product_id"] = goods(community()).product_id
    response = api.post(URL, {"community_id": home.pk, "sharer_id": sharer.pk, **body})

    assert response.status_code == status, response.json()
    assert list(api_error(response)["fields"]) == [field]
    assert ReferralLink.objects.count() == 0


def test_a_visit_by_a_friend_is_a_touch_and_the_paid_order_is_attributed(
    api: Any, home: Community, sku: Sku, sharer: Member
) -> None:
    link = referral_link_get_or_create(community=home, sharer=sharer, product=sku.product)
    friend = member()

    visit = api.post(f"{URL}/{link.code}/visits", {"member_id": friend.pk})

    assert visit.status_code == 201
    assert visit.json() == {
        "code": link.code,
        "visits": 1,
        "touched": True,
        "at": visit.json()["at"],
    }
    assert ReferralTouch.objects.get().member_id == friend.pk
    assert MemberReferral.objects.get().referrer_id == sharer.pk

    order = paid_order(sku, friend)
    attribution = api.get(f"/api/v1/orders/{order.number}/attribution")

    assert attribution.status_code == 200
    assert attribution.json() == {
        "order_number": order.number,
        "attributed": True,
        "sharer_id": sharer.pk,
        "link_code": link.code,
        "via": "link",
        "touched_at": attribution.json()["touched_at"],
        "at": attribution.json()["at"],
    }


def test_a_visit_by_the_sharer_or_someone_unknown_counts_but_touches_nothing(
    api: Any, home: Community, sharer: Member
) -> None:
    link = referral_link_get_or_create(community=home, sharer=sharer)

    own = api.post(f"{URL}/{link.code}/visits", {"member_id": sharer.pk})
    unknown = api.post(f"{URL}/{link.code}/visits", {})

    assert (own.status_code, unknown.status_code) == (201, 201)
    assert (own.json()["touched"], unknown.json()["touched"]) == (False, False)
    assert unknown.json()["visits"] == 2
    assert ReferralTouch.objects.count() == 0


def test_a_replayed_visit_counts_once(api: Any, home: Community, sharer: Member) -> None:
    link = referral_link_get_or_create(community=home, sharer=sharer)
    friend = member()
    headers = {"Idempotency-Key": "visit-1"}

    first = api.post(f"{URL}/{link.code}/visits", {"member_id": friend.pk}, headers=headers)
    second = api.post(f"{URL}/{link.code}/visits", {"member_id": friend.pk}, headers=headers)

    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    link.refresh_from_db()
    assert (link.visits, ReferralTouch.objects.count()) == (1, 1)


def test_a_visit_to_an_unknown_link_or_by_an_unknown_member_is_404_and_counts_nothing(
    api: Any, home: Community, sharer: Member
) -> None:
    link = referral_link_get_or_create(community=home, sharer=sharer)

    no_link = api.post(f"{URL}/NOPE2345/visits", {"member_id": sharer.pk})
    no_member = api.post(f"{URL}/{link.code}/visits", {"member_id": 999_999})
    bad = api.post(f"{URL}/{link.code}/visits", {"member_id": -1})

    assert (no_link.status_code, list(api_error(no_link)["fields"])) == (404, ["code"])
    assert (no_member.status_code, list(api_error(no_member)["fields"])) == (404, ["member_id"])
    assert (bad.status_code, list(api_error(bad)["fields"])) == (422, ["member_id"])
    link.refresh_from_db()
    assert link.visits == 0


def test_an_order_nobody_brought_is_not_attributed(api: Any, sku: Sku) -> None:
    order = paid_order(sku, member())

    response = api.get(f"/api/v1/orders/{order.number}/attribution")

    assert response.status_code == 200
    assert response.json()["attributed"] is False
    assert response.json()["sharer_id"] is None
    assert api.get("/api/v1/orders/NOPE/attribution").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", URL),
        ("get", f"{URL}?sharer_id=1"),
        ("get", f"{URL}/CODE"),
        ("post", f"{URL}/CODE/visits"),
        ("get", "/api/v1/orders/ORDER/attribution"),
    ],
)
def test_every_link_endpoint_needs_a_token(
    client: Client, home: Community, sku: Sku, sharer: Member, method: str, path: str
) -> None:
    link = referral_link_get_or_create(community=home, sharer=sharer)
    order = paid_order(sku, member())
    path = path.replace("CODE", link.code).replace("ORDER", order.number)
    body = json.dumps({"community_id": home.pk, "sharer_id": member().pk, "member_id": None})

    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, body, content_type="application/json")

    assert response.status_code == 401
    assert api_error(response)["code"] == "unauthorized"
    link.refresh_from_db()
    assert (link.visits, ReferralLink.objects.count()) == (0, 1)
