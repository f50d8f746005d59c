"""API v1 for the health metrics and member value: the same figures as the selectors, and bad
periods, groups and days refused with the field named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.selectors.metrics import Scope, kpis
from quanzi.analytics.tests.test_metrics import MONDAY, WEEK, act, at, pay, seat
from quanzi.communities.tests.factories import community, group
from quanzi.core.models import ActivityKind
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def circle(frozen_clock: Any) -> Any:
    frozen_clock.set(at(MONDAY + timedelta(days=70)))
    place = community()
    first, second = group(place), group(place)
    people = [member() for _ in range(5)]
    seat(first, *people[:3])
    seat(second, *people[2:])
    act(
        ActivityKind.REPLY,
        people[0],
        first,
        MONDAY + timedelta(days=1),
        target_member_id=people[1].pk,
    )
    pay(people[0], place, MONDAY + timedelta(days=2), "A1")
    pay(people[0], place, MONDAY + timedelta(days=3), "A2")
    rollup_refresh()
    return place, first, second


def test_every_metric_answers_with_the_selectors_figures(api: Any, circle: Any) -> None:
    place, first, second = circle
    base = f"/api/v1/communities/{place.slug}/analytics"
    week = f"start={WEEK.start}&end={WEEK.end}"

    tiles = api.get(f"{base}/kpis?{week}&group_id={first.pk}").json()
    expected = kpis(Scope(place.pk, first.pk), WEEK)
    assert tiles["members"] == expected.members == 3
    assert tiles["strangeness_rate"] == pytest.approx(expected.strangeness_rate)
    assert tiles["payment_rate"] == pytest.approx(1 / 3)

    for name in ("funnel", "daily", "cohorts", "lifecycle", "rfm"):
        response = api.get(f"{base}/{name}?group_id={first.pk}")
        assert response.status_code == 200, (name, response.content)
    assert len(api.get(f"{base}/daily?{week}").json()) == 7

    overlap = api.get(f"{base}/overlap?group_ids={first.pk},{second.pk}").json()
    assert overlap["rate"] == pytest.approx(1 / 5)
    assert overlap["jaccard"][0][1] == pytest.approx(1 / 5)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-03-09&end=2026-03-02", "start"),
        ("end=2099-01-01", "end"),
        ("start=2010-01-01&end=2026-03-02", "start"),
        ("start=yesterday", "start"),
    ],
)
def test_bad_periods_are_refused_with_the_field(
    api: Any, circle: Any, query: str, field: str
) -> None:
    place, _first, _second = circle

    response = api.get(f"/api/v1/communities/{place.slug}/analytics/kpis?{query}")

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_a_group_of_another_community_is_not_found(api: Any, circle: Any) -> None:
    place, _first, _second = circle
    elsewhere = group(community())

    response = api.get(f"/api/v1/communities/{place.slug}/analytics/kpis?group_id={elsewhere.pk}")
    overlap = api.get(
        f"/api/v1/communities/{place.slug}/analytics/overlap?group_ids={elsewhere.pk},1"
    )
    future = api.get(f"/api/v1/communities/{place.slug}/analytics/rfm?at=2099-01-01")
    unknown = api.get("/api/v1/communities/nope/analytics/kpis")

    assert response.status_code == 404
    assert "group_id" in response.json()["error"]["fields"]
    assert overlap.status_code == 404
    assert future.status_code == 422
    assert unknown.status_code == 404


def test_member_value_api(api: Any, frozen_clock: Any) -> None:
    from quanzi.analytics.tests.test_btyd import _shop

    place = _shop(frozen_clock)
    base = f"/api/v1/communities/{place.slug}/analytics/value"

    assert api.get(base).status_code == 404  # no fit yet
    created = api.post(f"{base}/fit", {"unit": "week", "horizon_days": 60})
    bad_unit = api.post(f"{base}/fit", {"unit": "month"})
    members = api.get(f"{base}/members?limit=5")
    slipping = api.get(f"{base}/slipping")

    assert created.status_code == 201, created.content
    assert created.json()["members"] > 0
    assert api.get(base).json()["id"] == created.json()["id"]
    assert bad_unit.status_code == 422
    assert "unit" in bad_unit.json()["error"]["fields"]
    clv = [m["clv_minor"] for m in members.json()["items"]]
    assert clv == sorted(clv, reverse=True)
    assert len(clv) == 5
    assert slipping.status_code == 200
