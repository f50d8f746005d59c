"""The health page in a real browser: its Plotly charts draw with data, the dead-group warning
shows its reasons, and a screenshot is kept (Simplified Chinese, desktop and phone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.services.health import health_evaluate
from quanzi.analytics.tests.test_health import TODAY, at, build, shop_in
from quanzi.communities.tests.factories import community, group
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.browser

PASSWORD = "a-Long-enough-pass-42"


@pytest.fixture
def place(transactional_db: None, frozen_clock: Any) -> Any:
    frozen_clock.set(at(TODAY, 23))
    circle = community(name="海鲜水果圈")
    healthy, dying = group(circle, name="海鲜团购1群"), group(circle, name="水果闲聊群")
    build(healthy, [member(f"阿{i}") for i in range(10)], member("KOL 老张"), dying=False)
    build(dying, [member(f"小{i}") for i in range(10)], member("KOL 阿杰"), dying=True)
    shop_in(circle, healthy)
    rollup_refresh()
    health_evaluate(community=circle, day=TODAY)
    return circle, dying


def test_health_page_draws_its_charts_and_warns(
    live_server: Any, operator: Any, place: Any, browser: Any, artifacts: Path
) -> None:
    circle, dying = place
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/console/login/")
    page.fill('input[name="username"]', "owner")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('.auth-form button[type="submit"]')

    page.goto(f"{live_server.url}/console/analytics/{circle.slug}/?days=30")
    for chart in (
        "fig-lines",
        "fig-funnel",
        "fig-cohorts",
        "fig-overlap",
        "fig-lifecycle",
        "fig-rfm",
    ):
        page.wait_for_selector(f'[data-plotly="{chart}"] .main-svg', timeout=15_000)
    lines = page.locator('[data-plotly="fig-lines"] .scatterlayer .trace')
    assert lines.count() == 5
    assert (
        page.locator(
            '[data-plotly="fig-cohorts"] .heatmaplayer image, [data-plotly="fig-cohorts"] .hm'
        ).count()
        >= 1
    )
    warning = page.locator("#health-warnings")
    assert "水果闲聊群" in warning.inner_text()
    assert warning.locator(".signal-list li").count() == 5
    assert page.locator("#health-kpis .kpi").count() == 9
    assert page.locator('#health-kpis .kpi[title*="7"]').count() >= 1  # definitions as tooltips
    first = page.locator("#health-groups tbody tr").first
    assert "水果闲聊群" in first.inner_text()  # worst first
    assert first.locator(".score-high").inner_text() == "100"
    page.screenshot(path=str(artifacts / "analytics-health-zh-desktop.png"), full_page=True)

    page.click(f'a[href="/console/analytics/{circle.slug}/groups/{dying.pk}/"] >> nth=0')
    page.wait_for_selector('[data-plotly="fig-lines"] .main-svg', timeout=15_000)
    assert "100" in page.locator("#group-health .score").inner_text()
    page.screenshot(path=str(artifacts / "analytics-group-zh-desktop.png"), full_page=True)

    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        storage_state=context.storage_state(),
    )
    small = phone.new_page()
    small.goto(f"{live_server.url}/console/analytics/{circle.slug}/")
    small.wait_for_selector('[data-plotly="fig-lines"] .main-svg', timeout=15_000)
    small.screenshot(path=str(artifacts / "analytics-health-zh-phone.png"), full_page=True)
    assert errors == []
