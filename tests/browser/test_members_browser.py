"""Joining from an invitation on a phone, and the console's member and community pages, in
headless Chromium. Screenshots land in the artifacts folder for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from quanzi.communities.models import Community
from quanzi.communities.services.joining import group_join, invitation_create
from quanzi.communities.services.memberships import membership_pay, membership_start
from quanzi.communities.services.setup import community_create, group_create, plan_create
from quanzi.members.models import IdentityKind
from quanzi.members.services import IdentityIn, member_identify, member_update

pytestmark = [pytest.mark.browser]

PASSWORD = "a-Long-enough-pass-42"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
NAMES = [
    "李娜",
    "王芳",
    "张伟",
    "刘洋",
    "陈静",
    "杨帆",
    "赵敏",
    "黄磊",
    "周婷",
    "吴昊",
    "郑爽",
    "孙悦",
]
CHANNELS = ["douyin", "xiaohongshu", "wechat_channels", "weibo", "bilibili", "offline"]


def _shot(page: Any, artifacts: Path, name: str, *, full: bool = True) -> None:
    page.screenshot(path=str(artifacts / name), full_page=full)


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px viewport"


def _phone(browser: Any) -> Any:
    return browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )


@pytest.fixture
def circle(transactional_db: None) -> Community:
    """The slimming circle from the demo: the fee comes back as goods, groups in tiers."""
    community = community_create(
        slug="slim",
        name="轻盈体重管理圈",
        kind="charisma",
        vertical="health",
        description="跟着营养师一起吃对三餐，21 天养成不反弹的好习惯。",
    )
    open_group = group_create(
        community=community,
        name="轻盈打卡群",
        capacity=500,
        rules="每天晚上 9 点前打卡三餐照片。\n不发广告，不推销其他产品。",
        welcome_template="欢迎 {name} 加入{group}！",
        intro_prompt="请用一句话介绍自己和你的目标体重。",
    )
    core = group_create(community=community, name="核心学员群", tier="core", capacity=3)
    plan_create(community=community, name="体验会员（免费）", kind="free", groups=[open_group])
    goods = plan_create(
        community=community,
        name="年度营养会员",
        kind="fee_goods",
        price_minor=59_900,
        goods_description="三盒代餐奶昔 + 一本饮食手册",
        goods_value_minor=64_800,
        groups=[core],
        discount_percent=15,
        member_only_content=True,
    )
    plan_create(
        community=community, name="终身会员", kind="lifetime", price_minor=199_900, groups=[core]
    )
    now = timezone.now()
    for n, name in enumerate(NAMES):
        member, _ = member_identify(
            display_name=name,
            identities=[IdentityIn(IdentityKind.PHONE, f"1391234{n:04d}")],
            source_channel=CHANNELS[n % len(CHANNELS)],
        )
        member_update(member=member, tags=[["宝妈"], ["复购", "VIP"], [], ["减脂"]][n % 4])
        group_join(group=open_group, member=member, channel=member.source_channel)
        if n < 5:
            membership = membership_start(member=member, plan=goods, channel="douyin")
            if n < 3:
                membership_pay(
                    membership=membership,
                    amount_minor=59_900,
                    payment_ref=f"transfer-{n}",
                    paid_at=now - timedelta(days=3 * n),
                )
    invitation_create(
        community=community,
        channel="xiaohongshu",
        plan=goods,
        content="3 月直播",
        max_uses=100,
        expires_at=now + timedelta(days=30),
    )
    invitation_create(community=community, channel="douyin", group=open_group, content="短视频")
    return community


def test_join_from_an_invitation_on_a_phone(
    live_server: Any, circle: Community, browser: Any, artifacts: Path
) -> None:
    base = live_server.url
    free = circle.invitations.get(channel="douyin")
    paid = circle.invitations.get(channel="xiaohongshu")
    context = _phone(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The paid plan's offer: price, goods of equal value, benefits.
    page.goto(f"{base}/m/i/{paid.code}/")
    assert "¥599.00" in page.locator("#offer").inner_text()
    assert "三盒代餐奶昔" in page.locator("#offer").inner_text()
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "member-invitation-paid-zh-phone.png")

    # The free group: open, fill in, join.
    page.goto(f"{base}/m/i/{free.code}/")
    assert page.locator(".hero h1").inner_text() == "轻盈体重管理圈"
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "member-invitation-zh-phone.png")

    page.click(".join-form button[type=submit]")
    page.wait_for_selector(".m-error")
    assert page.locator(".m-error").count() == 3
    _shot(page, artifacts, "member-invitation-errors-zh-phone.png", full=False)

    page.fill('input[name="display_name"]', "小林")
    page.fill('input[name="phone"]', "186 1234 5678")
    page.check('input[name="consent"]')
    with page.expect_navigation():
        page.click(".join-form button[type=submit]")
    assert page.url.endswith(f"/m/i/{free.code}/joined/")
    assert page.locator("#result h1").inner_text() == "你已进群"
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "member-joined-zh-phone.png")

    with page.expect_navigation():
        page.click("#to-me")
    assert page.url == f"{base}/m/me/"
    assert "小林" in page.locator(".profile h1").inner_text()
    assert "轻盈打卡群" in page.locator("#my-groups").inner_text()
    assert page.locator(".tabbar .tab.is-active").inner_text().strip() == "我的"
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "member-me-zh-phone.png")

    # Signing up for the paid plan: the owner confirms the transfer.
    page.goto(f"{base}/m/i/{paid.code}/")
    assert page.locator('input[name="display_name"]').input_value() == "小林"
    page.fill('input[name="phone"]', "18612345678")
    page.check('input[name="consent"]')
    with page.expect_navigation():
        page.click(".join-form button[type=submit]")
    assert "待付款" in page.locator("#result h1").inner_text()
    _shot(page, artifacts, "member-joined-pending-zh-phone.png")
    page.goto(f"{base}/m/me/")
    assert "年度营养会员" in page.locator("#my-memberships").inner_text()
    _shot(page, artifacts, "member-me-two-zh-phone.png")

    # A stranger's phone with the same number: not signed in, told a link is on its way.
    stranger = _phone(browser).new_page()
    stranger.goto(f"{base}/m/i/{free.code}/")
    stranger.fill('input[name="display_name"]', "冒名者")
    stranger.fill('input[name="phone"]', "18612345678")
    stranger.check('input[name="consent"]')
    with stranger.expect_navigation():
        stranger.click(".join-form button[type=submit]")
    assert stranger.locator("#link-sent").is_visible()
    assert stranger.locator("#to-me").count() == 0
    _shot(stranger, artifacts, "member-joined-known-phone-zh-phone.png")
    stranger.goto(f"{base}/m/me/")
    assert stranger.locator("#signed-out").is_visible()
    _shot(stranger, artifacts, "member-me-signed-out-zh-phone.png")

    page.goto(f"{base}/m/i/NOPE2345/")
    _shot(page, artifacts, "member-invitation-unknown-zh-phone.png", full=False)
    assert errors == []
    context.close()


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/console/login/")
    page.fill('input[name="username"]', "owner")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('.auth-form button[type="submit"]')


def test_console_member_list_search_and_detail(
    live_server: Any, operator: Any, circle: Community, browser: Any, artifacts: Path
) -> None:
    base = live_server.url
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, base)

    page.click('#nav a[href="/console/members/"]')
    page.wait_for_url(base + "/console/members/")
    assert page.locator("#member-table tbody tr").count() == len(NAMES)
    assert "139****0003" in page.locator("#member-table").inner_text()
    _shot(page, artifacts, "console-members-zh-desktop.png")

    page.fill('input[name="q"]', "139 1234 0003")
    with page.expect_navigation():
        page.click(".filters button[type=submit]")
    rows = page.locator("#member-table tbody tr")
    assert rows.count() == 1
    assert NAMES[3] in rows.inner_text()
    _shot(page, artifacts, "console-members-search-zh-desktop.png")

    with page.expect_navigation():
        rows.locator("a.member-link").click()
    assert page.locator(".page-title h1").inner_text().strip() == NAMES[3]
    assert "139****0003" in page.locator("#identities").inner_text()
    _shot(page, artifacts, "console-member-zh-desktop.png")

    with page.expect_navigation():
        page.click("#identities button[type=submit]")
    assert "+8613912340003" in page.locator("#identities").inner_text()
    _shot(page, artifacts, "console-member-revealed-zh-desktop.png", full=False)

    page.goto(base + "/console/members/?q=" + NAMES[0])
    with page.expect_navigation():
        page.locator("a.member-link").first.click()
    assert page.locator("#member-tags").is_visible()

    # The community pages, for the screenshots and a check that nothing overflows.
    for path, name in [
        ("/console/communities/", "console-communities-zh-desktop.png"),
        ("/console/communities/slim/", "console-community-groups-zh-desktop.png"),
        ("/console/communities/slim/plans/", "console-community-plans-zh-desktop.png"),
        ("/console/communities/slim/memberships/", "console-community-memberships-zh-desktop.png"),
        ("/console/communities/slim/invitations/", "console-community-invitations-zh-desktop.png"),
        ("/console/outbox/", "console-outbox-zh-desktop.png"),
    ]:
        page.goto(base + path)
        _shot(page, artifacts, name)
    page.goto(base + "/console/communities/slim/plans/")
    page.click("#plan-create summary")
    page.select_option("#plan-form select[name=kind]", "fee_goods")
    assert page.locator("#plan-form input[name=goods_description]").is_visible()
    assert not page.locator("#plan-form input[name=product_id]").is_visible()
    page.select_option("#plan-form select[name=kind]", "free")
    assert not page.locator("#plan-form input[name=price]").is_visible()
    page.select_option("#plan-form select[name=kind]", "annual")
    _shot(page, artifacts, "console-plan-form-zh-desktop.png")
    group = circle.groups.get(name="轻盈打卡群")
    page.goto(f"{base}/console/communities/slim/groups/{group.pk}/")
    _shot(page, artifacts, "console-group-zh-desktop.png")

    phone = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        storage_state=context.storage_state(),
    )
    mobile = phone.new_page()
    mobile.on("pageerror", lambda exc: errors.append(str(exc)))
    for path, name in [
        ("/console/members/", "console-members-zh-phone.png"),
        (page.url.replace(base, ""), "console-group-zh-phone.png"),
        ("/console/communities/slim/plans/", "console-community-plans-zh-phone.png"),
        ("/console/communities/slim/invitations/", "console-community-invitations-zh-phone.png"),
        ("/console/outbox/", "console-outbox-zh-phone.png"),
    ]:
        mobile.goto(base + path)
        _no_horizontal_overflow(mobile)
        _shot(mobile, artifacts, name)
    member_url = page.url.replace(base, "")
    mobile.goto(base + "/console/members/?q=139 1234 0003")
    with mobile.expect_navigation():
        mobile.locator("a.member-link").click()
    _no_horizontal_overflow(mobile)
    _shot(mobile, artifacts, "console-member-zh-phone.png")
    assert member_url
    assert errors == []
    phone.close()
    context.close()
