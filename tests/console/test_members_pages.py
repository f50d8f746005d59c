"""The console's member pages, through Django's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from quanzi.communities.models import Community, MembershipPlan
from quanzi.communities.services.memberships import membership_start
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import Identity, Member, Tag
from quanzi.members.services import IdentityIn, member_identify

PAGES = ["/console/members/", "/console/members/{pk}/"]


def _state() -> tuple[int, int, int, int]:
    return (
        Member.objects.count(),
        Identity.objects.count(),
        Tag.objects.count(),
        Activity.objects.count(),
    )


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(client: Any, person: Member, path: str) -> None:
    url = path.format(pk=person.pk)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/console/login/?next={url}"


@pytest.mark.parametrize("action", ["reveal", "tags", "marketing", "merge", "export", "anonymise"])
def test_anonymous_cannot_post_actions(client: Any, person: Member, action: str) -> None:
    before = _state()

    response = client.post(f"/console/members/{person.pk}/{action}/", {"confirm": "on"})

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")
    assert _state() == before


@pytest.mark.parametrize("path", PAGES)
def test_operator_sees_member_pages(signed_in: Any, person: Member, path: str) -> None:
    response = signed_in.get(path.format(pk=person.pk))

    assert response.status_code == 200
    assert "王小明" in response.content.decode()


def test_nav_links_members_and_communities(signed_in: Any) -> None:
    body = signed_in.get("/console/").content.decode()

    assert 'href="/console/members/"' in body
    assert 'href="/console/communities/"' in body
    assert 'href="/console/outbox/"' in body


def test_unknown_member_is_404(signed_in: Any) -> None:
    assert signed_in.get("/console/members/999999/").status_code == 404


# --- list --------------------------------------------------------------------------------------


def test_list_shows_the_phone_masked_never_in_full(signed_in: Any, person: Member) -> None:
    body = signed_in.get("/console/members/").content.decode()

    assert "138****8000" in body
    assert "13800138000" not in body
    assert "抖音" in body  # the source channel, as an owner calls it


def test_search_by_exact_phone_finds_the_member(signed_in: Any, person: Member) -> None:
    other, _ = member_identify(display_name="李四", identities=[IdentityIn("phone", "13900139000")])

    body = signed_in.get("/console/members/", {"q": "138 0013 8000"}).content.decode()

    assert f'href="/console/members/{person.pk}/"' in body
    assert f'href="/console/members/{other.pk}/"' not in body


def test_search_by_part_of_a_phone_finds_nothing(signed_in: Any, person: Member) -> None:
    body = signed_in.get("/console/members/", {"q": "0013"}, HTTP_ACCEPT_LANGUAGE="en")

    assert "No member matches" in body.content.decode()


def test_filters_by_tag_stage_and_channel(signed_in: Any, person: Member) -> None:
    from quanzi.members.services import member_update

    member_update(member=person, tags=["VIP"])
    plain, _ = member_identify(display_name="路人", identities=[], source_channel="weibo")

    by_tag = signed_in.get("/console/members/", {"tag": "VIP"}).content.decode()
    by_channel = signed_in.get("/console/members/", {"channel": "weibo"}).content.decode()
    prospects = signed_in.get("/console/members/", {"stage": "none"}).content.decode()
    fans = signed_in.get("/console/members/", {"stage": "fan"}).content.decode()

    assert f"/console/members/{person.pk}/" in by_tag
    assert f"/console/members/{plain.pk}/" not in by_tag
    assert f"/console/members/{plain.pk}/" in by_channel
    assert f"/console/members/{person.pk}/" not in by_channel
    assert f"/console/members/{person.pk}/" in prospects
    assert "/console/members/" + str(person.pk) + "/" not in fans


def test_list_is_paginated(signed_in: Any) -> None:
    for n in range(30):
        member_identify(display_name=f"m{n:02d}", identities=[])

    first = signed_in.get("/console/members/").content.decode()
    second = signed_in.get("/console/members/", {"page": 2}).content.decode()

    assert first.count('class="member-link"') == 25
    assert second.count('class="member-link"') == 5
    assert 'rel="next"' in first


# --- add ---------------------------------------------------------------------------------------


def test_add_member_with_tags_and_channel(signed_in: Any) -> None:
    response = signed_in.post(
        "/console/members/",
        {
            "display_name": "张三",
            "phone": "+86 139 0013 9000",
            "email": "",
            "unionid": "",
            "tags": "宝妈，复购",
            "channel": "xiaohongshu",
        },
    )

    member = Member.objects.get(display_name="张三")
    assert response.status_code == 302
    assert response["Location"] == f"/console/members/{member.pk}/"
    assert sorted(t.name for t in member.tags.all()) == ["复购", "宝妈"]
    assert member.source_channel == "xiaohongshu"
    assert member.identities.get().value_masked == "139****9000"


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("display_name", {"display_name": "", "phone": "13900139000"}),
        ("phone", {"display_name": "张三", "phone": "12345"}),
        ("email", {"display_name": "张三", "email": "not-an-address"}),
        ("unionid", {"display_name": "张三", "unionid": "bad id!"}),
        ("tags", {"display_name": "张三", "tags": "x" * 51}),
    ],
)
def test_bad_input_shows_field_errors_and_writes_nothing(
    signed_in: Any, field: str, data: dict[str, str]
) -> None:
    before = _state()

    response = signed_in.post("/console/members/", data)

    assert response.status_code == 422
    assert field in response.context["add"].errors
    assert 'class="field-error"' in response.content.decode()
    assert _state() == before


def test_adding_a_known_phone_opens_that_member(signed_in: Any, person: Member) -> None:
    response = signed_in.post(
        "/console/members/", {"display_name": "Xiaoming", "phone": "13800138000"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/console/members/{person.pk}/"
    assert Member.objects.count() == 1


def test_identities_of_two_members_are_refused_on_the_form(signed_in: Any, person: Member) -> None:
    member_identify(display_name="B", identities=[IdentityIn("email", "b@example.com")])
    before = _state()

    response = signed_in.post(
        "/console/members/",
        {"display_name": "C", "phone": "13800138000", "email": "b@example.com"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 422
    assert "merge them first" in response.content.decode()
    assert _state() == before


# --- detail: reveal, export ----------------------------------------------------------------------


def test_detail_masks_identities_and_offers_reveal(signed_in: Any, person: Member) -> None:
    body = signed_in.get(f"/console/members/{person.pk}/").content.decode()

    assert "138****8000" in body
    assert "13800138000" not in body
    assert f'action="/console/members/{person.pk}/reveal/"' in body


def test_reveal_shows_identities_and_records_who_looked(
    signed_in: Any, operator: Any, person: Member
) -> None:
    response = signed_in.post(f"/console/members/{person.pk}/reveal/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "+8613800138000" in body
    assert "xiaoming@example.com" in body
    logged = Activity.objects.filter(
        kind=ActivityKind.OPERATOR, data__action="personal_data_revealed"
    ).get()
    assert (logged.member_id, logged.actor_id) == (person.pk, operator.pk)
    # A reload is masked again.
    assert "+8613800138000" not in signed_in.get(f"/console/members/{person.pk}/").content.decode()


def test_reveal_is_refused_without_the_permission(plain_operator: Any, person: Member) -> None:
    page = plain_operator.get(f"/console/members/{person.pk}/").content.decode()
    before = _state()

    response = plain_operator.post(f"/console/members/{person.pk}/reveal/")

    assert f'action="/console/members/{person.pk}/reveal/"' not in page
    assert response.status_code == 403
    assert "13800138000" not in response.content.decode()
    assert "138****8000" in response.content.decode()
    assert _state() == before


def test_export_needs_the_permission(plain_operator: Any, person: Member) -> None:
    before = _state()

    response = plain_operator.post(f"/console/members/{person.pk}/export/")

    assert response.status_code == 403
    assert _state() == before


def test_export_downloads_json_and_is_recorded(signed_in: Any, person: Member) -> None:
    response = signed_in.post(f"/console/members/{person.pk}/export/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="member-{person.pk}.json"'
    data = json.loads(response.content)
    assert data["member"]["display_name"] == "王小明"
    assert {i["value"] for i in data["identities"]} == {"+8613800138000", "xiaoming@example.com"}
    assert Activity.objects.filter(data__action="personal_data_revealed", data__what="export")


def test_export_is_a_post(signed_in: Any, person: Member) -> None:
    assert signed_in.get(f"/console/members/{person.pk}/export/").status_code == 405


# --- detail: tags, opt-out, merge, anonymise ---------------------------------------------------------


def test_tags_are_saved(signed_in: Any, person: Member) -> None:
    response = signed_in.post(f"/console/members/{person.pk}/tags/", {"tags": "VIP、铁粉"})

    assert response.status_code == 302
    assert sorted(t.name for t in person.tags.all()) == ["VIP", "铁粉"]


def test_too_long_tag_is_a_field_error(signed_in: Any, person: Member) -> None:
    before = _state()

    response = signed_in.post(f"/console/members/{person.pk}/tags/", {"tags": "y" * 60})

    assert response.status_code == 422
    assert "tags" in response.context["tags_form"].errors
    assert _state() == before


def test_opt_out_toggles_both_ways(signed_in: Any, person: Member) -> None:
    signed_in.post(f"/console/members/{person.pk}/marketing/", {"opted_out": "1"})
    person.refresh_from_db()
    assert person.marketing_opt_out is True

    signed_in.post(f"/console/members/{person.pk}/marketing/", {"opted_out": "0"})
    person.refresh_from_db()
    assert person.marketing_opt_out is False


def test_memberships_and_seats_show_on_the_detail(
    signed_in: Any, person: Member, annual: MembershipPlan
) -> None:
    membership_start(member=person, plan=annual)

    body = signed_in.get(f"/console/members/{person.pk}/").content.decode()

    assert "年费会员" in body
    assert "ms-pending" in body


def test_merge_needs_the_confirmation(signed_in: Any, person: Member) -> None:
    other, _ = member_identify(display_name="小明2", identities=[])
    before = _state()

    response = signed_in.post(f"/console/members/{person.pk}/merge/", {"target": other.pk})

    assert response.status_code == 422
    assert "confirm" in response.context["merge_form"].errors
    assert _state() == before


def test_merge_into_self_or_unknown_is_a_field_error(signed_in: Any, person: Member) -> None:
    before = _state()

    itself = signed_in.post(
        f"/console/members/{person.pk}/merge/", {"target": person.pk, "confirm": "on"}
    )
    unknown = signed_in.post(
        f"/console/members/{person.pk}/merge/", {"target": 999999, "confirm": "on"}
    )

    assert itself.status_code == unknown.status_code == 422
    assert "target" in itself.context["merge_form"].errors
    assert "target" in unknown.context["merge_form"].errors
    assert _state() == before


def test_merge_moves_everything_to_the_target(signed_in: Any, person: Member) -> None:
    other, _ = member_identify(
        display_name="小明2", identities=[IdentityIn("phone", "13700137000")]
    )

    response = signed_in.post(
        f"/console/members/{person.pk}/merge/", {"target": other.pk, "confirm": "on"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/console/members/{other.pk}/"
    person.refresh_from_db()
    assert person.merged_into_id == other.pk
    assert other.identities.count() == 3
    merged_page = signed_in.get(f"/console/members/{person.pk}/").content.decode()
    assert f'href="/console/members/{other.pk}/"' in merged_page


def test_anonymise_needs_the_confirmation(signed_in: Any, person: Member) -> None:
    before = _state()

    response = signed_in.post(f"/console/members/{person.pk}/anonymise/", {})

    assert response.status_code == 422
    assert _state() == before


def test_anonymise_deletes_personal_data_and_says_what_is_kept(
    signed_in: Any, person: Member
) -> None:
    page = signed_in.get(f"/console/members/{person.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Kept, without a name: orders, memberships, payments" in page.content.decode()

    response = signed_in.post(f"/console/members/{person.pk}/anonymise/", {"confirm": "on"})

    person.refresh_from_db()
    assert response.status_code == 302
    assert person.anonymised_at is not None
    assert person.identities.count() == 0
    assert person.display_name == f"#{person.pk}"


def test_closed_member_actions_show_an_error_not_a_500(
    signed_in: Any, person: Member, circle: Community
) -> None:
    signed_in.post(f"/console/members/{person.pk}/anonymise/", {"confirm": "on"})

    again = signed_in.post(f"/console/members/{person.pk}/anonymise/", {"confirm": "on"})
    tags = signed_in.post(f"/console/members/{person.pk}/tags/", {"tags": "x"})
    marketing = signed_in.post(f"/console/members/{person.pk}/marketing/", {"opted_out": "0"})

    assert again.status_code == 422
    assert tags.status_code == 422
    assert marketing.status_code == 302
