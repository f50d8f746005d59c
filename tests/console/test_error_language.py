"""A service's refusal reaches the operator in the console's language, not in English."""

from __future__ import annotations

from typing import Any

from quanzi.communities.models import Community
from quanzi.members.models import Member
from quanzi.members.services import IdentityIn, member_identify

TAKEN_SLUG = {"name": "Other", "slug": "english", "kind": "product", "vertical": "food"}


def test_a_taken_slug_is_refused_in_chinese_by_default(signed_in: Any, circle: Community) -> None:
    response = signed_in.post("/console/communities/", TAKEN_SLUG)

    assert response.status_code == 422
    assert response.context["form"].errors["slug"] == ["链接短名为 'english' 的社群已存在。"]
    assert "exists already" not in response.content.decode()
    assert Community.objects.count() == 1


def test_a_taken_slug_is_refused_in_korean_with_the_korean_cookie(
    signed_in: Any, circle: Community
) -> None:
    signed_in.cookies["quanzi_language"] = "ko"

    response = signed_in.post("/console/communities/", TAKEN_SLUG)

    assert response.status_code == 422
    assert response.context["form"].errors["slug"] == [
        "링크용 짧은 이름이 'english'인 커뮤니티가 이미 있습니다."
    ]
    assert Community.objects.count() == 1


def test_identities_of_two_members_are_refused_in_chinese(signed_in: Any, person: Member) -> None:
    other, _ = member_identify(display_name="B", identities=[IdentityIn("email", "b@example.com")])
    data = {"display_name": "C", "phone": "13800138000", "email": "b@example.com"}

    response = signed_in.post("/console/members/", data)

    assert response.status_code == 422
    body = response.content.decode()
    assert f"这些身份属于不同的会员（#{person.pk}, #{other.pk}），请先合并。" in body
    assert "merge them first" not in body
    assert Member.objects.count() == 2


def test_identities_of_two_members_are_refused_in_korean_with_the_korean_cookie(
    signed_in: Any, person: Member
) -> None:
    other, _ = member_identify(display_name="B", identities=[IdentityIn("email", "b@example.com")])
    signed_in.cookies["quanzi_language"] = "ko"
    data = {"display_name": "C", "phone": "13800138000", "email": "b@example.com"}

    response = signed_in.post("/console/members/", data)

    assert response.status_code == 422
    assert (
        f"이 신원 정보들은 서로 다른 회원(#{person.pk}, #{other.pk})의 것입니다. 먼저 병합하세요."
        in response.content.decode()
    )


def test_english_stays_english(signed_in: Any, circle: Community) -> None:
    response = signed_in.post("/console/communities/", TAKEN_SLUG, HTTP_ACCEPT_LANGUAGE="en")

    assert response.context["form"].errors["slug"] == [
        "A community with slug 'english' exists already."
    ]
