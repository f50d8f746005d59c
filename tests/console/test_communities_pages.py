"""The console's community pages and the outbox, through Django's test client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from quanzi.communities.models import (
    Community,
    Group,
    GroupMembership,
    Invitation,
    KolSeat,
    Membership,
    MembershipPlan,
    MembershipTerm,
)
from quanzi.communities.services.joining import group_join, invitation_create
from quanzi.communities.services.memberships import membership_start
from quanzi.communities.services.setup import group_create
from quanzi.core.models import Activity
from quanzi.members.models import Member
from quanzi.members.services import member_identify
from quanzi.outbox.models import OutboxMessage, OutboxStatus

PAGES = [
    "/console/communities/",
    "/console/communities/english/",
    "/console/communities/english/groups/{group}/",
    "/console/communities/english/plans/",
    "/console/communities/english/memberships/",
    "/console/communities/english/invitations/",
    "/console/outbox/",
]


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (
            Community,
            Group,
            MembershipPlan,
            Membership,
            MembershipTerm,
            Invitation,
            KolSeat,
            Activity,
        )
    )


@pytest.fixture
def urls(junior: Group, annual: MembershipPlan) -> list[str]:
    return [p.format(group=junior.pk) for p in PAGES]


def test_anonymous_is_sent_to_login(client: Any, urls: list[str]) -> None:
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/console/login/?next={url}"


def test_operator_sees_every_page(signed_in: Any, urls: list[str]) -> None:
    for url in urls:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert 'action="/console/logout/"' in response.content.decode()


def test_every_page_renders_in_every_language(signed_in: Any, urls: list[str]) -> None:
    for language in ("en", "ko", "zh-hans"):
        for url in urls:
            assert signed_in.get(url, HTTP_ACCEPT_LANGUAGE=language).status_code == 200


def test_unknown_community_or_group_is_404(signed_in: Any, circle: Community) -> None:
    assert signed_in.get("/console/communities/nope/").status_code == 404
    assert signed_in.get("/console/communities/english/groups/99999/").status_code == 404


# --- communities ---------------------------------------------------------------------------------


def test_create_community(signed_in: Any) -> None:
    response = signed_in.post(
        "/console/communities/",
        {"name": "海鲜水果圈", "slug": "seafood", "kind": "product", "vertical": "food"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/console/communities/seafood/"
    assert Community.objects.get(slug="seafood").name == "海鲜水果圈"


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("slug", {"name": "A", "slug": "Not A Slug", "kind": "product", "vertical": "food"}),
        ("kind", {"name": "A", "slug": "a", "kind": "pyramid", "vertical": "food"}),
        ("name", {"name": "", "slug": "a", "kind": "product", "vertical": "food"}),
    ],
)
def test_bad_community_input_writes_nothing(
    signed_in: Any, db: None, field: str, data: dict[str, str]
) -> None:
    before = _counts()

    response = signed_in.post("/console/communities/", data)

    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert _counts() == before


def test_duplicate_slug_is_a_field_error(signed_in: Any, circle: Community) -> None:
    before = _counts()

    response = signed_in.post(
        "/console/communities/",
        {"name": "Other", "slug": "english", "kind": "product", "vertical": "food"},
    )

    assert response.status_code == 422
    assert "slug" in response.context["form"].errors
    assert _counts() == before


# --- groups ------------------------------------------------------------------------------------


def test_groups_tab_shows_seated_capacity_and_waiting(
    signed_in: Any, circle: Community, junior: Group
) -> None:
    for name in ("a", "b", "c"):
        m, _ = member_identify(display_name=name, identities=[])
        group_join(group=junior, member=m, check_gate=False)

    body = signed_in.get("/console/communities/english/").content.decode()
    detail = signed_in.get(f"/console/communities/english/groups/{junior.pk}/").content.decode()

    assert "2 / 2" in body
    assert "<strong>1</strong>" in body
    assert 'id="waiting-table"' in detail


def test_create_group(signed_in: Any, circle: Community) -> None:
    response = signed_in.post(
        "/console/communities/english/",
        {
            "name": "核心粉丝群",
            "tier": "core",
            "capacity": "200",
            "rules": "每天打卡",
            "welcome_template": "欢迎 {name}!",
        },
    )

    group = Group.objects.get(name="核心粉丝群")
    assert response.status_code == 302
    assert response["Location"] == f"/console/communities/english/groups/{group.pk}/"
    assert (group.tier, group.capacity, group.rules) == ("core", 200, "每天打卡")


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("capacity", {"name": "g", "tier": "open", "capacity": "0"}),
        ("tier", {"name": "g", "tier": "vip", "capacity": "10"}),
        ("name", {"name": "", "tier": "open", "capacity": "10"}),
        ("ends_on", {"name": "g", "tier": "open", "capacity": "10", "ends_on": "2000-01-01"}),
    ],
)
def test_bad_group_input_writes_nothing(
    signed_in: Any, circle: Community, field: str, data: dict[str, str]
) -> None:
    before = _counts()

    response = signed_in.post("/console/communities/english/", data)

    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert _counts() == before


def test_kol_seat_assign_and_release(signed_in: Any, junior: Group) -> None:
    kol, _ = member_identify(display_name="Coach", identities=[])
    url = f"/console/communities/english/groups/{junior.pk}/"

    response = signed_in.post(url, {"member": kol.pk, "title": "发音教练"})
    seat = KolSeat.objects.get()
    released = signed_in.post(f"{url}kol/{seat.pk}/release/")

    assert response.status_code == 302
    assert seat.title == "发音教练"
    assert released.status_code == 302
    assert KolSeat.objects.count() == 0


def test_kol_seat_for_unknown_member_is_a_form_error(signed_in: Any, junior: Group) -> None:
    before = _counts()

    response = signed_in.post(
        f"/console/communities/english/groups/{junior.pk}/", {"member": 99999}
    )

    assert response.status_code == 422
    assert _counts() == before


# --- plans -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"name": "年卡", "kind": "annual", "price": "365", "grace_days": "3"},
            ("annual", 36_500, 365, 3, 0, ""),
        ),
        (
            {"name": "终身", "kind": "lifetime", "price": "999.00"},
            ("lifetime", 99_900, None, 0, 0, ""),
        ),
        ({"name": "免费", "kind": "free", "price": "99"}, ("free", 0, None, 0, 0, "")),
        (
            {"name": "买课送会员", "kind": "product_grant", "product_id": "501"},
            ("product_grant", 0, None, 0, 0, ""),
        ),
        (
            {
                "name": "代餐会员",
                "kind": "fee_goods",
                "price": "¥299",
                "goods_description": "两盒代餐奶昔",
                "goods_value": "320",
            },
            ("fee_goods", 29_900, 365, 0, 32_000, "两盒代餐奶昔"),
        ),
    ],
)
def test_create_a_plan_of_every_kind(
    signed_in: Any, circle: Community, data: dict[str, str], expected: tuple[Any, ...]
) -> None:
    response = signed_in.post("/console/communities/english/plans/", data)

    assert response.status_code == 302
    plan = MembershipPlan.objects.get(name=data["name"])
    assert (
        plan.kind,
        plan.price_minor,
        plan.duration_days,
        plan.grace_days,
        plan.goods_value_minor,
        plan.goods_description,
    ) == expected


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("kind", {"name": "x", "kind": "pyramid"}),
        ("price", {"name": "x", "kind": "annual", "price": "-5"}),
        ("price", {"name": "x", "kind": "annual", "price": "12,5"}),
        ("price", {"name": "x", "kind": "annual"}),
        ("duration_days", {"name": "x", "kind": "annual", "price": "1", "duration_days": "-1"}),
        ("product_id", {"name": "x", "kind": "product_grant"}),
        ("goods_description", {"name": "x", "kind": "fee_goods", "price": "10"}),
        (
            "goods_value",
            {
                "name": "x",
                "kind": "fee_goods",
                "price": "10",
                "goods_description": "g",
                "goods_value": "5",
            },
        ),
    ],
)
def test_bad_plan_input_writes_nothing(
    signed_in: Any, circle: Community, field: str, data: dict[str, str]
) -> None:
    before = _counts()

    response = signed_in.post("/console/communities/english/plans/", data)

    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert _counts() == before


def test_plans_show_renewal_rate(signed_in: Any, annual: MembershipPlan) -> None:
    body = signed_in.get("/console/communities/english/plans/", HTTP_ACCEPT_LANGUAGE="en")

    assert "¥365.00" in body.content.decode()
    assert "none ended yet" in body.content.decode()


# --- memberships -------------------------------------------------------------------------------


@pytest.fixture
def pending(annual: MembershipPlan) -> Membership:
    m, _ = member_identify(display_name="学员", identities=[])
    return membership_start(member=m, plan=annual, channel="douyin")


def test_memberships_filter_by_status(signed_in: Any, pending: Membership) -> None:
    pending_page = signed_in.get("/console/communities/english/memberships/?status=pending")
    active_page = signed_in.get("/console/communities/english/memberships/?status=active")

    assert "学员" in pending_page.content.decode()
    assert "学员" not in active_page.content.decode()


def test_record_offline_payment_activates(signed_in: Any, pending: Membership) -> None:
    url = f"/console/communities/english/memberships/{pending.pk}/pay/"
    assert signed_in.get(url).status_code == 200

    response = signed_in.post(url, {"amount": "365.00", "payment_ref": "WX-20260101"})

    pending.refresh_from_db()
    assert response.status_code == 302
    assert pending.status == "active"
    assert MembershipTerm.objects.get().payment_ref == "offline:WX-20260101"
    assert GroupMembership.objects.filter(member=pending.member, status="active").count() == 1


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("amount", {"amount": "300", "payment_ref": "x"}),
        ("amount", {"amount": "abc", "payment_ref": "x"}),
        ("payment_ref", {"amount": "365"}),
        ("paid_on", {"amount": "365", "payment_ref": "x", "paid_on": "2999-01-01"}),
    ],
)
def test_wrong_payment_is_a_field_error_and_writes_nothing(
    signed_in: Any, pending: Membership, field: str, data: dict[str, str]
) -> None:
    before = _counts()

    response = signed_in.post(f"/console/communities/english/memberships/{pending.pk}/pay/", data)

    pending.refresh_from_db()
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert pending.status == "pending"
    assert _counts() == before


def test_cancel_a_pending_membership(signed_in: Any, pending: Membership) -> None:
    response = signed_in.post(f"/console/communities/english/memberships/{pending.pk}/cancel/")

    pending.refresh_from_db()
    assert response.status_code == 302
    assert pending.status == "cancelled"


def test_cancelling_an_active_membership_is_a_flash_not_a_500(
    signed_in: Any, pending: Membership
) -> None:
    signed_in.post(
        f"/console/communities/english/memberships/{pending.pk}/pay/",
        {"amount": "365", "payment_ref": "r1"},
    )

    response = signed_in.post(
        f"/console/communities/english/memberships/{pending.pk}/cancel/", follow=True
    )

    pending.refresh_from_db()
    assert response.status_code == 200
    assert pending.status == "active"
    assert "flash-error" in response.content.decode()


def test_membership_of_another_community_is_404(signed_in: Any, pending: Membership) -> None:
    from quanzi.communities.services.setup import community_create

    community_create(slug="other", name="Other", kind="product")

    assert (
        signed_in.get(f"/console/communities/other/memberships/{pending.pk}/pay/").status_code
        == 404
    )


# --- invitations -------------------------------------------------------------------------------


def test_create_invitation_with_expiry_and_limit(signed_in: Any, annual: MembershipPlan) -> None:
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    response = signed_in.post(
        "/console/communities/english/invitations/",
        {
            "target": f"plan:{annual.pk}",
            "channel": "xiaohongshu",
            "content": "5月直播",
            "valid_until": tomorrow,
            "max_uses": "50",
        },
    )

    invitation = Invitation.objects.get()
    assert response.status_code == 302
    assert (invitation.plan_id, invitation.channel, invitation.max_uses) == (
        annual.pk,
        "xiaohongshu",
        50,
    )
    assert invitation.expires_at is not None
    assert timezone.localtime(invitation.expires_at).date().isoformat() > tomorrow
    page = signed_in.get("/console/communities/english/invitations/").content.decode()
    assert f"/m/i/{invitation.code}/" in page
    assert '<svg class="qr"' in page
    assert "0 / 50" in page


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("target", {"target": "plan:99999", "channel": "douyin"}),
        ("channel", {"target": "TARGET", "channel": ""}),
        ("valid_until", {"target": "TARGET", "channel": "douyin", "valid_until": "2000-01-01"}),
        ("max_uses", {"target": "TARGET", "channel": "douyin", "max_uses": "0"}),
    ],
)
def test_bad_invitation_input_writes_nothing(
    signed_in: Any, junior: Group, field: str, data: dict[str, str]
) -> None:
    data = {k: v.replace("TARGET", f"group:{junior.pk}") for k, v in data.items()}
    before = _counts()

    response = signed_in.post("/console/communities/english/invitations/", data)

    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert _counts() == before


def test_withdraw_an_invitation(signed_in: Any, circle: Community, junior: Group) -> None:
    invitation = invitation_create(community=circle, channel="douyin", group=junior)

    response = signed_in.post(f"/console/communities/english/invitations/{invitation.pk}/revoke/")

    invitation.refresh_from_db()
    assert response.status_code == 302
    assert invitation.revoked_at is not None
    page = signed_in.get("/console/communities/english/invitations/").content.decode()
    assert "inv-withdrawn" in page


# --- outbox ------------------------------------------------------------------------------------


@pytest.fixture
def welcome(circle: Community) -> OutboxMessage:
    group = group_create(community=circle, name="新人群", welcome_template="欢迎 {name} 加入!")
    m, _ = member_identify(display_name="小红", identities=[])
    group_join(group=group, member=m)
    return OutboxMessage.objects.get()


def test_outbox_lists_queued_messages_with_copy(signed_in: Any, welcome: OutboxMessage) -> None:
    body = signed_in.get("/console/outbox/").content.decode()

    assert "欢迎 小红 加入!" in body
    assert f'data-copy="#msg-{welcome.pk}"' in body
    assert f'action="/console/outbox/{welcome.pk}/sent/"' in body


def test_mark_sent(signed_in: Any, welcome: OutboxMessage) -> None:
    response = signed_in.post(f"/console/outbox/{welcome.pk}/sent/")

    welcome.refresh_from_db()
    assert response.status_code == 302
    assert welcome.status == OutboxStatus.SENT
    assert "欢迎 小红" in signed_in.get("/console/outbox/?status=sent").content.decode()


def test_suppressed_message_shows_its_reason(signed_in: Any, welcome: OutboxMessage) -> None:
    from quanzi.members.services import member_set_marketing
    from quanzi.outbox.services import outbox_enqueue

    member = Member.objects.get(display_name="小红")
    member = member_set_marketing(member=member, opted_out=True)
    outbox_enqueue(
        member=member, template="promo", body="限时特价", purpose="marketing", dedupe_key="promo-1"
    )

    body = signed_in.get("/console/outbox/?status=suppressed", HTTP_ACCEPT_LANGUAGE="en")

    assert "opted out of marketing" in body.content.decode()
    assert "限时特价" in body.content.decode()


def test_marking_a_suppressed_message_sent_is_a_flash(
    signed_in: Any, welcome: OutboxMessage
) -> None:
    OutboxMessage.objects.filter(pk=welcome.pk).update(status=OutboxStatus.SUPPRESSED)

    response = signed_in.post(f"/console/outbox/{welcome.pk}/sent/", follow=True)

    welcome.refresh_from_db()
    assert response.status_code == 200
    assert welcome.status == OutboxStatus.SUPPRESSED
    assert "flash-error" in response.content.decode()
