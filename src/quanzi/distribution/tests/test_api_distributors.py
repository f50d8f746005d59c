"""API v1: distributors apply, are approved, rejected, suspended, and say where payouts go; a
community's distribution terms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community, group
from quanzi.core import crypto
from quanzi.core.models import Activity
from quanzi.distribution.models import DistributionSettings, Distributor
from quanzi.distribution.services.distributors import distributor_apply
from quanzi.distribution.tests.kit import api_error
from quanzi.members.models import Member
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db

URL = "/api/v1/distributors"


@pytest.fixture
def who() -> Member:
    return member("小红")


def _apply(api: Any, home: Community, who: Member, **body: Any) -> Any:
    body.setdefault("role", "sharer")
    return api.post(URL, {"community_id": home.pk, "member_id": who.pk, **body})


def _actions(distributor_id: int) -> list[str]:
    return list(
        Activity.objects.filter(object_type="distributor", object_id=str(distributor_id))
        .order_by("pk")
        .values_list("data__action", flat=True)
    )


# Applying and deciding


def test_an_application_is_201_and_approval_makes_a_distributor(
    api: Any, home: Community, who: Member, operator: Any
) -> None:
    # When
    applied = _apply(api, home, who, application="我常在朋友圈分享")

    # Then
    assert applied.status_code == 201
    body = applied.json()
    distributor = Distributor.objects.get()
    assert body == {
        "id": distributor.pk,
        "community_id": home.pk,
        "member_id": who.pk,
        "member_name": "小红",
        "role": "sharer",
        "status": "applied",
        "group_id": None,
        "pickup_point": "",
        "application": "我常在朋友圈分享",
        "reason": "",
        "applied_at": body["applied_at"],
        "decided_at": None,
        "decided_by_id": None,
        "payee_name": "",
        "payee_account_masked": "",
    }

    approved = api.post(f"{URL}/{distributor.pk}/actions/approve", {"note": "欢迎"})

    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by_id"] == operator.pk
    assert api.get(f"{URL}/{distributor.pk}").json() == approved.json()
    assert _actions(distributor.pk) == ["applied", "approve"]


def test_a_group_leader_applies_for_a_group_with_a_pickup_point(
    api: Any, home: Community, who: Member
) -> None:
    team = group(home)

    response = _apply(
        api, home, who, role="group_leader", group_id=team.pk, pickup_point="海港小区 3 栋门卫室"
    )

    assert response.status_code == 201
    assert (response.json()["group_id"], response.json()["pickup_point"]) == (
        team.pk,
        "海港小区 3 栋门卫室",
    )


def test_rejecting_and_suspending_need_a_reason_and_keep_it(
    api: Any, home: Community, who: Member
) -> None:
    first = distributor_apply(community=home, member=who, role="sharer")
    second = distributor_apply(community=home, member=who, role="influencer")

    missing = api.post(f"{URL}/{first.pk}/actions/reject", {"reason": "  "})
    assert missing.status_code == 422
    assert list(api_error(missing)["fields"]) == ["reason"]
    assert Distributor.objects.get(pk=first.pk).status == "applied"

    rejected = api.post(f"{URL}/{first.pk}/actions/reject", {"reason": "资料不全"})
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "资料不全")

    api.post(f"{URL}/{second.pk}/actions/approve", {})
    no_reason = api.post(f"{URL}/{second.pk}/actions/suspend", {})
    assert no_reason.status_code == 422
    assert list(api_error(no_reason)["fields"]) == ["reason"]
    suspended = api.post(f"{URL}/{second.pk}/actions/suspend", {"reason": "虚假宣传"})
    assert (suspended.json()["status"], suspended.json()["reason"]) == ("suspended", "虚假宣传")
    assert _actions(second.pk) == ["applied", "approve", "suspend"]


def test_a_decision_in_the_wrong_state_is_409_naming_status(
    api: Any, home: Community, who: Member
) -> None:
    applied = distributor_apply(community=home, member=who, role="sharer")

    response = api.post(f"{URL}/{applied.pk}/actions/suspend", {"reason": "x"})

    assert response.status_code == 409
    assert list(api_error(response)["fields"]) == ["status"]
    assert Distributor.objects.get().status == "applied"
    assert _actions(applied.pk) == ["applied"]


def test_applying_twice_for_a_role_is_409_and_makes_no_second_row(
    api: Any, home: Community, who: Member
) -> None:
    assert _apply(api, home, who).status_code == 201

    again = _apply(api, home, who)

    assert again.status_code == 409
    assert list(api_error(again)["fields"]) == ["role"]
    assert Distributor.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"role": "boss"}, 422, "role"),
        ({"role": "sharer", "group_id": "GROUP"}, 422, "group_id"),
        ({"role": "sharer", "application": "x" * 501}, 422, "application"),
        ({"role": "sharer", "community_id": 999_999}, 404, "community_id"),
        ({"role": "sharer", "member_id": 999_999}, 404, "member_id"),
        ({"role": "sharer", "member_id": 2**70}, 422, "member_id"),
        ({"role": "group_leader", "group_id": 999_999}, 404, "group_id"),
        ({"role": "sharer", "member_id": None}, 422, "member_id"),
        ({"role": "sharer", "application": "a\x00b"}, 422, "application"),
    ],
    ids=["role", "group-elsewhere", "long", "community", "member", "huge", "group", "null", "nul"],
)
def test_a_bad_application_is_refused_naming_the_field(
    api: Any, home: Community, who: Member, body: dict[str, Any], status: int, field: str
) -> None:
    if body.get("group_id") == "GROUP":
        body["group_id"] = group(community()).pk
    payload = {"community_id": home.pk, "member_id": who.pk, **body}

    response = api.post(URL, payload)

    assert response.status_code == status, response.json()
    assert list(api_error(response)["fields"]) == [field]
    assert Distributor.objects.count() == 0


def test_the_list_filters_by_community_status_and_role(api: Any, home: Community) -> None:
    a = distributor_apply(community=home, member=member(), role="sharer")
    b = distributor_apply(community=home, member=member(), role="influencer")
    elsewhere = distributor_apply(community=community(), member=member(), role="sharer")
    api.post(f"{URL}/{b.pk}/actions/approve", {})

    def ids(query: str) -> list[int]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    assert sorted(ids(f"community_id={home.pk}")) == sorted([a.pk, b.pk])
    assert ids(f"community_id={home.pk}&status=approved") == [b.pk]
    assert ids("role=sharer") == [elsewhere.pk, a.pk]
    page = api.get(f"{URL}?limit=1").json()
    assert (page["count"], page["next_offset"], len(page["items"])) == (3, 1, 1)
    bad = api.get(f"{URL}?status=happy")
    assert bad.status_code == 422
    assert list(api_error(bad)["fields"]) == ["status"]


def test_an_unknown_distributor_is_404(api: Any) -> None:
    for response in (
        api.get(f"{URL}/999999"),
        api.post(f"{URL}/999999/actions/approve", {}),
        api.post(f"{URL}/{2**70}/actions/reject", {"reason": "x"}),
    ):
        assert response.status_code == 404
        assert list(api_error(response)["fields"]) == ["distributor_id"]


# Where payouts go


def test_the_payee_is_stored_encrypted_and_answered_masked(
    api: Any, home: Community, who: Member
) -> None:
    applied = distributor_apply(community=home, member=who, role="sharer")

    response = api.post(
        f"{URL}/{applied.pk}/actions/set-payee",
        {"name": "王小红", "account": "6222 0212 3456 7890"},
    )

    assert response.status_code == 200
    assert (response.json()["payee_name"], response.json()["payee_account_masked"]) == (
        "王**",
        "62****7890",
    )
    assert "6222021234567890" not in response.content.decode()
    stored = Distributor.objects.get()
    assert crypto.decrypt(stored.payee_account_encrypted) == "6222021234567890"


def test_a_bad_payee_names_each_field_and_changes_nothing(
    api: Any, home: Community, who: Member
) -> None:
    applied = distributor_apply(community=home, member=who, role="sharer")

    response = api.post(f"{URL}/{applied.pk}/actions/set-payee", {"name": "", "account": "12"})

    assert response.status_code == 422
    assert set(api_error(response)["fields"]) == {"name", "account"}
    assert Distributor.objects.get().payee_account_encrypted == ""


# Terms


def test_the_terms_are_the_defaults_until_changed_then_only_what_was_sent_changes(
    client: Client, api: Any, home: Community
) -> None:
    url = f"/api/v1/communities/{home.slug}/distribution-settings"

    assert api.get(url).json() == {
        "community_id": home.pk,
        "attribution_days": 7,
        "binding_days": 0,
        "second_level": False,
        "return_window_days": 7,
        "min_payout_minor": 100,
        "currency": "CNY",
        "updated_at": None,
    }

    response = client.patch(
        url,
        json.dumps({"binding_days": 30, "second_level": True}),
        content_type="application/json",
        headers=api.headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["binding_days"], body["second_level"], body["attribution_days"]) == (30, True, 7)
    assert body["updated_at"] is not None
    assert api.get(url).json() == body


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"attribution_days": 0}, {"attribution_days"}),
        (
            {"attribution_days": 91, "return_window_days": 100},
            {"attribution_days", "return_window_days"},
        ),
        ({"binding_days": 366}, {"binding_days"}),
        ({"min_payout_minor": 0}, {"min_payout_minor"}),
        ({"min_payout_minor": 10**30}, {"min_payout_minor"}),
        ({"second_level": None}, {"second_level"}),
        ({"attribution_days": "a week"}, {"attribution_days"}),
    ],
    ids=["zero", "two", "binding", "payout", "huge", "null", "text"],
)
def test_terms_out_of_range_are_422_naming_them_and_change_nothing(
    client: Client, api: Any, home: Community, body: dict[str, Any], fields: set[str]
) -> None:
    response = client.patch(
        f"/api/v1/communities/{home.slug}/distribution-settings",
        json.dumps(body),
        content_type="application/json",
        headers=api.headers,
    )

    assert response.status_code == 422
    assert set(api_error(response)["fields"]) == fields
    assert DistributionSettings.objects.count() == 0


def test_the_terms_of_an_unknown_community_are_404(api: Any) -> None:
    response = api.get("/api/v1/communities/nowhere/distribution-settings")
    nul = api.get("/api/v1/communities/no%00where/distribution-settings")

    assert (response.status_code, nul.status_code) == (404, 404)


# Without a token


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("get", f"{URL}/1"),
        ("post", f"{URL}/1/actions/approve"),
        ("post", f"{URL}/1/actions/reject"),
        ("post", f"{URL}/1/actions/suspend"),
        ("post", f"{URL}/1/actions/set-payee"),
        ("get", "/api/v1/communities/x/distribution-settings"),
        ("patch", "/api/v1/communities/x/distribution-settings"),
    ],
)
def test_every_distributor_endpoint_needs_a_token(
    client: Client, home: Community, who: Member, method: str, path: str
) -> None:
    applied = distributor_apply(community=home, member=who, role="sharer")
    path = path.replace("/1/", f"/{applied.pk}/").replace("/x/", f"/{home.slug}/")
    body = {"community_id": home.pk, "member_id": member().pk, "role": "influencer"}
    body |= {"reason": "x", "name": "王小红", "account": "62220212", "binding_days": 9}

    if method == "get":
        response = client.get(path)
    else:
        response = getattr(client, method)(path, json.dumps(body), content_type="application/json")

    assert response.status_code == 401
    assert api_error(response)["code"] == "unauthorized"
    assert Distributor.objects.get().status == "applied"
    assert Distributor.objects.count() == 1
    assert DistributionSettings.objects.count() == 0
