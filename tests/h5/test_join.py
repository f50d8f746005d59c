"""Opening an invitation and joining from the member pages; personal links; "My memberships"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import signing

from quanzi.communities.models import (
    Community,
    Group,
    GroupMembership,
    Invitation,
    Membership,
    MembershipPlan,
)
from quanzi.communities.services.joining import invitation_create, invitation_revoke
from quanzi.core import clock
from quanzi.core.models import Activity
from quanzi.members.models import Member
from quanzi.members.services import IdentityIn, member_identify, member_sign_in_token_create
from quanzi.outbox.models import OutboxMessage

JOIN = {"display_name": "小海", "phone": "138 0013 8000", "consent": "on"}


def _state() -> tuple[int, ...]:
    return (
        Member.objects.count(),
        Membership.objects.count(),
        GroupMembership.objects.count(),
        OutboxMessage.objects.count(),
        Activity.objects.count(),
        sum(Invitation.objects.values_list("uses", flat=True)),
    )


def _invite(circle: Community, **kwargs: Any) -> Invitation:
    kwargs.setdefault("channel", "douyin")
    return invitation_create(community=circle, **kwargs)


# --- the invitation page -------------------------------------------------------------------------


def test_invitation_shows_the_plan_price_goods_and_duration(
    client: Any, circle: Community, goods_plan: MembershipPlan
) -> None:
    invitation = _invite(circle, plan=goods_plan)

    response = client.get(f"/m/i/{invitation.code}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "海鲜水果圈" in body
    assert "代餐会员" in body
    assert "¥299.00" in body
    assert "两盒代餐奶昔" in body
    assert "365" in body
    assert 'name="consent"' in body


def test_code_is_case_insensitive(
    client: Any, circle: Community, free_plan: MembershipPlan
) -> None:
    invitation = _invite(circle, plan=free_plan)

    assert client.get(f"/m/i/{invitation.code.lower()}/").status_code == 200


def test_unknown_invitation_is_a_friendly_404(client: Any, db: None) -> None:
    response = client.get("/m/i/NOPE2345/")

    assert response.status_code == 404
    assert 'id="refusal"' in response.content.decode()


def test_expired_invitation_is_410(
    client: Any, circle: Community, free_plan: MembershipPlan, frozen_clock: Any
) -> None:
    invitation = _invite(circle, plan=free_plan, expires_at=clock.now() + timedelta(hours=1))
    frozen_clock.advance(timedelta(hours=2))
    before = _state()

    page = client.get(f"/m/i/{invitation.code}/", HTTP_ACCEPT_LANGUAGE="en")
    post = client.post(f"/m/i/{invitation.code}/", JOIN)

    assert page.status_code == 410
    assert "This invitation has expired" in page.content.decode()
    assert post.status_code == 410
    assert _state() == before


def test_used_up_invitation_is_409(
    client: Any, circle: Community, free_plan: MembershipPlan
) -> None:
    invitation = _invite(circle, plan=free_plan, max_uses=1)
    assert client.post(f"/m/i/{invitation.code}/", JOIN).status_code == 302
    client.session.flush()
    before = _state()

    page = client.get(f"/m/i/{invitation.code}/", HTTP_ACCEPT_LANGUAGE="en")
    post = client.post(f"/m/i/{invitation.code}/", {**JOIN, "phone": "13900139000"})

    assert page.status_code == 409
    assert "used up" in page.content.decode()
    assert post.status_code == 409
    assert _state() == before


def test_withdrawn_invitation_is_410(
    client: Any, circle: Community, free_plan: MembershipPlan
) -> None:
    invitation = invitation_revoke(invitation=_invite(circle, plan=free_plan))

    page = client.get(f"/m/i/{invitation.code}/", HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 410
    assert "withdrawn" in page.content.decode()


# --- joining -------------------------------------------------------------------------------------


def test_join_a_free_plan_activates_at_once_and_signs_in(
    client: Any, circle: Community, free_plan: MembershipPlan, open_group: Group
) -> None:
    invitation = _invite(circle, plan=free_plan, content="直播间")

    response = client.post(f"/m/i/{invitation.code}/", JOIN)

    assert response.status_code == 302
    assert response["Location"] == f"/m/i/{invitation.code}/joined/"
    member = Member.objects.get()
    assert (member.display_name, member.source_channel, member.source_content) == (
        "小海",
        "douyin",
        "直播间",
    )
    assert member.consent_at is not None
    membership = Membership.objects.get()
    assert (membership.status, membership.channel, membership.invitation_id) == (
        "active",
        "douyin",
        invitation.pk,
    )
    assert GroupMembership.objects.get().status == "active"
    invitation.refresh_from_db()
    assert invitation.uses == 1
    assert client.session["h5_member"] == member.pk

    done = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "You are a member" in done.content.decode()
    me = client.get("/m/me/")
    assert "免费会员" in me.content.decode()
    assert "吃货交流群" in me.content.decode()


def test_join_a_paid_plan_awaits_payment(
    client: Any, circle: Community, goods_plan: MembershipPlan
) -> None:
    invitation = _invite(circle, plan=goods_plan)

    response = client.post(f"/m/i/{invitation.code}/", JOIN, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert Membership.objects.get().status == "pending"
    body = response.content.decode()
    assert "awaiting payment" in body
    assert "the owner confirms your transfer" in body


def test_join_a_full_group_shows_the_waiting_position(
    client: Any, circle: Community, open_group: Group
) -> None:
    seated, _ = member_identify(display_name="先来", identities=[])
    from quanzi.communities.services.joining import group_join

    group_join(group=open_group, member=seated)
    invitation = _invite(circle, group=open_group)

    response = client.post(f"/m/i/{invitation.code}/", JOIN, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    body = response.content.decode()
    assert "waiting list" in body
    assert "number 1 in line" in body


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("display_name", {**JOIN, "display_name": "  "}),
        ("phone", {**JOIN, "phone": "12345"}),
        ("consent", {k: v for k, v in JOIN.items() if k != "consent"}),
    ],
)
def test_bad_input_shows_field_errors_and_writes_nothing(
    client: Any, circle: Community, free_plan: MembershipPlan, field: str, data: dict[str, str]
) -> None:
    invitation = _invite(circle, plan=free_plan)
    before = _state()

    response = client.post(f"/m/i/{invitation.code}/", data)

    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert 'class="m-error"' in response.content.decode()
    assert _state() == before
    assert "h5_member" not in client.session


def test_refused_join_rolls_everything_back(
    client: Any, circle: Community, free_plan: MembershipPlan
) -> None:
    gated = Group.objects.create(community=circle, name="核心群", required_plan=free_plan)
    invitation = _invite(circle, group=gated)
    before = _state()

    response = client.post(f"/m/i/{invitation.code}/", JOIN)

    assert response.status_code == 422
    assert 'class="alert alert-error"' in response.content.decode()
    assert _state() == before


# --- an existing member's phone ----------------------------------------------------------------------


def test_existing_phone_does_not_sign_in_and_queues_a_link(
    client: Any, circle: Community, free_plan: MembershipPlan
) -> None:
    owner, _ = member_identify(
        display_name="老会员", identities=[IdentityIn("phone", "13800138000")]
    )
    invitation = _invite(circle, plan=free_plan)

    response = client.post(f"/m/i/{invitation.code}/", JOIN, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert "h5_member" not in client.session
    assert Member.objects.count() == 1
    assert "This number is already a member" in response.content.decode()
    assert 'id="to-me"' not in response.content.decode()
    message = OutboxMessage.objects.get(template="sign_in_link")
    assert (message.member_id, message.purpose) == (owner.pk, "service")
    link = re.search(r"http://testserver(/m/login/[^/\s]+/)", message.body)
    assert link is not None
    owner.refresh_from_db()
    assert owner.consent_at is None  # someone typing their number does not consent for them
    assert "老会员" not in client.get("/m/me/").content.decode()

    # The link, opened on the member's own phone, signs them in.
    signed = client.get(link.group(1))
    assert signed.status_code == 302
    assert client.session["h5_member"] == owner.pk
    assert "免费会员" in client.get("/m/me/").content.decode()


def test_typing_the_number_again_queues_one_link_a_day(
    client: Any, circle: Community, free_plan: MembershipPlan
) -> None:
    member_identify(display_name="老会员", identities=[IdentityIn("phone", "13800138000")])
    invitation = _invite(circle, plan=free_plan)

    client.post(f"/m/i/{invitation.code}/", JOIN)
    client.post(f"/m/i/{invitation.code}/", JOIN)

    assert OutboxMessage.objects.filter(template="sign_in_link").count() == 1


# --- personal links and "My memberships" ----------------------------------------------------------


def test_me_without_a_session_explains_the_personal_link(client: Any, db: None) -> None:
    response = client.get("/m/me/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "personal link" in response.content.decode()
    assert 'id="signed-out"' in response.content.decode()


def test_me_orders_and_crystals_tabs_are_enabled(client: Any, db: None) -> None:
    body = client.get("/m/").content.decode()

    assert 'href="/m/me/"' in body
    assert 'href="/m/orders/"' in body
    assert 'href="/m/crystals/"' in body
    assert 'aria-disabled="true"' not in body


def test_tampered_or_expired_link_is_410(client: Any, db: None, monkeypatch: Any) -> None:
    member, _ = member_identify(display_name="A", identities=[])
    token = member_sign_in_token_create(member=member)

    tampered = client.get(f"/m/login/{token}x/")
    monkeypatch.setattr(signing.TimestampSigner, "unsign", _expired)
    expired = client.get(f"/m/login/{token}/")

    assert tampered.status_code == 410
    assert expired.status_code == 410
    assert "h5_member" not in client.session


def _expired(*args: Any, **kwargs: Any) -> str:
    raise signing.SignatureExpired("too old")


def test_link_of_a_deleted_member_is_410(client: Any, db: None) -> None:
    from quanzi.members.services import member_anonymise

    member, _ = member_identify(display_name="A", identities=[])
    token = member_sign_in_token_create(member=member)
    member_anonymise(member=member)

    assert client.get(f"/m/login/{token}/").status_code == 410


def test_sign_out(client: Any, db: None) -> None:
    member, _ = member_identify(display_name="A", identities=[])
    client.get(f"/m/login/{member_sign_in_token_create(member=member)}/")

    client.post("/m/logout/")

    assert "h5_member" not in client.session


def test_privacy_notice_renders(client: Any, db: None) -> None:
    assert client.get("/m/privacy/").status_code == 200
