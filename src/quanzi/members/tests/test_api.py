"""API v1: members, their identities, consent, merge, export and deletion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from quanzi.core.models import Activity
from quanzi.core.services.tokens import api_token_create, operator_create
from quanzi.members.models import Identity, Member
from quanzi.members.services import IdentityIn, member_identify, member_update

pytestmark = pytest.mark.django_db

URL = "/api/v1/members"
PHONE = "13812345678"
PHONE_E164 = "+8613812345678"
PHONE_MASKED = "138****5678"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def _member(name: str = "Li Hua", *identities: tuple[str, str], **fields: Any) -> Member:
    member, _ = member_identify(
        display_name=name, identities=[IdentityIn(kind, value) for kind, value in identities]
    )
    if fields:
        member = member_update(member=member, **fields)
    return member


def _patch(client: Client, token: str, path: str, body: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.patch(
        path, data, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture
def plain_token(db: None) -> str:
    """A token of an operator without the personal-data permission."""
    user, _ = operator_create(username="assistant", password="a-Long-enough-pass-42")
    user.is_superuser = False  # type: ignore[attr-defined]
    user.save()
    _, raw = api_token_create(username="assistant", name="tests")
    return raw


# Create (identify)


def test_create_answers_201_with_the_phone_masked(api: Any, operator: Any) -> None:
    response = api.post(
        URL,
        {
            "display_name": "Li Hua",
            "identities": [
                {"kind": "phone", "value": PHONE},
                {"kind": "wechat_unionid", "value": "oUnion_1234567890"},
            ],
            "source_channel": "douyin",
        },
    )

    assert response.status_code == 201
    body = response.json()
    member = Member.objects.get()
    assert body["id"] == member.pk
    assert (body["display_name"], body["source_channel"]) == ("Li Hua", "douyin")
    assert sorted((i["kind"], i["value"], i["masked"]) for i in body["identities"]) == [
        ("phone", PHONE_MASKED, True),
        ("wechat_unionid", "oUni****890", True),
    ]
    assert PHONE not in response.content.decode()
    assert "oUnion_1234567890" not in response.content.decode()
    assert body["quiet_start"] == "22:00:00"
    assert Activity.objects.get(member_id=member.pk).actor_id == operator.pk


def test_create_with_a_known_identity_answers_200_and_attaches_the_new_ones(api: Any) -> None:
    # Given
    known = _member("Li Hua", ("phone", PHONE))

    # When
    response = api.post(
        URL,
        {
            "display_name": "Li H.",
            "identities": [
                {"kind": "phone", "value": "+86 138 1234 5678"},
                {"kind": "email", "value": "li@Example.com"},
            ],
        },
    )

    # Then
    assert response.status_code == 200
    assert response.json()["id"] == known.pk
    assert Member.objects.count() == 1
    assert sorted(Identity.objects.filter(member=known).values_list("kind", flat=True)) == [
        "email",
        "phone",
    ]


def test_identities_of_two_members_are_409_duplicate_identity_and_change_nothing(api: Any) -> None:
    a = _member("A", ("phone", PHONE))
    b = _member("B", ("email", "b@example.com"))

    response = api.post(
        URL,
        {
            "display_name": "Both",
            "identities": [
                {"kind": "phone", "value": PHONE},
                {"kind": "email", "value": "b@example.com"},
                {"kind": "wecom_external_userid", "value": "wmNEWNEWNEW"},
            ],
        },
    )

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "duplicate_identity"
    assert error["fields"] == {"identities": [error["message"]]}
    assert f"#{a.pk}" in error["message"]
    assert f"#{b.pk}" in error["message"]
    assert Member.objects.count() == 2
    assert Identity.objects.count() == 2


@pytest.mark.parametrize(
    ("identity", "field"),
    [
        ({"kind": "phone", "value": "12345"}, "phone"),
        ({"kind": "email", "value": "not-an-address"}, "email"),
        ({"kind": "fax", "value": "123"}, "kind"),
        ({"kind": "wechat_openid", "value": "oOpenid123456"}, "namespace"),
    ],
)
def test_a_bad_identity_is_422_naming_the_field_and_creates_nobody(
    api: Any, identity: dict[str, str], field: str
) -> None:
    response = api.post(URL, {"display_name": "X", "identities": [identity]})

    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "identity_invalid"
    assert list(error["fields"]) == [field]
    assert Member.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["display_name"]),
        ({"display_name": "   "}, ["display_name"]),
        ({"display_name": "X", "identities": "phone"}, ["identities"]),
        ({"display_name": "X", "identities": [{"kind": "phone"}]}, ["identities.0.value"]),
    ],
)
def test_a_missing_or_malformed_field_is_422(
    api: Any, body: dict[str, Any], fields: list[str]
) -> None:
    response = api.post(URL, body)

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == fields
    assert Member.objects.count() == 0


def test_malformed_json_is_400(api: Any) -> None:
    response = api.post(URL, '{"display_name": "X",')

    assert response.status_code == 400
    assert _error(response)["code"] == "malformed_json"
    assert Member.objects.count() == 0


def test_a_create_replayed_with_its_idempotency_key_creates_one_member(api: Any) -> None:
    body = {"display_name": "Li Hua", "identities": [{"kind": "phone", "value": PHONE}]}

    first = api.post(URL, body, headers={"Idempotency-Key": "member-li-hua"})
    again = api.post(URL, body, headers={"Idempotency-Key": "member-li-hua"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Member.objects.count() == 1


def test_without_a_token_it_is_401(client: Client, operator: Any) -> None:
    response = client.post(URL, json.dumps({"display_name": "X"}), content_type="application/json")

    assert response.status_code == 401
    assert Member.objects.count() == 0


# List and get


def test_the_list_pages_newest_first_with_phones_masked(api: Any) -> None:
    members = [_member(f"M{i}", ("phone", f"1381234567{i}")) for i in range(3)]

    first = api.get(URL + "?limit=2").json()
    second = api.get(URL + "?limit=2&offset=2").json()

    assert (first["count"], first["next_offset"], second["next_offset"]) == (3, 2, None)
    ids = [m["id"] for m in first["items"] + second["items"]]
    assert ids == [m.pk for m in reversed(members)]
    assert [i["value"] for i in first["items"][0]["identities"]] == ["138****5672"]


def test_the_list_filters_by_phone_tag_stage_level_and_channel(api: Any) -> None:
    li = _member("Li Hua", ("phone", PHONE), tags=["vip"], source_channel="douyin")
    wang = _member("Wang", ("email", "wang@example.com"), tags=["vip"], source_channel="weibo")
    Member.objects.filter(pk=wang.pk).update(stage="fan", level="core")
    _member("Zhao")

    def ids(query: str) -> list[int]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [m["id"] for m in response.json()["items"]]

    assert ids(f"q={PHONE}") == [li.pk]
    assert ids("q=wang@example.com") == [wang.pk]
    assert ids("q=hua") == [li.pk]
    assert sorted(ids("tag=vip")) == sorted([li.pk, wang.pk])
    assert ids("stage=fan") == [wang.pk]
    assert ids("level=core") == [wang.pk]
    assert ids("channel=douyin") == [li.pk]


@pytest.mark.parametrize(("query", "field"), [("stage=vip", "stage"), ("level=god", "level")])
def test_an_unknown_filter_value_is_422(api: Any, query: str, field: str) -> None:
    response = api.get(f"{URL}?{query}")

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]


def test_reveal_shows_the_phone_to_an_operator_with_the_permission(api: Any) -> None:
    member = _member("Li Hua", ("phone", PHONE))

    one = api.get(f"{URL}/{member.pk}?reveal=true").json()
    listed = api.get(f"{URL}?reveal=true").json()

    assert [(i["value"], i["masked"]) for i in one["identities"]] == [(PHONE_E164, False)]
    assert listed["items"][0]["identities"] == one["identities"]
    # Each unmasked look is on the record: who, whose, through the API.
    looks = Activity.objects.filter(
        member_id=member.pk, data__action="personal_data_revealed"
    ).values_list("data", flat=True)
    assert list(looks) == [{"action": "personal_data_revealed", "what": "api"}] * 2


@pytest.mark.parametrize("path", ["", "/{pk}", "/{pk}/export"])
def test_reveal_without_the_permission_is_403(client: Client, plain_token: str, path: str) -> None:
    member = _member("Li Hua", ("phone", PHONE))
    headers = {"Authorization": f"Bearer {plain_token}"}

    refused = client.get(URL + path.format(pk=member.pk) + "?reveal=true", headers=headers)
    masked = client.get(URL + path.format(pk=member.pk), headers=headers)

    assert refused.status_code == 403
    assert _error(refused)["code"] == "forbidden"
    assert list(_error(refused)["fields"]) == ["reveal"]
    assert masked.status_code == 200
    assert PHONE_MASKED in masked.content.decode()
    assert PHONE_E164 not in masked.content.decode()


def test_an_unknown_member_is_404(api: Any) -> None:
    response = api.get(f"{URL}/999999")

    assert response.status_code == 404
    assert _error(response) == {
        "code": "not_found",
        "message": "No member #999999.",
        "fields": {"member": ["No member #999999."]},
    }


# Update


def test_patch_changes_only_the_fields_sent(client: Client, api_token: str) -> None:
    member = _member("Li Hua", ("phone", PHONE), note="keep", tags=["old"])

    response = _patch(
        client,
        api_token,
        f"{URL}/{member.pk}",
        {
            "display_name": "Li Hua (Shanghai)",
            "tags": ["vip", "seafood"],
            "interests": ["crab"],
            "categories": ["food"],
            "quiet_start": "21:30",
            "quiet_end": "09:00",
            "source_channel": "xiaohongshu",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["display_name"] == "Li Hua (Shanghai)"
    assert body["note"] == "keep"
    assert sorted(body["tags"]) == ["seafood", "vip"]
    assert (body["interests"], body["categories"]) == (["crab"], ["food"])
    assert (body["quiet_start"], body["quiet_end"]) == ("21:30:00", "09:00:00")
    assert body["source_channel"] == "xiaohongshu"
    assert body["identities"][0]["value"] == PHONE_MASKED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": None}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"quiet_start": "25:00"}, "quiet_start"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"note": "x" * 501}, "note"),
    ],
)
def test_a_bad_patch_is_422_and_changes_nothing(
    client: Client, api_token: str, body: dict[str, Any], field: str
) -> None:
    member = _member("Li Hua")

    response = _patch(client, api_token, f"{URL}/{member.pk}", body)

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    member.refresh_from_db()
    assert (member.display_name, member.note, list(member.tags.all())) == ("Li Hua", "", [])


def test_patching_an_unknown_member_is_404(client: Client, api_token: str) -> None:
    response = _patch(client, api_token, f"{URL}/424242", {"note": "x"})

    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


# Identities


def test_an_identity_is_added_201_then_200_and_removed_204(client: Client, api: Any) -> None:
    member = _member("Li Hua")
    path = f"{URL}/{member.pk}/identities"

    added = api.post(path, {"kind": "phone", "value": PHONE})
    again = api.post(path, {"kind": "phone", "value": "+8613812345678"})

    assert (added.status_code, again.status_code) == (201, 200)
    assert added.json()["value"] == PHONE_MASKED
    assert again.json()["id"] == added.json()["id"]
    removed = client.delete(f"{path}/{added.json()['id']}", headers=api.headers)
    assert removed.status_code == 204
    assert Identity.objects.count() == 0
    gone = client.delete(f"{path}/{added.json()['id']}", headers=api.headers)
    assert gone.status_code == 404
    assert _error(gone)["code"] == "not_found"


def test_an_identity_held_by_another_member_is_409(api: Any) -> None:
    owner = _member("Owner", ("phone", PHONE))
    other = _member("Other")

    response = api.post(f"{URL}/{other.pk}/identities", {"kind": "phone", "value": PHONE})

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "duplicate_identity"
    assert f"#{owner.pk}" in error["message"]
    assert list(Identity.objects.values_list("member_id", flat=True)) == [owner.pk]


def test_an_identity_of_another_member_cannot_be_removed_through_this_one(
    client: Client, api: Any
) -> None:
    owner = _member("Owner", ("phone", PHONE))
    other = _member("Other")
    identity = Identity.objects.get(member=owner)

    response = client.delete(f"{URL}/{other.pk}/identities/{identity.pk}", headers=api.headers)

    assert response.status_code == 404
    assert Identity.objects.filter(pk=identity.pk).exists()


# Actions


def test_merge_folds_the_member_into_the_other(api: Any) -> None:
    source = _member("Old WeChat", ("wechat_unionid", "oUnion_1234567890"), tags=["a"])
    target = _member("Li Hua", ("phone", PHONE), tags=["b"])

    response = api.post(f"{URL}/{source.pk}/actions/merge", {"into_member_id": target.pk})

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == target.pk
    assert sorted(body["tags"]) == ["a", "b"]
    assert sorted(i["kind"] for i in body["identities"]) == ["phone", "wechat_unionid"]
    merged = api.get(f"{URL}/{source.pk}").json()
    assert merged["merged_into_id"] == target.pk
    assert [m["id"] for m in api.get(URL).json()["items"]] == [target.pk]


@pytest.mark.parametrize(
    ("into", "status", "code"),
    [("self", 422, "member_invalid"), (999999, 404, "not_found"), ("x", 422, "invalid")],
)
def test_a_bad_merge_is_refused_and_changes_nothing(
    api: Any, into: Any, status: int, code: str
) -> None:
    member = _member("Li Hua", ("phone", PHONE))

    response = api.post(
        f"{URL}/{member.pk}/actions/merge",
        {"into_member_id": member.pk if into == "self" else into},
    )

    assert response.status_code == status
    assert _error(response)["code"] == code
    member.refresh_from_db()
    assert member.merged_into_id is None


def test_opt_out_then_opt_in(api: Any) -> None:
    member = _member("Li Hua")

    out = api.post(f"{URL}/{member.pk}/actions/opt-out")
    back = api.post(f"{URL}/{member.pk}/actions/opt-in")

    assert out.status_code == 200
    assert out.json()["marketing_opt_out"] is True
    assert out.json()["opt_out_at"] is not None
    assert back.json()["marketing_opt_out"] is False
    assert back.json()["opt_out_at"] is None
    actions = Activity.objects.filter(member_id=member.pk).values_list("data__action", flat=True)
    assert list(actions.order_by("pk")) == ["created", "opted_out", "opted_in"]


def test_consent_records_the_version(api: Any) -> None:
    member = _member("Li Hua")

    response = api.post(f"{URL}/{member.pk}/actions/consent", {"version": "2024-05"})
    missing = api.post(f"{URL}/{member.pk}/actions/consent", {"version": ""})

    assert response.status_code == 200
    assert response.json()["consent_version"] == "2024-05"
    assert response.json()["consent_at"] is not None
    assert missing.status_code == 422
    assert list(_error(missing)["fields"]) == ["version"]


def test_export_gives_the_members_data_masked_unless_revealed(api: Any) -> None:
    member = _member("Li Hua", ("phone", PHONE), tags=["vip"])

    masked = api.get(f"{URL}/{member.pk}/export")
    revealed = api.get(f"{URL}/{member.pk}/export?reveal=true")

    assert masked.status_code == 200
    data = masked.json()
    assert data["member"]["display_name"] == "Li Hua"
    assert data["member"]["tags"] == ["vip"]
    assert [i["value"] for i in data["identities"]] == [PHONE_MASKED]
    assert PHONE_E164 not in masked.content.decode()
    assert "communities" in data
    assert [i["value"] for i in revealed.json()["identities"]] == [PHONE_E164]


def test_anonymise_deletes_personal_data_and_closes_the_record(
    client: Client, api: Any, api_token: str
) -> None:
    member = _member("Li Hua", ("phone", PHONE), note="likes crab", tags=["vip"])

    response = api.post(f"{URL}/{member.pk}/actions/anonymise")

    assert response.status_code == 200
    body = response.json()
    assert (body["display_name"], body["note"], body["tags"], body["identities"]) == (
        f"#{member.pk}",
        "",
        [],
        [],
    )
    assert body["anonymised_at"] is not None
    assert Identity.objects.count() == 0
    later = _patch(client, api_token, f"{URL}/{member.pk}", {"note": "back"})
    assert later.status_code == 409
    assert _error(later)["code"] == "conflict"
    again = api.post(f"{URL}/{member.pk}/actions/anonymise")
    assert again.status_code == 409


@pytest.mark.parametrize("action", ["merge", "opt-out", "opt-in", "consent", "anonymise"])
def test_an_action_on_an_unknown_member_is_404(api: Any, action: str) -> None:
    response = api.post(f"{URL}/999999/actions/{action}", {"into_member_id": 1, "version": "v1"})

    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
