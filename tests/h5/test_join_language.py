"""A refusal on the member pages is explained in the page's language (Chinese by default)."""

from __future__ import annotations

from typing import Any

from quanzi.communities.models import Community, Group, Invitation, MembershipPlan
from quanzi.communities.services.joining import invitation_create, invitation_revoke
from quanzi.members.models import Member

JOIN = {"display_name": "小海", "phone": "138 0013 8000", "consent": "on"}


def _invite(circle: Community, **kwargs: Any) -> Invitation:
    return invitation_create(community=circle, channel="douyin", **kwargs)


# --- the language of a refusal ------------------------------------------------------------------


def test_a_refused_join_is_explained_in_chinese_by_default(
    client: Any, circle: Community, free_plan: MembershipPlan
) -> None:
    gated = Group.objects.create(community=circle, name="核心群", required_plan=free_plan)
    invitation = _invite(circle, group=gated)

    response = client.post(f"/m/i/{invitation.code}/", JOIN)

    assert response.status_code == 422
    body = response.content.decode()
    assert "核心群 仅限“免费会员”的会员加入。" in body
    assert "is for members of" not in body
    assert Member.objects.count() == 0


def test_an_unusable_invitation_is_explained_in_chinese_by_default(
    client: Any, circle: Community, open_group: Group
) -> None:
    invitation = _invite(circle, group=open_group)
    invitation_revoke(invitation=invitation)

    response = client.get(f"/m/i/{invitation.code}/")

    assert response.status_code == 410
    assert "这个邀请已被撤回" in response.content.decode()
    assert "withdrawn" not in response.content.decode()
