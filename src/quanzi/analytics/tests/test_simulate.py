"""``quanzi simulate``: a community with what it claims, the same for the same seed, dying groups
that the warning finds, and bad sizes refused in one line."""

from __future__ import annotations

from typing import Any

import pytest

from quanzi.analytics.models import ChatMessage, ScopeDay
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.simulate import simulate
from quanzi.communities.models import GroupMembership
from quanzi.core.models import Activity
from quanzi.members.models import Member

pytestmark = pytest.mark.django_db


def test_a_small_community_has_what_the_report_says() -> None:
    report = simulate(members=300, groups=6, days=60, activities=4000, seed=3)
    rollup_refresh()

    community = report.community
    assert Member.objects.count() == 300
    seats = GroupMembership.objects.filter(group__community=community)
    assert seats.count() == report.seats
    assert report.seats > 300  # some members sit in two groups or three
    assert Activity.objects.filter(community_id=community.pk).count() == report.activities + 1
    assert ChatMessage.objects.filter(community=community).count() == report.messages
    promo = ChatMessage.objects.filter(community=community, is_promotion=True).count()
    assert 0 < promo < report.messages / 2
    # The rollups cover every day of the period for the community.
    assert ScopeDay.objects.filter(community_id=community.pk, group_id=0).count() >= 60


def test_the_same_seed_gives_the_same_community() -> None:
    def shape(seed: int, slug: str) -> tuple[Any, ...]:
        report = simulate(members=120, groups=4, days=30, activities=1500, seed=seed, slug=slug)
        kinds = sorted(
            Activity.objects.filter(community_id=report.community.pk).values_list("kind", flat=True)
        )
        return report.seats, report.messages, report.orders, tuple(kinds)

    assert shape(9, "first") == shape(9, "second")
    assert shape(9, "third") != shape(10, "fourth")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--members", "0", "--groups", "1", "--days", "10"], "--members"),
        (["--members", "10", "--groups", "20", "--days", "10"], "--groups"),
        (["--members", "10", "--groups", "2", "--days", "4000"], "--days"),
        (
            ["--members", "10", "--groups", "2", "--days", "10", "--activities", "-5"],
            "--activities",
        ),
    ],
)
def test_bad_sizes_are_one_line(capsys: Any, args: list[str], says: str) -> None:
    from quanzi.cli import main

    with pytest.raises(SystemExit) as refused:
        main(["simulate", *args])

    assert refused.value.code != 0
    err = capsys.readouterr().err
    assert says in err
    assert err.count("\n") == 1
