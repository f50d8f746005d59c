"""The distribution and crystal pages in headless Chromium, on a seafood circle with three
months of shared sales and crystals: the overview draws its chart and leaderboard, an operator
creates a payout batch through the confirm step, and every crystal page opens with its data.
Screenshots land in ``artifacts`` for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from quanzi.communities.services.setup import community_create, group_create
from quanzi.distribution.models import PayoutBatch, PayoutStatus
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.distributors import distributor_apply
from quanzi.distribution.services.links import referral_link_get_or_create, referral_visit
from quanzi.distribution.services.payouts import (
    distributor_set_payee,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.services.settings import distribution_settings_update
from quanzi.distribution.tests.factories import approved, percent, received, refund, shared
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import (
    crystal_reward_create,
    perk_grant,
    redemption_place,
)
from quanzi.rewards.services.rules import reward_settings_update
from quanzi.rewards.tests.factories import award, rule

pytestmark = [pytest.mark.browser]

PASSWORD = "a-Long-enough-pass-42"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API runs an event loop in the test thread; the ORM calls the test
    makes are plain synchronous calls, so Django's async guard is lifted for this test only."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def circle(
    transactional_db: None, frozen_clock: Any, django_capture_on_commit_callbacks: Any
) -> dict[str, Any]:
    """Twelve weeks of sales through group leaders and sharers, a second level, a paid batch,
    a clawback that left someone owing, and applications waiting."""
    now = frozen_clock()
    frozen_clock.set(now - timedelta(weeks=12))
    home = community_create(
        slug="seafood", name="舟山海鲜圈", kind="product", vertical="food", description="渔船直发"
    )
    group = group_create(community=home, name="定海一群")
    fish = goods(home, price_minor=8_800, stock=500, category="海鲜")
    crab = goods(home, price_minor=26_800, stock=200, category="海鲜")
    wang, chen = member("王海燕"), member("陈团长")
    li, zhou = member("李娜"), member("周小舟")
    # 李娜 came through 王海燕's link: 王 earns the second level on 李's sales.
    referral_visit(link=referral_link_get_or_create(community=home, sharer=wang), member=li)
    leader = approved(home, wang, "group_leader", group=group, pickup_point="海港路 8 号便利店")
    approved(home, chen, "group_leader", pickup_point="沈家门渔港小区")
    sharer = approved(home, li, "sharer")
    approved(home, zhou, "influencer")
    distributor_set_payee(distributor=leader, name="王海燕", account="6222021234567890123")
    distributor_set_payee(distributor=sharer, name="李娜", account="wxid_lina2024")
    percent(home, 1_000)
    percent(home, 1_500, role="group_leader", category="海鲜")
    percent(home, 300, level=2)
    distribution_settings_update(community=home, second_level=True, min_payout_minor=1_000)
    reward_settings_update(community=home, daily_cap=200, weekly_cap=800, expiry_days=365)
    rule(home, "post", 10, daily_cap=30)
    rule(home, "check_in", 5)
    rule(home, "feedback", 20, weekly_cap=60)
    rule(home, "purchase", 1)
    growth_level_set(community=home, level="seed", min_earned=100, discount_percent=3)
    growth_level_set(
        community=home,
        level="core",
        min_earned=500,
        discount_percent=8,
        group=group,
        badge="海鲜达人",
    )
    distributor_apply(
        community=home, member=member("赵美食"), role="influencer", application="抖音 3 万粉丝"
    )
    distributor_apply(
        community=home,
        member=member("孙阿姨"),
        role="group_leader",
        group=group,
        pickup_point="东港菜场 12 号摊",
        application="小区 300 户，可做自提点",
    )
    sellers = [wang, chen, li]
    clawed = None
    for week in range(12):
        for i in range(1 + week % 3):
            seller = sellers[(week + i) % len(sellers)]
            order = shared(crab if i == 1 else fish, seller, member(), quantity=1 + (week + i) % 3)
            if week < 11:  # last week's goods are on their way: commission still pending
                received(order)
        if week == 1:
            # 周小舟's one sale: paid out last month, refunded today, so she owes it back.
            clawed = shared(crab, zhou, member())
            received(clawed)
        frozen_clock.advance(timedelta(weeks=1))
    frozen_clock.set(now - timedelta(days=30))
    commissions_mature_due()
    paid = payout_batch_create(community=home, note="上月佣金")
    payout_batch_mark_paid(batch=paid)
    frozen_clock.set(now - timedelta(days=3))
    cook, aunt = member("林小厨"), member("何大姐")
    award(home, cook, 320, note="最佳菜谱：葱油带鱼")
    award(home, aunt, 180, note="整理了团购攻略")
    award(home, li, 60, note="拍了开箱视频")
    coupon = crystal_reward_create(
        community=home, name="满 100 减 10 券", kind="coupon", cost=100, coupon_value_minor=1_000
    )
    crystal_reward_create(
        community=home, name="舟山带鱼一盒", kind="product", cost=400, product=fish.product, stock=8
    )
    crystal_reward_create(community=home, name="渔船出海体验", kind="perk", cost=600, stock=2)
    redemption_place(reward=coupon, member=cook)
    redemption_place(reward=coupon, member=aunt)
    perk_grant(community=home, member=li, name="螃蟹晚餐双人份", note="五月试吃会组织者")
    frozen_clock.set(now)
    commissions_mature_due()
    assert clawed is not None
    with django_capture_on_commit_callbacks(execute=True):
        refund(clawed, clawed.lines.get().total_minor)
    return {"home": home}


def _shot(page: Any, artifacts: Path, name: str) -> Path:
    path = artifacts / name
    page.screenshot(path=str(path), full_page=True)
    return path


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px viewport"


def test_distribution_and_crystal_pages_in_the_browser(
    live_server: Any, operator: Any, circle: dict[str, Any], browser: Any, artifacts: Path
) -> None:
    base = live_server.url
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"{req.url} {req.failure}"))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(base + "/console/login/")
    page.fill('input[name="username"]', "owner")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('.auth-form button[type="submit"]')

    page.click('#nav a[href="/console/distribution/"]')
    page.wait_for_url(base + "/console/distribution/seafood/")
    assert page.locator("#distribution-kpis .kpi").count() == 5
    page.wait_for_selector("#commission-chart .main-svg")
    assert page.locator("#commission-chart .bars .point").count() > 12  # two levels, 12 weeks
    assert page.locator("#leaders-sales .leader-list li").count() == 3
    assert page.locator("#leaders-commission .leader-list li").count() == 3
    _shot(page, artifacts, "console-distribution-overview-zh-desktop.png")

    page.click('.segmented a[href="?days=7"]')
    page.wait_for_url("**/?days=7")
    assert page.locator('.segmented a[aria-current="true"]').inner_text().strip().startswith("7")

    page.goto(base + "/console/distribution/seafood/applications/")
    assert page.locator("#distributor-table tbody tr").count() == 2
    _shot(page, artifacts, "console-distribution-applications-zh-desktop.png")
    page.goto(base + "/console/distribution/seafood/rules/")
    _shot(page, artifacts, "console-distribution-rules-zh-desktop.png")
    page.goto(base + "/console/distribution/seafood/commissions/")
    _shot(page, artifacts, "console-distribution-commissions-zh-desktop.png")

    page.goto(base + "/console/distribution/seafood/payouts/")
    assert page.locator("#balance-table .status.blocked").count() == 1
    _shot(page, artifacts, "console-distribution-payouts-zh-desktop.png")
    page.click("#new-batch")
    page.wait_for_selector("#payout-confirm")
    total = page.locator("#payout-total").inner_text()
    _shot(page, artifacts, "console-distribution-payout-confirm-zh-desktop.png")
    page.fill('#payout-form input[name="note"]', "本月佣金")
    with page.expect_navigation():
        page.click('#payout-form button[type="submit"]')
    assert page.locator(".flash-success").count() == 1
    batch = PayoutBatch.objects.get(status=PayoutStatus.OPEN)
    assert page.url == f"{base}/console/distribution/seafood/payouts/{batch.number}/"
    assert total.endswith(f"{batch.total_minor // 100:,}.{batch.total_minor % 100:02d}")
    _shot(page, artifacts, "console-distribution-payout-batch-zh-desktop.png")

    crystals = [
        ("/console/crystals/seafood/", "console-crystals-overview-zh-desktop.png"),
        ("/console/crystals/seafood/rules/", "console-crystals-rules-zh-desktop.png"),
        ("/console/crystals/seafood/rewards/", "console-crystals-rewards-zh-desktop.png"),
        ("/console/crystals/seafood/redemptions/", "console-crystals-redemptions-zh-desktop.png"),
        ("/console/crystals/seafood/levels/", "console-crystals-levels-zh-desktop.png"),
        ("/console/crystals/seafood/contributors/", "console-crystals-contributors-zh-desktop.png"),
    ]
    page.click('#nav a[href="/console/crystals/"]')
    page.wait_for_url(base + "/console/crystals/seafood/")
    assert page.locator("#crystal-leaders .leader-list li").count() >= 3
    assert "林小厨" in page.locator("#crystal-leaders").inner_text()
    for path, name in crystals:
        page.goto(base + path)
        _shot(page, artifacts, name)
    page.goto(base + "/console/crystals/seafood/redemptions/")
    assert page.locator("#redemption-table tbody tr").count() == 3

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
        ("/console/distribution/seafood/", "console-distribution-overview-zh-phone.png"),
        ("/console/distribution/seafood/payouts/", "console-distribution-payouts-zh-phone.png"),
        (
            "/console/distribution/seafood/applications/",
            "console-distribution-applications-zh-phone.png",
        ),
        ("/console/crystals/seafood/", "console-crystals-overview-zh-phone.png"),
        ("/console/crystals/seafood/redemptions/", "console-crystals-redemptions-zh-phone.png"),
        ("/console/crystals/seafood/rules/", "console-crystals-rules-zh-phone.png"),
    ]:
        mobile.goto(base + path)
        _no_horizontal_overflow(mobile)
        _shot(mobile, artifacts, name)

    assert errors == []
    phone.close()
    context.close()
