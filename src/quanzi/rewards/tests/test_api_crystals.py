"""API v1: crystal terms and rules, earning reported by bots and awarded by operators,
balances, statements and the leaderboard."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from quanzi.communities.models import Community
from quanzi.rewards.models import CrystalGrant, CrystalRule, RewardSettings
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.tests.factories import award, circle, member, rewards_state, rule

pytestmark = pytest.mark.django_db

EARN = "/api/v1/crystals/earn"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


def _send(client: Client, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return getattr(client, method)(
        path, json.dumps(body), content_type="application/json", headers=headers
    )


@pytest.fixture
def home() -> Community:
    return circle(post=10, check_in=5)


# Terms and rules


def test_the_terms_are_open_until_set_and_a_patch_changes_only_what_was_sent(
    client: Client, api: Any, home: Community
) -> None:
    url = f"/api/v1/communities/{home.slug}/crystal-settings"
    assert api.get(url).json() == {
        "community_id": home.pk,
        "daily_cap": 0,
        "weekly_cap": 0,
        "expiry_days": 0,
        "updated_at": None,
    }

    first = _send(client, "patch", url, {"daily_cap": 50, "weekly_cap": 200}, api.headers)
    second = _send(client, "patch", url, {"expiry_days": 365}, api.headers)

    assert (first.status_code, second.status_code) == (200, 200)
    body = second.json()
    assert (body["daily_cap"], body["weekly_cap"], body["expiry_days"]) == (50, 200, 365)
    assert api.get(url).json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_cap": -1}, "daily_cap"),
        ({"daily_cap": 100, "weekly_cap": 50}, "weekly_cap"),
        ({"expiry_days": 10**20}, "expiry_days"),
        ({"expiry_days": None}, "expiry_days"),
    ],
)
def test_bad_terms_are_422_naming_the_field_and_change_nothing(
    client: Client, api: Any, home: Community, body: dict[str, Any], field: str
) -> None:
    response = _send(
        client, "patch", f"/api/v1/communities/{home.slug}/crystal-settings", body, api.headers
    )

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    assert RewardSettings.objects.count() == 0


def test_a_rule_is_set_and_replaced_and_listed(client: Client, api: Any, home: Community) -> None:
    url = f"/api/v1/communities/{home.slug}/crystal-rules"

    made = _send(client, "put", f"{url}/feedback", {"amount": 30, "daily_cap": 60}, api.headers)
    changed = _send(client, "put", f"{url}/feedback", {"amount": 20, "active": False}, api.headers)

    assert made.status_code == changed.status_code == 200
    assert {k: changed.json()[k] for k in ("action", "amount", "daily_cap", "active")} == {
        "action": "feedback",
        "amount": 20,
        "daily_cap": 0,
        "active": False,
    }
    listed = api.get(url).json()
    assert [(r["action"], r["amount"]) for r in listed] == [
        ("check_in", 5),
        ("feedback", 20),
        ("post", 10),
    ]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("manual", {"amount": 5}, "action"),
        ("dance", {"amount": 5}, "action"),
        ("post", {"amount": 0}, "amount"),
        ("post", {"amount": 10**7}, "amount"),
        ("post", {"amount": 5, "daily_cap": 10, "weekly_cap": 5}, "weekly_cap"),
        ("post", {}, "amount"),
    ],
)
def test_a_bad_rule_is_422_naming_the_field_and_nothing_changes(
    client: Client, api: Any, home: Community, action: str, body: dict[str, Any], field: str
) -> None:
    before = list(CrystalRule.objects.order_by("pk").values_list("action", "amount"))

    response = _send(
        client, "put", f"/api/v1/communities/{home.slug}/crystal-rules/{action}", body, api.headers
    )

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    assert list(CrystalRule.objects.order_by("pk").values_list("action", "amount")) == before


# Earning


def test_a_reported_post_earns_once_201_then_200(api: Any, home: Community) -> None:
    who = member()
    body = {"community_id": home.pk, "member_id": who.pk, "action": "post", "source": "post:881"}

    first = api.post(EARN, body)
    again = api.post(EARN, body)

    assert first.status_code == 201
    grant = CrystalGrant.objects.get()
    assert first.json() == {
        "earned": 10,
        "repeated": False,
        "balance": 10,
        "grant": {
            "id": grant.pk,
            "community_id": home.pk,
            "member_id": who.pk,
            "action": "post",
            "source": "post:881",
            "requested": 10,
            "amount": 10,
            "debt_repaid": 0,
            "remaining": 10,
            "clawed": 0,
            "expired": 0,
            "earned_at": first.json()["grant"]["earned_at"],
            "expires_at": None,
            "note": "",
        },
    }
    assert again.status_code == 200
    assert (again.json()["earned"], again.json()["repeated"], again.json()["balance"]) == (
        0,
        True,
        10,
    )
    assert CrystalGrant.objects.count() == 1


def test_a_capped_earn_is_cut_down_then_earns_nothing(
    api: Any, frozen_clock: Any, home: Community
) -> None:
    rule(home, "check_in", 5, daily_cap=8)
    who = member()

    def check_in(n: int) -> Any:
        return api.post(
            EARN,
            {"community_id": home.pk, "member_id": who.pk, "action": "check_in", "source": f"e{n}"},
        )

    assert check_in(1).json()["earned"] == 5
    assert check_in(2).json()["earned"] == 3
    capped = check_in(3)

    assert capped.status_code == 200
    assert capped.json() == {"earned": 0, "repeated": False, "grant": None, "balance": 8}


def test_an_operator_awards_crystals_with_a_note(api: Any, home: Community, operator: Any) -> None:
    who = member()

    response = api.post(
        EARN,
        {
            "community_id": home.pk,
            "member_id": who.pk,
            "action": "manual",
            "source": "recipe-contest-2024",
            "amount": 500,
            "note": "菜谱大赛一等奖",
        },
    )

    assert response.status_code == 201
    grant = CrystalGrant.objects.get()
    assert (grant.amount, grant.note, grant.actor_id) == (500, "菜谱大赛一等奖", operator.pk)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"action": "purchase"}, 422, "action"),
        ({"action": "invite_paid"}, 422, "action"),
        ({"action": "feedback"}, 422, "action"),  # no rule for it here
        ({"action": "post", "source": " "}, 422, "source"),
        ({"action": "post", "source": "x" * 101}, 422, "source"),
        ({"action": "post", "source": "post\x00881"}, 422, "source"),
        ({"action": "post", "amount": 99}, 422, "amount"),
        ({"action": "manual", "amount": 10}, 422, "note"),
        ({"action": "manual", "amount": 0, "note": "x"}, 422, "amount"),
        ({"action": "manual", "amount": 10**30, "note": "x"}, 422, "amount"),
        ({"action": "post", "occurred_at": "2024-05-01T10:00:00"}, 422, "occurred_at"),
        ({"action": "post", "member_id": 999_999}, 404, "member_id"),
        ({"action": "post", "community_id": 999_999}, 404, "community_id"),
    ],
)
def test_a_bad_earn_is_refused_naming_the_field_and_posts_nothing(
    api: Any, home: Community, body: dict[str, Any], status: int, field: str
) -> None:
    who = member()
    before = rewards_state()
    payload = {"community_id": home.pk, "member_id": who.pk, "source": "s1", **body}

    response = api.post(EARN, payload)

    assert response.status_code == status, response.json()
    assert list(_error(response)["fields"]) == [field]
    assert rewards_state() == before


# Balance, statement, leaderboard


def test_the_balance_and_the_statement_follow_earning_and_spending(
    api: Any, frozen_clock: Any, home: Community
) -> None:
    who = member()
    award(home, who, 100, source="a")
    frozen_clock.advance(timedelta(minutes=1))
    award(home, who, 50, source="b")
    reward = crystal_reward_create(
        community=home, name="10元优惠券", kind="coupon", cost=40, coupon_value_minor=1_000
    )
    frozen_clock.advance(timedelta(minutes=1))
    redemption_place(reward=reward, member=who)

    balance = api.get(f"/api/v1/members/{who.pk}/crystals?community_id={home.pk}")
    history = api.get(f"/api/v1/members/{who.pk}/crystals/history?community_id={home.pk}&limit=2")

    assert balance.json() == {
        "community_id": home.pk,
        "member_id": who.pk,
        "balance": 110,
        "debt": 0,
        "earned_total": 150,
    }
    page = history.json()
    assert (page["count"], page["next_offset"]) == (3, 2)
    assert [(row["kind"], row["amount"], row["balance_after"]) for row in page["items"]] == [
        ("crystals.redeem", -40, 110),
        ("crystals.earn", 50, 150),
    ]


def test_the_leaderboard_ranks_earners_most_first(api: Any, home: Community) -> None:
    a, b, c = member("阿海"), member("小红"), member("老王")
    award(home, a, 30)
    award(home, b, 80)
    award(home, c, 50)

    response = api.get(f"/api/v1/communities/{home.slug}/crystal-leaderboard?limit=2")

    assert response.status_code == 200
    assert response.json() == [
        {"rank": 1, "member_id": b.pk, "display_name": "小红", "crystals": 80},
        {"rank": 2, "member_id": c.pk, "display_name": "老王", "crystals": 50},
    ]
    bad = api.get(f"/api/v1/communities/{home.slug}/crystal-leaderboard?since=2024-05-01")
    assert (bad.status_code, list(_error(bad)["fields"])) == (422, ["since"])


def test_balances_of_unknown_members_or_communities_are_404(api: Any, home: Community) -> None:
    who = member()
    for path, field in (
        (f"/api/v1/members/999999/crystals?community_id={home.pk}", "member_id"),
        (f"/api/v1/members/{who.pk}/crystals?community_id=999999", "community_id"),
        (f"/api/v1/members/{who.pk}/crystals/history?community_id=999999", "community_id"),
        ("/api/v1/communities/nowhere/crystal-leaderboard", "community"),
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert list(_error(response)["fields"]) == [field]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", EARN),
        ("get", "/api/v1/communities/SLUG/crystal-settings"),
        ("patch", "/api/v1/communities/SLUG/crystal-settings"),
        ("get", "/api/v1/communities/SLUG/crystal-rules"),
        ("put", "/api/v1/communities/SLUG/crystal-rules/post"),
        ("get", "/api/v1/communities/SLUG/crystal-leaderboard"),
        ("get", "/api/v1/members/WHO/crystals?community_id=HOME"),
        ("get", "/api/v1/members/WHO/crystals/history?community_id=HOME"),
    ],
)
def test_every_crystal_endpoint_needs_a_token(
    client: Client, home: Community, method: str, path: str
) -> None:
    who = member()
    path = path.replace("SLUG", home.slug).replace("WHO", str(who.pk))
    path = path.replace("HOME", str(home.pk))
    body = {"community_id": home.pk, "member_id": who.pk, "action": "post", "source": "p"}
    body |= {"amount": 99, "daily_cap": 1}
    before = rewards_state()

    response = client.get(path) if method == "get" else _send(client, method, path, body, {})

    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"
    assert rewards_state() == before
