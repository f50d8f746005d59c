"""The console's health pages: the figures shown are the selectors' figures, every table
downloads as Excel with the same rows, a bad period is a form error (never a 500), and other
communities' groups are not found."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest

from quanzi.analytics.selectors.metrics import Period, Scope, funnel, kpis, lifecycle, rfm
from quanzi.analytics.services.health import health_evaluate
from quanzi.analytics.tests.test_health import TODAY, at, build, shop_in
from quanzi.communities.tests.factories import community, group
from quanzi.console.views_analytics import MAX_GROUPS
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def circle(frozen_clock: Any) -> Any:
    from quanzi.analytics.rollups import rollup_refresh

    frozen_clock.set(at(TODAY, 23))
    place = community(name="海鲜水果圈")
    healthy, dying = group(place, name="健康群"), group(place, name="快死的群")
    build(healthy, [member(f"h{i}") for i in range(10)], member("KOL 老师"), dying=False)
    build(dying, [member(f"d{i}") for i in range(10)], member("KOL 阿杰"), dying=True)
    shop_in(place, healthy)
    rollup_refresh()
    health_evaluate(community=place, day=TODAY)
    return place, healthy, dying


def test_the_community_page_shows_the_selectors_figures(signed_in: Any, circle: Any) -> None:
    place, _healthy, dying = circle

    response = signed_in.get(f"/console/analytics/{place.slug}/?days=30")

    assert response.status_code == 200
    html = response.content.decode()
    period = Period(TODAY - timedelta(days=29), TODAY + timedelta(days=1))
    figures = kpis(Scope(place.pk), period)
    assert f"{figures.strangeness_rate:.1%}" in html
    assert f"{figures.ad_ratio:.1%}" in html
    assert 'id="health-warnings"' in html
    assert "快死的群" in html
    for chart in (
        "fig-lines",
        "fig-funnel",
        "fig-cohorts",
        "fig-overlap",
        "fig-lifecycle",
        "fig-rfm",
    ):
        assert f'id="{chart}"' in html
    assert f"/console/analytics/{place.slug}/groups/{dying.pk}/" in html


def test_the_group_page_explains_its_score(signed_in: Any, circle: Any) -> None:
    place, healthy, dying = circle

    sick = signed_in.get(f"/console/analytics/{place.slug}/groups/{dying.pk}/")
    well = signed_in.get(f"/console/analytics/{place.slug}/groups/{healthy.pk}/")

    assert sick.status_code == 200
    assert 'class="score score-high">100<' in sick.content.decode()
    assert well.status_code == 200
    assert 'class="score score-low">0<' in well.content.decode()


@pytest.mark.parametrize(
    "table",
    [
        "kpis",
        "funnel",
        "daily",
        "cohorts",
        "lifecycle",
        "rfm",
        "warnings",
        "overlap",
        "groups",
        "slipping",
    ],
)
def test_every_table_downloads_as_excel(signed_in: Any, circle: Any, table: str) -> None:
    place, _healthy, _dying = circle

    response = signed_in.get(f"/console/analytics/{place.slug}/?days=30&export={table}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0]  # a header
    if table == "daily":
        assert len(rows) == 1 + 30
    if table == "warnings":
        assert {r[0] for r in rows[1:]} == {"快死的群"}
        assert len(rows) == 1 + 5  # one row per reason


def test_bad_periods_are_form_errors(signed_in: Any, circle: Any) -> None:
    place, _healthy, _dying = circle
    base = f"/console/analytics/{place.slug}/"

    for query in (
        "start=2026-06-10&end=2026-06-01",
        "start=2026-06-01&end=2099-01-01",
        "start=junk&end=2026-06-01",
        "start=2026-06-01",
        "days=12",
    ):
        response = signed_in.get(f"{base}?{query}")
        assert response.status_code == 422, query
        assert "flash-error" in response.content.decode()


def test_unknown_community_group_of_another_and_table_are_not_found(
    signed_in: Any, circle: Any
) -> None:
    place, _healthy, _dying = circle
    elsewhere = group(community())

    assert signed_in.get("/console/analytics/nope/").status_code == 404
    assert (
        signed_in.get(f"/console/analytics/{place.slug}/groups/{elsewhere.pk}/").status_code == 404
    )
    assert signed_in.get(f"/console/analytics/{place.slug}/?export=secrets").status_code == 404


def test_signing_in_is_required(client: Any, circle: Any) -> None:
    place, _healthy, _dying = circle

    response = client.get(f"/console/analytics/{place.slug}/")

    assert response.status_code == 302
    assert "/console/login/" in response["Location"]


def test_an_empty_community_says_what_to_do(signed_in: Any, db: None) -> None:
    place = community()

    response = signed_in.get(f"/console/analytics/{place.slug}/")

    assert response.status_code == 200
    assert "quanzi import chats" in response.content.decode()


def _sheet(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


def test_the_downloaded_rows_are_the_selectors_rows(signed_in: Any, circle: Any) -> None:
    place, _healthy, _dying = circle
    base = f"/console/analytics/{place.slug}/?days=30&export="
    period = Period(TODAY - timedelta(days=29), TODAY + timedelta(days=1))
    scope = Scope(place.pk)

    steps = funnel(scope, period)
    assert [r[1:] for r in _sheet(signed_in.get(base + "funnel"))[1:]] == [
        (s.members, s.conversion) for s in steps
    ]
    stages = lifecycle(scope, TODAY)
    assert [r[1] for r in _sheet(signed_in.get(base + "lifecycle"))[1:]] == [
        s.members for s in stages
    ]
    segments = rfm(scope, TODAY)
    assert [r[1:] for r in _sheet(signed_in.get(base + "rfm"))[1:]] == [
        (s.members, s.revenue_minor) for s in segments
    ]
    assert sum(s.members for s in segments) == 6  # the six buyers of shop_in


def test_the_group_table_puts_the_warned_group_first_even_among_many(
    signed_in: Any, circle: Any
) -> None:
    place = circle[0]
    for n in range(MAX_GROUPS + 5):
        group(place, name=f"A{n:03d} 空群")  # sorts before both by name

    rows = _sheet(signed_in.get(f"/console/analytics/{place.slug}/?export=groups"))
    page = signed_in.get(f"/console/analytics/{place.slug}/").content.decode()

    assert len(rows) == 1 + MAX_GROUPS
    assert rows[1] == ("快死的群", 11, 100, True)
    assert ("健康群", 11, 0, False) in rows
    assert f"显示 {MAX_GROUPS + 7} 个群中的 {MAX_GROUPS} 个" in page  # "Showing 60 of 67 groups"


def test_valuable_members_slipping_are_listed_and_downloaded(
    signed_in: Any, frozen_clock: Any
) -> None:
    from quanzi.analytics.selectors.value import slipping_members
    from quanzi.analytics.services.value import value_fit
    from quanzi.analytics.tests.test_btyd import _shop

    place = _shop(frozen_clock)
    value_fit(community=place, unit="week")
    frozen_clock.advance(timedelta(days=90))
    value_fit(community=place, unit="week")
    expected = slipping_members(place, limit=20)
    assert expected

    page = signed_in.get(f"/console/analytics/{place.slug}/").content.decode()
    rows = _sheet(signed_in.get(f"/console/analytics/{place.slug}/?export=slipping"))

    assert f'href="/console/members/{expected[0].member_id}/"' in page
    assert [(r[0], r[1]) for r in rows[1:]] == [(m.name, m.clv_minor) for m in expected]


def test_the_group_table_shows_the_last_evaluation_and_costs_the_same_for_many_groups(
    signed_in: Any, circle: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from quanzi.analytics.models import GroupScore

    place, healthy, _dying = circle
    url = f"/console/analytics/{place.slug}/?days=30"
    with CaptureQueriesContext(connection) as few:
        signed_in.get(url)
    for n in range(40):
        group(place, name=f"B{n:02d} 新群")
    health_evaluate(community=place, day=TODAY)  # every group now has a stored score
    with CaptureQueriesContext(connection) as many:
        page = signed_in.get(url).content.decode()

    # The table is 42 groups long; the page asks the database about as often as for 2.
    assert page.count("/groups/") >= 42
    assert len(many) - len(few) <= 3
    # What it shows is the stored evaluation: a later one moves it.
    GroupScore.objects.filter(group=healthy).update(score=70)
    rows = _sheet(signed_in.get(url + "&export=groups"))
    assert ("健康群", 11, 70, True) in rows
    health_evaluate(community=place, day=TODAY)
    rows = _sheet(signed_in.get(url + "&export=groups"))
    assert ("健康群", 11, 0, False) in rows
    assert rows[1] == ("快死的群", 11, 100, True)
