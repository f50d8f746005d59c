"""API v1: communities, groups and seats, KOL seats, plans, memberships and invitations."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client

from quanzi.communities.models import (
    Community,
    Group,
    GroupMembership,
    Invitation,
    KolSeat,
    Membership,
    MembershipPlan,
    MembershipTerm,
    OwedGoods,
)
from quanzi.communities.services.joining import group_join, invitation_create
from quanzi.communities.services.memberships import membership_pay, membership_start
from quanzi.communities.services.setup import community_create, group_create, plan_create
from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import Member
from quanzi.members.services import member_identify

pytestmark = pytest.mark.django_db

C = "/api/v1/communities"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def _patch(client: Client, token: str, path: str, body: Any) -> Any:
    return client.patch(
        path,
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def _member(name: str) -> Member:
    return member_identify(display_name=name)[0]


@pytest.fixture
def english() -> Community:
    return community_create(
        slug="english", name="English Circle", kind="resource", vertical="education"
    )


@pytest.fixture
def annual(english: Community) -> MembershipPlan:
    return plan_create(community=english, name="Annual", kind="annual", price_minor=36500)


@pytest.fixture
def free(english: Community) -> MembershipPlan:
    return plan_create(community=english, name="Free", kind="free")


# Communities


def test_a_community_is_created_201_and_read_back_by_slug(api: Any) -> None:
    response = api.post(
        C,
        {"slug": "seafood", "name": "Seafood & Fruit", "kind": "product", "vertical": "food"},
    )

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("slug", "name", "kind", "vertical", "currency")} == {
        "slug": "seafood",
        "name": "Seafood & Fruit",
        "kind": "product",
        "vertical": "food",
        "currency": "CNY",
    }
    assert api.get(f"{C}/seafood").json() == body


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"slug": "english", "name": "Again", "kind": "product"}, 409, "conflict", "slug"),
        ({"slug": "Bad Slug", "name": "X", "kind": "product"}, 422, "community_invalid", "slug"),
        ({"slug": "x", "name": "X", "kind": "cult"}, 422, "community_invalid", "kind"),
        ({"slug": "x", "name": "X", "kind": "product", "vertical": "mars"}, 422, None, "vertical"),
        ({"slug": "x", "name": "X", "kind": "product", "currency": "BTC"}, 422, None, "currency"),
        ({"slug": "x", "kind": "product"}, 422, "invalid", "name"),
    ],
)
def test_a_bad_community_is_refused_naming_the_field(
    api: Any, english: Community, body: dict[str, Any], status: int, code: str | None, field: str
) -> None:
    response = api.post(C, body)

    assert response.status_code == status
    error = _error(response)
    if code:
        assert error["code"] == code
    assert list(error["fields"]) == [field]
    assert Community.objects.count() == 1


def test_the_list_counts_groups_and_plans_and_pages(
    api: Any, english: Community, annual: MembershipPlan
) -> None:
    group_create(community=english, name="Open")
    community_create(slug="zoo", name="Zoo", kind="charisma")

    page = api.get(f"{C}?limit=1").json()
    rest = api.get(f"{C}?limit=1&offset=1").json()

    assert (page["count"], page["next_offset"], rest["next_offset"]) == (2, 1, None)
    first = page["items"][0]
    assert (first["slug"], first["group_count"], first["plan_count"]) == ("english", 1, 1)
    assert rest["items"][0]["slug"] == "zoo"


def test_patch_changes_a_community(client: Client, api_token: str, english: Community) -> None:
    response = _patch(client, api_token, f"{C}/english", {"name": "English+", "vertical": "other"})
    refused = _patch(client, api_token, f"{C}/english", {"vertical": "mars"})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["vertical"]) == ("English+", "other")
    assert refused.status_code == 422
    english.refresh_from_db()
    assert (english.name, english.vertical) == ("English+", "other")


def test_an_unknown_community_is_404(api: Any) -> None:
    for response in (
        api.get(f"{C}/nope"),
        api.get(f"{C}/nope/groups"),
        api.post(f"{C}/nope/plans", {"name": "X", "kind": "free"}),
    ):
        assert response.status_code == 404
        assert _error(response)["code"] == "not_found"


# Groups


def test_a_group_is_created_with_wechat_defaults(api: Any, english: Community) -> None:
    response = api.post(
        f"{C}/english/groups",
        {"name": "Core fans", "tier": "core", "welcome_template": "Welcome {name}!"},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["tier"], body["capacity"]) == ("Core fans", "core", 500)
    assert (body["seated"], body["waiting"]) == (0, 0)
    assert body["community_id"] == english.pk
    listed = api.get(f"{C}/english/groups").json()
    assert [g["id"] for g in listed["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "Open"}, 409, "name"),
        ({"name": "X", "tier": "vip"}, 422, "tier"),
        ({"name": "X", "capacity": 0}, 422, "capacity"),
        ({"name": "X", "capacity": 10**12}, 422, "capacity"),
        ({"name": "X", "required_plan_id": 999999}, 404, "required_plan_id"),
        ({"name": "X", "ends_on": "2001-01-01"}, 422, "ends_on"),
        ({"name": ""}, 422, "name"),
    ],
)
def test_a_bad_group_is_refused_and_nothing_is_saved(
    api: Any, english: Community, body: dict[str, Any], status: int, field: str
) -> None:
    group_create(community=english, name="Open")

    response = api.post(f"{C}/english/groups", body)

    assert response.status_code == status
    assert list(_error(response)["fields"]) == [field]
    assert Group.objects.count() == 1


def test_patch_changes_a_group(client: Client, api_token: str, english: Community) -> None:
    group = group_create(community=english, name="Open")

    response = _patch(
        client, api_token, f"{C}/english/groups/{group.pk}", {"capacity": 200, "rules": "Be kind"}
    )
    refused = _patch(client, api_token, f"{C}/english/groups/{group.pk}", {"capacity": -1})

    assert response.status_code == 200
    assert (response.json()["capacity"], response.json()["rules"]) == (200, "Be kind")
    assert refused.status_code == 422
    group.refresh_from_db()
    assert group.capacity == 200


def test_a_group_of_another_community_is_404(api: Any, english: Community) -> None:
    other = community_create(slug="zoo", name="Zoo", kind="charisma")
    group = group_create(community=other, name="Zoo group")

    response = api.get(f"{C}/english/groups/{group.pk}")

    assert response.status_code == 404


def test_join_seats_then_queues_and_leave_moves_the_queue_up(api: Any, english: Community) -> None:
    # Given a group with one seat
    group = group_create(community=english, name="Small", capacity=1)
    a, b = _member("A"), _member("B")
    base = f"{C}/english/groups/{group.pk}"

    # When A and B join
    first = api.post(f"{base}/actions/join", {"member_id": a.pk, "channel": "douyin"})
    second = api.post(f"{base}/actions/join", {"member_id": b.pk, "channel": "weibo"})

    # Then A sits and B waits first in line
    assert first.status_code == 200
    assert first.json()["waiting_position"] is None
    assert first.json()["seat"]["status"] == "active"
    assert first.json()["seat"]["channel"] == "douyin"
    assert (second.json()["seat"]["status"], second.json()["waiting_position"]) == ("waiting", 1)
    seated = api.get(f"{base}/seats").json()["items"]
    waiting = api.get(f"{base}/seats?status=waiting").json()["items"]
    assert [(s["member_id"], s["member_display_name"]) for s in seated] == [(a.pk, "A")]
    assert [s["member_id"] for s in waiting] == [b.pk]
    join = Activity.objects.get(kind=ActivityKind.JOIN, member_id=a.pk)
    assert (join.channel, join.group_id) == ("douyin", group.pk)

    # When A leaves, B moves up
    left = api.post(f"{base}/actions/leave", {"member_id": a.pk})
    assert left.status_code == 200
    assert left.json()["status"] == "left"
    seated = api.get(f"{base}/seats").json()["items"]
    assert [s["member_id"] for s in seated] == [b.pk]

    # And leaving again is a conflict
    again = api.post(f"{base}/actions/leave", {"member_id": a.pk})
    assert again.status_code == 409
    assert _error(again)["code"] == "not_in_group"


def test_a_full_group_refuses_when_asked_not_to_wait(api: Any, english: Community) -> None:
    group = group_create(community=english, name="Small", capacity=1)
    group_join(group=group, member=_member("A"))
    b = _member("B")

    response = api.post(
        f"{C}/english/groups/{group.pk}/actions/join", {"member_id": b.pk, "wait_if_full": False}
    )

    assert response.status_code == 409
    assert _error(response)["code"] == "group_full"
    assert not GroupMembership.objects.filter(member=b).exists()


def test_a_gated_group_refuses_a_member_without_the_plan(
    api: Any, english: Community, annual: MembershipPlan
) -> None:
    group = group_create(community=english, name="Members", required_plan=annual, tier="junior")
    member = _member("A")

    response = api.post(f"{C}/english/groups/{group.pk}/actions/join", {"member_id": member.pk})

    assert response.status_code == 409
    assert _error(response)["code"] == "entry_refused"
    assert GroupMembership.objects.count() == 0


@pytest.mark.parametrize("action", ["join", "leave"])
def test_joining_or_leaving_for_an_unknown_member_is_404(
    api: Any, english: Community, action: str
) -> None:
    group = group_create(community=english, name="Open")

    response = api.post(f"{C}/english/groups/{group.pk}/actions/{action}", {"member_id": 999999})

    assert response.status_code == 404
    assert _error(response)["fields"] == {"member": ["No member #999999."]}


def test_kol_seats_are_added_listed_and_removed(
    client: Client, api: Any, english: Community
) -> None:
    group = group_create(community=english, name="Open")
    kol = _member("Teacher Wang")
    base = f"{C}/english/groups/{group.pk}/kol-seats"

    added = api.post(base, {"member_id": kol.pk, "title": "Grammar"})
    listed = api.get(base)
    removed = client.delete(f"{base}/{kol.pk}", headers=api.headers)
    again = client.delete(f"{base}/{kol.pk}", headers=api.headers)

    assert added.status_code == 201
    assert (added.json()["member_display_name"], added.json()["title"]) == (
        "Teacher Wang",
        "Grammar",
    )
    assert [s["member_id"] for s in listed.json()] == [kol.pk]
    assert removed.status_code == 204
    assert again.status_code == 404
    assert KolSeat.objects.count() == 0


# Plans


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"kind": "annual", "price_minor": 36500}, {"duration_days": 365, "price_minor": 36500}),
        ({"kind": "lifetime", "price_minor": 99900}, {"duration_days": None}),
        ({"kind": "free"}, {"price_minor": 0, "duration_days": None}),
        ({"kind": "product_grant", "product_id": 7}, {"product_id": 7, "duration_days": None}),
        (
            {"kind": "product_grant", "product_id": 7, "duration_days": 365},
            {"duration_days": 365},
        ),
        (
            {"kind": "fee_goods", "price_minor": 59900, "goods_description": "Meal boxes"},
            {"goods_value_minor": 59900, "duration_days": 365},
        ),
    ],
)
def test_every_kind_of_plan_is_created(
    api: Any, english: Community, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = api.post(f"{C}/english/plans", {"name": "Plan", **body})

    assert response.status_code == 201, response.content
    plan = response.json()
    assert (plan["kind"], plan["currency"], plan["community_id"]) == (
        body["kind"],
        "CNY",
        english.pk,
    )
    assert {k: plan[k] for k in expected} == expected
    assert [p["id"] for p in api.get(f"{C}/english/plans").json()["items"]] == [plan["id"]]


def test_a_plan_grants_groups_of_its_community(api: Any, english: Community) -> None:
    group = group_create(community=english, name="Members", tier="junior")

    response = api.post(
        f"{C}/english/plans",
        {"name": "Annual", "kind": "annual", "price_minor": 100, "group_ids": [group.pk]},
    )

    assert response.status_code == 201
    assert response.json()["group_ids"] == [group.pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "monthly", "price_minor": 100}, "kind"),
        ({"kind": "annual", "price_minor": -100}, "price_minor"),
        ({"kind": "annual", "price_minor": 100, "duration_days": -30}, "duration_days"),
        ({"kind": "annual", "price_minor": 100, "duration_days": 0}, "duration_days"),
        ({"kind": "annual", "price_minor": 100, "grace_days": -1}, "grace_days"),
        ({"kind": "annual"}, "price_minor"),
        ({"kind": "free", "price_minor": 100}, "price_minor"),
        ({"kind": "lifetime", "price_minor": 100, "duration_days": 30}, "duration_days"),
        ({"kind": "product_grant"}, "product_id"),
        ({"kind": "fee_goods", "price_minor": 100}, "goods_description"),
        (
            {
                "kind": "fee_goods",
                "price_minor": 100,
                "goods_description": "Box",
                "goods_value_minor": 50,
            },
            "goods_value_minor",
        ),
        ({"kind": "annual", "price_minor": 100, "currency": "USD"}, "currency"),
        ({"kind": "annual", "price_minor": 100, "group_ids": [999999]}, "group_ids"),
        ({"kind": "annual", "price_minor": 100, "discount_percent": 101}, "discount_percent"),
        ({"kind": "annual", "price_minor": 10**30}, "price_minor"),
        ({"kind": "annual", "price_minor": "a lot"}, "price_minor"),
        ({"kind": "annual", "price_minor": 1.5}, "price_minor"),
    ],
)
def test_a_bad_plan_is_422_naming_the_field_and_nothing_is_saved(
    api: Any, english: Community, body: dict[str, Any], field: str
) -> None:
    response = api.post(f"{C}/english/plans", {"name": "Plan", **body})

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    assert MembershipPlan.objects.count() == 0


def test_a_plan_named_twice_is_409(api: Any, english: Community, annual: MembershipPlan) -> None:
    response = api.post(f"{C}/english/plans", {"name": "Annual", "kind": "free"})

    assert response.status_code == 409
    assert MembershipPlan.objects.count() == 1


def test_malformed_json_is_400_and_saves_nothing(api: Any, english: Community) -> None:
    response = api.post(f"{C}/english/plans", '{"name": "Plan", "kind": ')

    assert response.status_code == 400
    assert _error(response)["code"] == "malformed_json"
    assert MembershipPlan.objects.count() == 0


# Memberships


def test_a_free_membership_is_active_at_once_and_a_second_start_answers_it(
    api: Any, free: MembershipPlan
) -> None:
    member = _member("A")

    first = api.post("/api/v1/memberships", {"member_id": member.pk, "plan_id": free.pk})
    again = api.post("/api/v1/memberships", {"member_id": member.pk, "plan_id": free.pk})

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["status"] == "active"
    assert first.json()["ends_at"] is None
    assert again.json()["id"] == first.json()["id"]
    assert Membership.objects.count() == 1


def test_a_paid_membership_awaits_payment_then_pay_activates_it(
    api: Any, annual: MembershipPlan
) -> None:
    member = _member("A")
    started = api.post(
        "/api/v1/memberships", {"member_id": member.pk, "plan_id": annual.pk, "channel": "weibo"}
    )
    assert started.status_code == 201
    assert (started.json()["status"], started.json()["channel"]) == ("pending", "weibo")
    pk = started.json()["id"]

    paid = api.post(
        f"/api/v1/memberships/{pk}/actions/pay",
        {
            "amount_minor": 36500,
            "currency": "CNY",
            "payment_ref": "transfer-1",
            "paid_at": "2024-05-01T10:00:00+08:00",
        },
    )

    assert paid.status_code == 200
    body = paid.json()
    assert body["membership"]["status"] == "active"
    assert body["membership"]["starts_at"].startswith("2024-05-01T")
    assert body["term"]["kind"] == "new"
    assert (body["term"]["amount_minor"], body["term"]["currency"]) == (36500, "CNY")
    assert body["membership"]["ends_at"] == body["term"]["ends_at"]
    listed = api.get(f"/api/v1/memberships?member_id={member.pk}&status=active").json()
    assert [m["id"] for m in listed["items"]] == [pk]


def test_a_payment_replayed_with_its_idempotency_key_grants_one_term(
    api: Any, annual: MembershipPlan
) -> None:
    membership = membership_start(member=_member("A"), plan=annual)
    body = {"amount_minor": 36500, "payment_ref": "order-9"}
    url = f"/api/v1/memberships/{membership.pk}/actions/pay"

    first = api.post(url, body, headers={"Idempotency-Key": "pay-order-9"})
    again = api.post(url, body, headers={"Idempotency-Key": "pay-order-9"})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert MembershipTerm.objects.count() == 1


def test_the_same_payment_ref_grants_once_even_without_a_key(
    api: Any, annual: MembershipPlan
) -> None:
    membership = membership_start(member=_member("A"), plan=annual)
    url = f"/api/v1/memberships/{membership.pk}/actions/pay"

    first = api.post(url, {"amount_minor": 36500, "payment_ref": "order-9"})
    again = api.post(url, {"amount_minor": 36500, "payment_ref": "order-9"})

    assert again.json()["term"]["id"] == first.json()["term"]["id"]
    assert MembershipTerm.objects.count() == 1


def test_fee_goods_payment_records_the_goods_owed(api: Any, english: Community) -> None:
    plan = plan_create(
        community=english,
        name="Slim",
        kind="fee_goods",
        price_minor=59900,
        goods_description="Meal boxes",
    )
    membership = membership_start(member=_member("A"), plan=plan)

    response = api.post(
        f"/api/v1/memberships/{membership.pk}/actions/pay",
        {"amount_minor": 59900, "payment_ref": "t-1"},
    )

    assert response.status_code == 200
    goods = OwedGoods.objects.get()
    assert (goods.description, goods.value_minor, goods.status) == ("Meal boxes", 59900, "owed")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"amount_minor": 100, "payment_ref": "r"}, 422, "amount_minor"),
        ({"amount_minor": -36500, "payment_ref": "r"}, 422, "amount_minor"),
        ({"amount_minor": 36500, "payment_ref": "r", "currency": "USD"}, 422, "currency"),
        ({"amount_minor": 36500, "payment_ref": ""}, 422, "payment_ref"),
        ({"amount_minor": 36500}, 422, "payment_ref"),
        (
            {"amount_minor": 36500, "payment_ref": "r", "paid_at": "2024-05-01T10:00:00"},
            422,
            "paid_at",
        ),
        (
            {"amount_minor": 36500, "payment_ref": "r", "paid_at": "2999-01-01T00:00:00Z"},
            422,
            "paid_at",
        ),
    ],
)
def test_a_bad_payment_is_refused_and_changes_nothing(
    api: Any, annual: MembershipPlan, body: dict[str, Any], status: int, field: str
) -> None:
    membership = membership_start(member=_member("A"), plan=annual)

    response = api.post(f"/api/v1/memberships/{membership.pk}/actions/pay", body)

    assert response.status_code == status
    assert list(_error(response)["fields"]) == [field]
    membership.refresh_from_db()
    assert membership.status == "pending"
    assert MembershipTerm.objects.count() == 0


def test_a_naive_time_is_refused_with_the_house_message(api: Any, annual: MembershipPlan) -> None:
    membership = membership_start(member=_member("A"), plan=annual)

    response = api.post(
        f"/api/v1/memberships/{membership.pk}/actions/pay",
        {"amount_minor": 36500, "payment_ref": "r", "paid_at": "2024-05-01T10:00:00"},
    )

    assert _error(response)["fields"] == {
        "paid_at": ["The time needs a time zone, like 2024-05-01T10:00:00+08:00."]
    }


def test_cancel_withdraws_a_pending_membership_only(api: Any, annual: MembershipPlan) -> None:
    pending = membership_start(member=_member("A"), plan=annual)
    active = membership_start(member=_member("B"), plan=annual)
    membership_pay(membership=active, amount_minor=36500, payment_ref="p")

    cancelled = api.post(f"/api/v1/memberships/{pending.pk}/actions/cancel")
    refused = api.post(f"/api/v1/memberships/{active.pk}/actions/cancel")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert refused.status_code == 409
    assert _error(refused)["code"] == "transition_refused"
    active.refresh_from_db()
    assert active.status == "active"


def test_memberships_are_filtered(api: Any, english: Community, annual: MembershipPlan) -> None:
    free = plan_create(community=english, name="Free", kind="free")
    other = community_create(slug="zoo", name="Zoo", kind="charisma")
    zoo_free = plan_create(community=other, name="Zoo free", kind="free")
    a, b = _member("A"), _member("B")
    m1 = membership_start(member=a, plan=annual)
    m2 = membership_start(member=a, plan=free)
    m3 = membership_start(member=b, plan=zoo_free)

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/memberships?{query}")
        assert response.status_code == 200, response.content
        return [m["id"] for m in response.json()["items"]]

    assert ids("") == [m3.pk, m2.pk, m1.pk]
    assert ids(f"member_id={a.pk}") == [m2.pk, m1.pk]
    assert ids(f"plan_id={annual.pk}") == [m1.pk]
    assert ids("community=zoo") == [m3.pk]
    assert ids("status=pending") == [m1.pk]
    assert api.get("/api/v1/memberships?status=gone").status_code == 422
    assert api.get("/api/v1/memberships?community=nope").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"member_id": 999999, "plan": "annual"}, 404, "not_found"),
        ({"plan_id": 999999}, 404, "not_found"),
        ({"plan": "product_grant"}, 409, "entry_refused"),
    ],
)
def test_a_membership_that_cannot_start_is_refused(
    api: Any,
    english: Community,
    annual: MembershipPlan,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    grant = plan_create(community=english, name="Course", kind="product_grant", product_id=3)
    plans = {"annual": annual.pk, "product_grant": grant.pk}
    member = _member("A")
    payload = {
        "member_id": body.get("member_id", member.pk),
        "plan_id": body.get("plan_id") or plans[body["plan"]],
    }

    response = api.post("/api/v1/memberships", payload)

    assert response.status_code == status
    assert _error(response)["code"] == code
    assert Membership.objects.count() == 0


def test_renewal_rate_counts_renewed_terms_over_ended_ones(
    api: Any, annual: MembershipPlan
) -> None:
    # Given two members who paid 400 days ago; one renewed before the end, one never did
    now = clock.now()
    renewer, lapsed = _member("A"), _member("B")
    for member, ref in ((renewer, "a1"), (lapsed, "b1")):
        membership = membership_start(member=member, plan=annual)
        membership_pay(
            membership=membership,
            amount_minor=36500,
            payment_ref=ref,
            paid_at=now - timedelta(days=400),
        )
    renewing = Membership.objects.get(member=renewer)
    membership_pay(
        membership=renewing,
        amount_minor=36500,
        payment_ref="a2",
        paid_at=now - timedelta(days=40),
    )

    # When
    period = urlencode({"since": (now - timedelta(days=60)).isoformat(), "until": now.isoformat()})
    response = api.get(f"{C}/english/plans/{annual.pk}/renewal-rate?{period}")

    # Then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["plan_id"], body["ended"], body["renewed"], body["rate"]) == (
        annual.pk,
        2,
        1,
        0.5,
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2024-05-01T00:00:00", "since"),
        ("since=2024-06-01T00:00:00Z&until=2024-05-01T00:00:00Z", "since"),
        ("until=soon", "until"),
    ],
)
def test_a_bad_renewal_period_is_422(
    api: Any, annual: MembershipPlan, query: str, field: str
) -> None:
    response = api.get(f"{C}/english/plans/{annual.pk}/renewal-rate?{query}")

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]


# Invitations


def test_an_invitation_is_created_listed_and_revoked(api: Any, english: Community) -> None:
    group = group_create(community=english, name="Open")

    created = api.post(
        f"{C}/english/invitations",
        {
            "channel": "xiaohongshu",
            "group_id": group.pk,
            "content": "note-42",
            "expires_at": "2999-01-01T00:00:00+08:00",
            "max_uses": 10,
        },
    )

    assert created.status_code == 201
    body = created.json()
    assert len(body["code"]) == 8
    assert (body["channel"], body["group_id"], body["uses"], body["state"]) == (
        "xiaohongshu",
        group.pk,
        0,
        "usable",
    )
    listed = api.get(f"{C}/english/invitations").json()
    assert [i["code"] for i in listed["items"]] == [body["code"]]
    revoked = api.post(f"{C}/english/invitations/{body['id']}/actions/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"channel": "douyin"}, 422, "group"),
        ({"channel": "", "group": True}, 422, "channel"),
        (
            {"channel": "douyin", "group": True, "expires_at": "2999-01-01T00:00:00"},
            422,
            "expires_at",
        ),
        (
            {"channel": "douyin", "group": True, "expires_at": "2001-01-01T00:00:00Z"},
            422,
            "expires_at",
        ),
        ({"channel": "douyin", "group": True, "max_uses": 0}, 422, "max_uses"),
        ({"channel": "douyin", "group_id": 999999}, 404, "group"),
        ({"channel": "douyin", "plan_id": 999999}, 404, "plan_id"),
    ],
)
def test_a_bad_invitation_is_refused_and_nothing_is_saved(
    api: Any, english: Community, body: dict[str, Any], status: int, field: str
) -> None:
    group = group_create(community=english, name="Open")
    if body.pop("group", False):
        body["group_id"] = group.pk

    response = api.post(f"{C}/english/invitations", body)

    assert response.status_code == status
    assert list(_error(response)["fields"]) == [field]
    assert Invitation.objects.count() == 0


def test_redeeming_a_group_invitation_seats_the_member_on_its_channel(
    api: Any, english: Community
) -> None:
    group = group_create(community=english, name="Open")
    invitation = invitation_create(
        community=english, channel="douyin", content="video-7", group=group, max_uses=1
    )
    a, b = _member("A"), _member("B")

    # When A redeems the only use, then B tries
    first = api.post(
        "/api/v1/invitations/actions/redeem",
        {"code": invitation.code.lower(), "member_id": a.pk},
    )
    second = api.post(
        "/api/v1/invitations/actions/redeem", {"code": invitation.code, "member_id": b.pk}
    )

    # Then A sits, attributed to the channel and content; B is refused and nothing changes
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["seat"]["member_id"], body["seat"]["channel"]) == (a.pk, "douyin")
    assert body["seat"]["invitation_id"] == invitation.pk
    assert body["membership"] is None
    assert (body["invitation"]["uses"], body["invitation"]["state"]) == (1, "used_up")
    join = Activity.objects.get(kind=ActivityKind.JOIN)
    assert (join.member_id, join.channel, join.content) == (a.pk, "douyin", "video-7")
    assert second.status_code == 409
    assert _error(second) == {
        "code": "invitation_unusable",
        "message": "This invitation has been used up.",
        "fields": {"code": ["This invitation has been used up."]},
    }
    assert not GroupMembership.objects.filter(member=b).exists()
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_redeeming_a_plan_invitation_starts_the_membership(
    api: Any, english: Community, free: MembershipPlan
) -> None:
    invitation = invitation_create(community=english, channel="weibo", plan=free)
    member = _member("A")

    response = api.post(
        "/api/v1/invitations/actions/redeem", {"code": invitation.code, "member_id": member.pk}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["seat"] is None
    membership = Membership.objects.get(member=member)
    assert body["membership"]["id"] == membership.pk
    assert (membership.status, membership.channel, membership.invitation_id) == (
        "active",
        "weibo",
        invitation.pk,
    )


def test_an_expired_or_revoked_invitation_is_409(
    api: Any, english: Community, frozen_clock: Any
) -> None:
    group = group_create(community=english, name="Open")
    expiring = invitation_create(
        community=english,
        channel="douyin",
        group=group,
        expires_at=frozen_clock() + timedelta(hours=1),
    )
    revoked = invitation_create(community=english, channel="douyin", group=group)
    api.post(f"{C}/english/invitations/{revoked.pk}/actions/revoke")
    member = _member("A")
    frozen_clock.advance(timedelta(hours=1))

    answers = [
        api.post("/api/v1/invitations/actions/redeem", {"code": code, "member_id": member.pk})
        for code in (expiring.code, revoked.code)
    ]

    assert [a.status_code for a in answers] == [409, 409]
    assert [_error(a)["message"] for a in answers] == [
        "This invitation has expired.",
        "This invitation was withdrawn.",
    ]
    assert GroupMembership.objects.count() == 0
    assert list(Invitation.objects.values_list("uses", flat=True)) == [0, 0]


def test_a_refused_redemption_gives_the_use_back(
    api: Any, english: Community, annual: MembershipPlan
) -> None:
    group = group_create(community=english, name="Members", required_plan=annual)
    invitation = invitation_create(community=english, channel="douyin", group=group, max_uses=1)

    response = api.post(
        "/api/v1/invitations/actions/redeem",
        {"code": invitation.code, "member_id": _member("A").pk},
    )

    assert response.status_code == 409
    assert _error(response)["code"] == "entry_refused"
    invitation.refresh_from_db()
    assert invitation.uses == 0


@pytest.mark.parametrize(
    ("body", "field"), [({"code": "NOSUCH99"}, "code"), ({"member_id": 999999}, "member")]
)
def test_redeeming_an_unknown_code_or_member_is_404(
    api: Any, english: Community, body: dict[str, Any], field: str
) -> None:
    group = group_create(community=english, name="Open")
    invitation = invitation_create(community=english, channel="douyin", group=group)

    response = api.post(
        "/api/v1/invitations/actions/redeem",
        {"code": invitation.code, "member_id": _member("A").pk, **body},
    )

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == [field]
    invitation.refresh_from_db()
    assert invitation.uses == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_use_of_an_invitation_is_taken_once_under_a_race(api_token: str) -> None:
    # Given an invitation with one use left and eight members redeeming it at the same moment
    english = community_create(slug="english", name="English", kind="resource")
    group = group_create(community=english, name="Open")
    invitation = invitation_create(community=english, channel="douyin", group=group, max_uses=1)
    members = [_member(f"M{i}") for i in range(8)]
    barrier = threading.Barrier(len(members))
    answers: list[int] = []
    lock = threading.Lock()

    def redeem(member: Member) -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                "/api/v1/invitations/actions/redeem",
                json.dumps({"code": invitation.code, "member_id": member.pk}),
                content_type="application/json",
                headers={"Authorization": f"Bearer {api_token}"},
            )
            with lock:
                answers.append(response.status_code)
        finally:
            connection.close()

    # When
    workers = [threading.Thread(target=redeem, args=(m,)) for m in members]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    # Then exactly one got in
    assert sorted(answers) == [200] + [409] * 7
    invitation.refresh_from_db()
    assert invitation.uses == 1
    assert GroupMembership.objects.count() == 1
