"""The console's standard periods are answered from the rollup job's snapshots: the same figures
as a live count, never older than the job's last run, moved on with the day and with lifecycle
changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.analytics.models import Snapshot, SnapshotKind
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.selectors.metrics import Period, Scope, kpis, lifecycle, rfm
from quanzi.analytics.tests.test_metrics import MONDAY, act, at, pay, seat
from quanzi.communities.tests.factories import group
from quanzi.core.models import ActivityKind
from quanzi.members.lifecycle import lifecycle_recompute
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db

TODAY = MONDAY + timedelta(days=70)


@pytest.fixture
def now(frozen_clock: Any) -> Any:
    frozen_clock.set(at(TODAY, 18))
    return frozen_clock


def window(days: int, today: Any = TODAY) -> Period:
    return Period(today - timedelta(days=days - 1), today + timedelta(days=1))


def busy_circle() -> tuple[Any, list[Any]]:
    chat = group()
    people = [member() for _ in range(6)]
    seat(chat, *people, day=MONDAY)
    # Interactions and orders spread so the 7, 30 and 90-day windows differ.
    act(
        ActivityKind.REPLY,
        people[0],
        chat,
        TODAY - timedelta(days=2),
        target_member_id=people[1].pk,
    )
    act(
        ActivityKind.LIKE,
        people[2],
        chat,
        TODAY - timedelta(days=20),
        target_member_id=people[3].pk,
    )
    act(
        ActivityKind.MENTION,
        people[4],
        chat,
        TODAY - timedelta(days=60),
        target_member_id=people[5].pk,
    )
    pay(people[0], chat.community, TODAY - timedelta(days=1), "A1")
    pay(people[0], chat.community, TODAY - timedelta(days=3), "A2")
    pay(people[1], chat.community, TODAY - timedelta(days=25), "B1", yuan=300)
    pay(people[2], chat.community, TODAY - timedelta(days=80), "C1", yuan=50)
    return chat, people


def test_each_console_period_reads_a_snapshot_with_the_live_figures(now: Any) -> None:
    chat, _ = busy_circle()
    rollup_refresh()
    scope = Scope(chat.community_id)

    stored = {
        (s.kind, s.start, s.end) for s in Snapshot.objects.filter(community_id=chat.community_id)
    }
    read = {days: kpis(scope, window(days)) for days in (7, 30, 90)}
    segments, stages = rfm(scope, TODAY), lifecycle(scope, TODAY)
    Snapshot.objects.all().delete()  # from here on every figure is counted live

    assert stored == {
        (SnapshotKind.KPIS, window(7).start, window(7).end),
        (SnapshotKind.KPIS, window(30).start, window(30).end),
        (SnapshotKind.KPIS, window(90).start, window(90).end),
        (SnapshotKind.RFM, TODAY, TODAY + timedelta(days=1)),
        (SnapshotKind.LIFECYCLE, TODAY, TODAY + timedelta(days=1)),
    }
    for days, figures in read.items():
        assert figures == kpis(scope, window(days))
    assert segments == rfm(scope, TODAY)
    assert stages == lifecycle(scope, TODAY)
    # Worked by hand: strangers are those with no reply, mention or like in the window.
    assert [read[d].strangers for d in (7, 30, 90)] == [4, 2, 0]
    assert [read[d].payers for d in (7, 30, 90)] == [1, 2, 3]
    assert [read[d].repeat_payers for d in (7, 30, 90)] == [1, 1, 1]


def test_a_new_order_moves_the_snapshot_at_the_next_run(now: Any) -> None:
    chat, people = busy_circle()
    rollup_refresh()
    scope = Scope(chat.community_id)
    assert kpis(scope, window(7)).payers == 1

    pay(people[3], chat.community, TODAY, "D1")
    rollup_refresh()

    assert kpis(scope, window(7)).payers == 2
    assert kpis(scope, window(7)).payment_rate == pytest.approx(2 / 6)


def test_the_snapshots_move_on_with_the_day(now: Any) -> None:
    chat, _ = busy_circle()
    rollup_refresh()
    scope = Scope(chat.community_id)
    yesterday_week = kpis(scope, window(7))

    now.set(at(TODAY + timedelta(days=1), 9))
    report = rollup_refresh()  # nothing new to fold; the day changed

    tomorrow = TODAY + timedelta(days=2)
    assert report.activities == 0
    assert report.snapshots == 1
    assert set(
        Snapshot.objects.filter(community_id=chat.community_id).values_list("end", flat=True)
    ) == {tomorrow}
    # The reply two days before TODAY is now three days back: still in the week.
    moved = kpis(scope, window(7, TODAY + timedelta(days=1)))
    assert moved.strangers == yesterday_week.strangers
    # The old week is still answered, live, from the rollups.
    assert kpis(scope, window(7)) == yesterday_week


def test_a_lifecycle_change_moves_the_stage_counts(now: Any) -> None:
    chat, people = busy_circle()
    rollup_refresh()
    scope = Scope(chat.community_id)
    before = {s.stage: s.members for s in lifecycle(scope, TODAY)}

    lifecycle_recompute([p.pk for p in people])  # records a stage change per member it moves
    rollup_refresh()

    after = {s.stage: s.members for s in lifecycle(scope, TODAY)}
    assert before[""] == 6
    assert after[""] == 3  # three members have paid orders: no longer without a stage
    assert sum(after.values()) == 6
    assert Snapshot.objects.get(community_id=chat.community_id, kind="lifecycle").data == {
        stage: n for stage, n in after.items()
    }
