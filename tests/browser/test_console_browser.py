"""The console and member pages in headless Chromium: sign in, switch language, screenshots.

Screenshots land in the ``artifacts`` folder (``/artifacts`` by default, ``QUANZI_ARTIFACTS`` to
move it) for a person to look at; the assertions cover what a screenshot cannot be trusted for.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record

pytestmark = [pytest.mark.browser]

PASSWORD = "a-Long-enough-pass-42"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHANNELS = ["douyin", "xiaohongshu", "wechat_channels", "weibo", "bilibili", "taobao"]


@pytest.fixture
def seeded(transactional_db: None) -> int:
    """A month of a small circle: visits, joins, chat, orders and payments, growing slowly."""
    rng = random.Random(7)
    now = timezone.now()
    count = 0
    for day in range(29, -1, -1):
        growth = 1 + (29 - day) / 20
        for kind, base in [
            (ActivityKind.VISIT, 9),
            (ActivityKind.MESSAGE, 12),
            (ActivityKind.JOIN, 3),
            (ActivityKind.ORDER, 2),
            (ActivityKind.PAY, 2),
            (ActivityKind.CHECK_IN, 1),
            (ActivityKind.REFERRAL, 1),
        ]:
            for _ in range(rng.randint(0, round(base * growth))):
                amount = (
                    Money(rng.choice([990, 4900, 9900, 19900, 29900])) if kind == "pay" else None
                )
                activity_record(
                    kind=kind,
                    occurred_at=now - timedelta(days=day, minutes=rng.randint(1, 600)),
                    member_id=rng.randint(1, 140),
                    community_id=1,
                    group_id=rng.choice([1, 2, 3]),
                    channel=rng.choice(CHANNELS) if kind in ("visit", "join") else "",
                    amount=amount,
                    source="demo",
                )
                count += 1
    return count


def _shot(page: Any, artifacts: Path, name: str, *, full: bool = True) -> Path:
    path = artifacts / name
    page.screenshot(path=str(path), full_page=full)
    return path


def _no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px viewport"


def _switch_language(page: Any, code: str) -> None:
    page.locator(".topbar .lang summary").click()
    with page.expect_navigation():
        page.locator(f'.topbar .lang-menu button[value="{code}"]').click()


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/console/")
    assert "/console/login/" in page.url
    page.fill('input[name="username"]', "owner")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('.auth-form button[type="submit"]')


def test_console_tour(
    live_server: Any, operator: Any, seeded: int, browser: Any, artifacts: Path
) -> None:
    base = live_server.url
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"{req.url} {req.failure}"))

    page.goto(base + "/console/login/")
    assert page.locator("h1").inner_text() == "登录管理后台"
    _shot(page, artifacts, "console-login-zh-desktop.png")

    _sign_in(page, base)
    assert page.url == base + "/console/"
    nav = page.locator("#nav")
    assert "概览" in nav.inner_text()
    assert "社群与群" in nav.inner_text()
    page.wait_for_selector("#activity-chart .main-svg", timeout=15_000)
    assert page.locator("#activity-chart .legend .traces").count() >= 5
    assert page.locator(".kpi").count() == 5
    assert page.locator(".nav-link.is-disabled").count() == 3  # events, campaigns, channels
    _shot(page, artifacts, "console-overview-zh-desktop.png")

    _switch_language(page, "en")
    assert "Overview" in nav.inner_text()
    assert "Communities & groups" in nav.inner_text()
    page.wait_for_selector("#activity-chart .main-svg")
    _shot(page, artifacts, "console-overview-en-desktop.png")

    _switch_language(page, "ko")
    assert "개요" in nav.inner_text()
    assert "커뮤니티 & 그룹" in nav.inner_text()
    assert page.evaluate("document.documentElement.lang") == "ko"
    page.wait_for_selector("#activity-chart .main-svg")
    _shot(page, artifacts, "console-overview-ko-desktop.png")

    _switch_language(page, "zh-hans")
    page.goto(base + "/console/activity/")
    rows = page.locator("#activity-table tbody tr:not(.load-more-row)")
    assert rows.count() == 50
    page.click("#load-more a")
    page.wait_for_function(
        "document.querySelectorAll('#activity-table tbody tr:not(.load-more-row)').length > 50"
    )
    assert page.url == base + "/console/activity/"
    page.select_option('select[name="kind"]', "pay")
    with page.expect_navigation():
        page.click(".filters button[type=submit]")
    kinds = page.locator("#activity-table tbody .kind").all_inner_texts()
    assert kinds
    assert set(kinds) == {"付款"}
    page.goto(base + "/console/activity/")
    _shot(page, artifacts, "console-activity-zh-desktop.png")

    page.goto(base + "/console/jobs/")
    with page.expect_navigation():
        page.locator("form[action='/console/jobs/core.ledger_verify/run/'] button").click()
    assert "ledger consistent" in page.locator(".flash-success").inner_text()
    _shot(page, artifacts, "console-jobs-zh-desktop.png")

    page.goto(base + "/console/tokens/")
    page.fill('input[name="name"]', "有赞订单同步")
    with page.expect_navigation():
        page.click("#token-create button[type=submit]")
    raw = page.locator("#new-token").input_value()
    assert raw.startswith("qz_")
    _shot(page, artifacts, "console-tokens-zh-desktop.png")

    # The phone: same session, a narrow screen.
    phone = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        storage_state=context.storage_state(),
    )
    mobile = phone.new_page()
    mobile.on("pageerror", lambda exc: errors.append(str(exc)))
    mobile.goto(base + "/console/")
    mobile.wait_for_selector("#activity-chart .main-svg", timeout=15_000)
    assert not mobile.locator("#nav").is_visible()
    _no_horizontal_overflow(mobile)
    _shot(mobile, artifacts, "console-overview-zh-phone.png")

    mobile.click("[data-menu-toggle]")
    assert mobile.locator("#nav").is_visible()
    mobile.screenshot(path=str(artifacts / "console-menu-zh-phone.png"))
    mobile.click("[data-menu-toggle]")

    for path, name, full in [
        ("/console/activity/", "console-activity-zh-phone.png", False),
        ("/console/jobs/", "console-jobs-zh-phone.png", True),
        ("/console/tokens/", "console-tokens-zh-phone.png", True),
    ]:
        mobile.goto(base + path)
        _no_horizontal_overflow(mobile)
        for table in mobile.locator(".table-wrap").all():
            assert table.evaluate("t => t.scrollWidth <= t.clientWidth"), f"{path} table overflows"
        _shot(mobile, artifacts, name, full=full)

    _switch_language(mobile, "ko")
    mobile.goto(base + "/console/")
    mobile.wait_for_selector("#activity-chart .main-svg", timeout=15_000)
    assert mobile.locator(".page-title h1").inner_text() == "개요"
    _no_horizontal_overflow(mobile)
    _shot(mobile, artifacts, "console-overview-ko-phone.png")

    assert errors == []
    phone.close()
    context.close()


def test_console_login_and_empty_overview_on_a_phone(
    live_server: Any, operator: Any, browser: Any, artifacts: Path
) -> None:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(live_server.url + "/console/login/")
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "console-login-zh-phone.png")

    _sign_in(page, live_server.url)
    assert page.locator(".empty-state h2").inner_text() == "这里将呈现圈子的脉搏"
    assert page.locator("#activity-chart").count() == 0
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "console-overview-empty-zh-phone.png")
    context.close()


def test_member_home_on_a_phone(live_server: Any, browser: Any, artifacts: Path) -> None:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(live_server.url + "/m/")

    assert page.locator("h1").inner_text() == "欢迎来到圈子"
    tabbar = page.locator(".tabbar")
    assert tabbar.is_visible()
    box = tabbar.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1)
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "member-home-zh-phone.png")
    page.screenshot(path=str(artifacts / "member-home-zh-phone-screen.png"))

    page.locator(".lang summary").click()
    with page.expect_navigation():
        page.locator('.lang-menu button[value="ko"]').click()
    assert page.locator("h1").inner_text() == "커뮤니티에 오신 것을 환영합니다"
    _no_horizontal_overflow(page)
    _shot(page, artifacts, "member-home-ko-phone.png")
    context.close()
