"""API v1: the rewards catalogue, redemptions (more crystals than held is refused and spends
nothing), perks and cash rewards for contributors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from quanzi.catalog.tests.factories import product
from quanzi.communities.models import Community
from quanzi.core.models import LedgerTransaction
from quanzi.distribution.services.accounts import payable_account
from quanzi.members.models import Member
from quanzi.rewards.models import CrystalReward, Redemption
from quanzi.rewards.selectors import crystal_balance
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.tests.factories import award, circle, member, rewards_state

pytestmark = pytest.mark.django_db

REWARDS = "/api/v1/crystal-rewards"
URL = "/api/v1/redemptions"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


@pytest.fixture
def home() -> Community:
    return circle()


@pytest.fixture
def coupon(home: Community) -> CrystalReward:
    return crystal_reward_create(
        community=home, name="10元优惠券", kind="coupon", cost=40, coupon_value_minor=1_000, stock=3
    )


@pytest.fixture
def holder(home: Community) -> Member:
    who = member("阿海")
    award(home, who, 100)
    return who


# The catalogue


def test_a_reward_is_offered_201_listed_and_taken_off_the_list(
    client: Client, api: Any, home: Community
) -> None:
    fish = product(home)

    made = api.post(
        REWARDS,
        {
            "community_id": home.pk,
            "name": "带鱼一份",
            "kind": "product",
            "cost": 300,
            "product_id": fish.pk,
            "stock": 10,
        },
    )

    assert made.status_code == 201
    reward = CrystalReward.objects.get()
    assert made.json() == {
        "id": reward.pk,
        "community_id": home.pk,
        "name": "带鱼一份",
        "kind": "product",
        "cost": 300,
        "product_id": fish.pk,
        "coupon_value_minor": 0,
        "stock": 10,
        "active": True,
        "created_at": made.json()["created_at"],
    }
    off = client.patch(
        f"{REWARDS}/{reward.pk}",
        json.dumps({"active": False}),
        content_type="application/json",
        headers=api.headers,
    )
    assert (off.status_code, off.json()["active"], off.json()["cost"]) == (200, False, 300)
    assert api.get(f"{REWARDS}?community_id={home.pk}").json()["count"] == 1
    assert api.get(f"{REWARDS}?community_id={home.pk}&available=true").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"kind": "cash"}, 422, "kind"),
        ({"cost": 0}, 422, "cost"),
        ({"name": ""}, 422, "name"),
        ({"kind": "coupon", "coupon_value_minor": 0}, 422, "coupon_value_minor"),
        ({"kind": "product"}, 422, "product_id"),
        ({"kind": "product", "product_id": "ELSEWHERE"}, 422, "product_id"),
        ({"kind": "product", "product_id": 999_999}, 404, "product_id"),
        ({"stock": -1}, 422, "stock"),
        ({"community_id": 999_999}, 404, "community_id"),
    ],
)
def test_a_bad_reward_is_refused_naming_the_field(
    api: Any, home: Community, body: dict[str, Any], status: int, field: str
) -> None:
    if body.get("product_id") == "ELSEWHERE":
        body["product_id"] = product(circle()).pk
    payload = {"community_id": home.pk, "name": "徽章", "kind": "perk", "cost": 10, **body}

    response = api.post(REWARDS, payload)

    assert response.status_code == status, response.json()
    assert list(_error(response)["fields"]) == [field]
    assert CrystalReward.objects.count() == 0


# Redemptions


def test_a_redemption_spends_crystals_201_and_is_handed_over(
    api: Any, home: Community, coupon: CrystalReward, holder: Member
) -> None:
    placed = api.post(URL, {"reward_id": coupon.pk, "member_id": holder.pk, "quantity": 2})

    assert placed.status_code == 201
    redemption = Redemption.objects.get()
    assert placed.json() == {
        "code": redemption.code,
        "community_id": home.pk,
        "member_id": holder.pk,
        "reward_id": coupon.pk,
        "name": "10元优惠券",
        "quantity": 2,
        "crystals": 80,
        "status": "placed",
        "note": "",
        "created_at": placed.json()["created_at"],
        "closed_at": None,
    }
    assert crystal_balance(home, holder) == 20

    done = api.post(f"{URL}/{redemption.code}/actions/fulfil", {"note": "已发券"})

    assert (done.status_code, done.json()["status"], done.json()["note"]) == (
        200,
        "fulfilled",
        "已发券",
    )
    assert api.get(f"{URL}/{redemption.code.lower()}").json() == done.json()
    again = api.post(f"{URL}/{redemption.code}/actions/cancel", {})
    assert (again.status_code, list(_error(again)["fields"])) == (409, ["status"])
    assert crystal_balance(home, holder) == 20


def test_redeeming_more_crystals_than_held_is_409_and_spends_nothing(
    api: Any, home: Community, coupon: CrystalReward, holder: Member
) -> None:
    before = rewards_state()

    response = api.post(URL, {"reward_id": coupon.pk, "member_id": holder.pk, "quantity": 3})

    assert response.status_code == 409
    assert _error(response) == {
        "code": "not_enough_crystals",
        "message": "This costs 120 crystals; you hold 100.",
        "fields": {"crystals": ["This costs 120 crystals; you hold 100."]},
    }
    assert rewards_state() == before
    assert crystal_balance(home, holder) == 100


def test_cancelling_gives_the_crystals_and_the_stock_back(
    api: Any, home: Community, coupon: CrystalReward, holder: Member
) -> None:
    redemption = redemption_place(reward=coupon, member=holder)

    response = api.post(f"{URL}/{redemption.code}/actions/cancel", {"reason": "不要了"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["note"]) == ("cancelled", "不要了")
    coupon.refresh_from_db()
    assert (crystal_balance(home, holder), coupon.stock) == (100, 3)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"quantity": 0}, 422, "quantity"),
        ({"quantity": 100}, 422, "quantity"),
        ({"quantity": 4}, 409, "quantity"),  # 3 in stock
        ({"reward_id": 999_999}, 404, "reward_id"),
        ({"member_id": 999_999}, 404, "member_id"),
        ({"reward_id": "x"}, 422, "reward_id"),
    ],
)
def test_a_bad_redemption_is_refused_naming_the_field_and_spends_nothing(
    api: Any, coupon: CrystalReward, holder: Member, body: dict[str, Any], status: int, field: str
) -> None:
    before = rewards_state()

    response = api.post(URL, {"reward_id": coupon.pk, "member_id": holder.pk, **body})

    assert response.status_code == status, response.json()
    assert list(_error(response)["fields"]) == [field]
    assert rewards_state() == before


def test_a_replayed_redemption_spends_once(
    api: Any, home: Community, coupon: CrystalReward, holder: Member
) -> None:
    body = {"reward_id": coupon.pk, "member_id": holder.pk}
    headers = {"Idempotency-Key": "redeem-1"}

    first = api.post(URL, body, headers=headers)
    second = api.post(URL, body, headers=headers)

    assert second.json() == first.json()
    assert (Redemption.objects.count(), crystal_balance(home, holder)) == (1, 60)


def test_the_list_filters_by_member_and_status(
    api: Any, home: Community, coupon: CrystalReward, holder: Member
) -> None:
    first = redemption_place(reward=coupon, member=holder)
    second = redemption_place(reward=coupon, member=holder)
    api.post(f"{URL}/{first.code}/actions/fulfil", {})

    def codes(query: str) -> list[str]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200
        return [item["code"] for item in response.json()["items"]]

    assert codes(f"member_id={holder.pk}") == [second.code, first.code]
    assert codes("status=placed") == [second.code]
    assert codes(f"community_id={circle().pk}") == []
    assert api.get(f"{URL}?status=lost").status_code == 422
    assert api.get(f"{URL}/NOPE").status_code == 404
    assert api.get(f"{URL}/NO%00PE").status_code == 404


# Contributors


def test_a_perk_is_a_redemption_costing_no_crystals(api: Any, home: Community) -> None:
    who = member()

    response = api.post(
        "/api/v1/perks",
        {"community_id": home.pk, "member_id": who.pk, "name": "年会门票", "note": "社群贡献"},
    )

    assert response.status_code == 201
    assert (response.json()["crystals"], response.json()["reward_id"]) == (0, None)
    assert response.json()["status"] == "placed"
    empty = api.post("/api/v1/perks", {"community_id": home.pk, "member_id": who.pk, "name": ""})
    assert (empty.status_code, list(_error(empty)["fields"])) == (422, ["name"])


def test_a_cash_reward_joins_the_payable_balance_once_per_key(api: Any, home: Community) -> None:
    who = member()
    body = {
        "community_id": home.pk,
        "member_id": who.pk,
        "amount_minor": 5_000,
        "reason": "组织线下活动",
        "idempotency_key": "event-0501",
    }

    first = api.post("/api/v1/cash-rewards", body)
    again = api.post("/api/v1/cash-rewards", body)
    other = api.post("/api/v1/cash-rewards", {**body, "amount_minor": 9_000})

    assert first.status_code == 201
    assert first.json() == {
        "transaction_id": first.json()["transaction_id"],
        "community_id": home.pk,
        "member_id": who.pk,
        "amount_minor": 5_000,
        "currency": "CNY",
        "reason": "组织线下活动",
        "payable_minor": 5_000,
    }
    assert again.json() == first.json()
    assert other.status_code == 409
    assert list(_error(other)["fields"]) == ["idempotency_key"]
    account = payable_account(home.pk, who.pk)
    account.refresh_from_db()
    assert account.balance == 5_000


def test_a_cash_reward_takes_its_key_from_the_header(api: Any, home: Community) -> None:
    who = member()
    body = {"community_id": home.pk, "member_id": who.pk, "amount_minor": 100, "reason": "谢谢"}

    keyless = api.post("/api/v1/cash-rewards", body)
    keyed = api.post("/api/v1/cash-rewards", body, headers={"Idempotency-Key": "k-1"})

    assert (keyless.status_code, list(_error(keyless)["fields"])) == (422, ["idempotency_key"])
    assert keyed.status_code == 201
    assert LedgerTransaction.objects.filter(kind="reward.cash").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": 10**20}, "amount_minor"),
        ({"reason": " "}, "reason"),
    ],
)
def test_a_bad_cash_reward_is_422_and_posts_nothing(
    api: Any, home: Community, body: dict[str, Any], field: str
) -> None:
    who = member()
    payload = {
        "community_id": home.pk,
        "member_id": who.pk,
        "amount_minor": 100,
        "reason": "谢谢",
        "idempotency_key": "k",
        **body,
    }

    response = api.post("/api/v1/cash-rewards", payload)

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    assert LedgerTransaction.objects.filter(kind="reward.cash").count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", REWARDS),
        ("post", REWARDS),
        ("patch", f"{REWARDS}/REWARD"),
        ("get", URL),
        ("post", URL),
        ("get", f"{URL}/CODE"),
        ("post", f"{URL}/CODE/actions/fulfil"),
        ("post", f"{URL}/CODE/actions/cancel"),
        ("post", "/api/v1/perks"),
        ("post", "/api/v1/cash-rewards"),
    ],
)
def test_every_redemption_endpoint_needs_a_token(
    client: Client, home: Community, coupon: CrystalReward, holder: Member, method: str, path: str
) -> None:
    redemption = redemption_place(reward=coupon, member=holder)
    path = path.replace("REWARD", str(coupon.pk)).replace("CODE", redemption.code)
    body = {"community_id": home.pk, "member_id": holder.pk, "reward_id": coupon.pk}
    body |= {"name": "x", "kind": "perk", "cost": 1, "amount_minor": 1, "reason": "x"}
    body |= {"idempotency_key": "k", "active": False}
    before = rewards_state()

    if method == "get":
        response = client.get(path)
    else:
        response = getattr(client, method)(path, json.dumps(body), content_type="application/json")

    assert response.status_code == 401
    assert rewards_state() == before
