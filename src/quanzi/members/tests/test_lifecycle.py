"""Lifecycle stage and growth level: the rules at each threshold, and the facts from the log.

Core-group seats and KOL seats come from the communities app; those facts are tested there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.jobs import recompute_all
from quanzi.members.lifecycle import Facts, facts_for, level_for, lifecycle_recompute, stage_for
from quanzi.members.models import Level, Member, Stage
from quanzi.members.services import member_anonymise, member_merge
from quanzi.members.tests.factories import member, record

WEEK = timedelta(weeks=1)


@pytest.mark.parametrize(
    ("facts", "stage"),
    [
        (Facts(), Stage.NONE),
        (Facts(active_weeks=8, referrals=3, contributions=9), Stage.NONE),  # never paid
        (Facts(paid_orders=1), Stage.CUSTOMER),
        (Facts(paid_orders=1, active_weeks=3), Stage.CUSTOMER),
        (Facts(paid_orders=1, active_weeks=4), Stage.USER),
        (Facts(paid_orders=2), Stage.USER),
        (Facts(paid_orders=1, referrals=1), Stage.CUSTOMER),  # not a user yet: no fan either
        (Facts(paid_orders=2, referrals=1), Stage.FAN),
        (Facts(paid_orders=2, contributions=1), Stage.FAN),
        (Facts(paid_orders=1, active_weeks=4, contributions=1), Stage.FAN),
        # iron fan: a fan in a core group, active recently, with at least two paid orders
        (
            Facts(paid_orders=2, referrals=1, in_core_group=True, active_recently=True),
            Stage.IRON_FAN,
        ),
        (Facts(paid_orders=2, referrals=1, in_core_group=True), Stage.FAN),
        (Facts(paid_orders=2, referrals=1, active_recently=True), Stage.FAN),
        (
            Facts(
                paid_orders=1,
                active_weeks=4,
                referrals=1,
                in_core_group=True,
                active_recently=True,
            ),
            Stage.FAN,
        ),
        (Facts(paid_orders=2, in_core_group=True, active_recently=True), Stage.USER),
    ],
)
def test_stage_at_each_threshold(facts: Facts, stage: str) -> None:
    assert stage_for(facts) == stage


@pytest.mark.parametrize(
    ("facts", "level"),
    [
        (Facts(), Level.NOVICE),
        (Facts(active_weeks=1), Level.NOVICE),
        (Facts(active_weeks=2), Level.SEED),
        (Facts(active_weeks=5), Level.SEED),
        (Facts(active_weeks=6), Level.CORE),
        (Facts(contributions=4), Level.NOVICE),
        (Facts(contributions=5), Level.CORE),
        (Facts(in_core_group=True), Level.CORE),
        (Facts(holds_kol_seat=True), Level.KOL),
        (Facts(holds_kol_seat=True, active_weeks=0), Level.KOL),
    ],
)
def test_level_at_each_threshold(facts: Facts, level: str) -> None:
    assert level_for(facts) == level


def test_thresholds_are_settings(settings: Any) -> None:
    # Given: an operator who asks three paid orders of a user
    settings.QUANZI_LIFECYCLE = {**settings.QUANZI_LIFECYCLE, "user_min_paid_orders": 3}

    # Then
    assert stage_for(Facts(paid_orders=2)) == Stage.CUSTOMER
    assert stage_for(Facts(paid_orders=3)) == Stage.USER


def _at(moment: datetime, weeks_ago: int) -> datetime:
    """An hour inside the week that lies ``weeks_ago`` whole weeks before ``moment``."""
    return moment - weeks_ago * WEEK - timedelta(hours=1)


@pytest.mark.django_db
def test_facts_come_from_the_activity_log() -> None:
    # Given
    moment = clock.now()
    person = member()
    for weeks_ago in (0, 1, 3, 5):
        record(person, ActivityKind.MESSAGE, _at(moment, weeks_ago))
    record(person, ActivityKind.MESSAGE, _at(moment, 3) - timedelta(hours=2))  # same week again
    record(person, ActivityKind.MESSAGE, _at(moment, 8))  # outside the 8-week window
    record(person, ActivityKind.PAY, _at(moment, 20))  # payments count whenever they were
    record(person, ActivityKind.PAY, _at(moment, 2))
    record(person, ActivityKind.POST, _at(moment, 30))
    record(person, ActivityKind.REFERRAL, _at(moment, 1))
    record(person, ActivityKind.VIEW, _at(moment, 6))  # viewing is not engagement
    quiet = member()

    # When
    facts = facts_for([person.pk, quiet.pk], now=moment)

    # Then: the post 30 weeks ago is a contribution and an active week outside the window
    assert facts[person.pk] == Facts(
        paid_orders=2,
        active_weeks=4,
        referrals=1,
        contributions=1,
        active_recently=True,
        in_core_group=False,
        holds_kol_seat=False,
    )
    assert facts[quiet.pk] == Facts()


@pytest.mark.django_db
def test_activity_exactly_eight_weeks_ago_is_outside_the_last_eight_weeks() -> None:
    # Given: activity in each of the last 8 weeks and one at the window's very start
    moment = clock.now()
    person = member()
    for weeks_ago in range(8):
        record(person, ActivityKind.MESSAGE, _at(moment, weeks_ago))
    record(person, ActivityKind.MESSAGE, moment - 8 * WEEK)

    # When
    facts = facts_for([person.pk], now=moment)

    # Then
    assert facts[person.pk].active_weeks == 8


@pytest.mark.django_db
def test_facts_ignore_what_happened_after_the_moment_asked_about() -> None:
    # Given
    moment = clock.now() - timedelta(days=30)
    person = member()
    record(person, ActivityKind.PAY, moment - timedelta(days=1))
    record(person, ActivityKind.PAY, moment + timedelta(days=1))

    # When / Then
    assert facts_for([person.pk], now=moment)[person.pk].paid_orders == 1


@pytest.mark.django_db
def test_active_recently_means_within_the_last_fourteen_days() -> None:
    # Given
    moment = clock.now()
    recent, lapsed = member(), member()
    record(recent, ActivityKind.CHECK_IN, moment - timedelta(days=13, hours=23))
    record(lapsed, ActivityKind.CHECK_IN, moment - timedelta(days=14, hours=1))

    # When
    facts = facts_for([recent.pk, lapsed.pk], now=moment)

    # Then
    assert (facts[recent.pk].active_recently, facts[lapsed.pk].active_recently) == (True, False)


@pytest.mark.django_db
def test_a_merged_records_activity_counts_for_the_survivor() -> None:
    # Given
    moment = clock.now()
    source, target = member(), member()
    record(source, ActivityKind.PAY, _at(moment, 4))
    record(target, ActivityKind.PAY, _at(moment, 2))
    record(source, ActivityKind.MESSAGE, _at(moment, 1))
    record(target, ActivityKind.MESSAGE, _at(moment, 0))
    member_merge(source=source, target=target)

    # When
    facts = facts_for([target.pk], now=moment)

    # Then
    assert (facts[target.pk].paid_orders, facts[target.pk].active_weeks) == (2, 2)


@pytest.mark.django_db
def test_recompute_records_each_change_and_a_second_run_changes_nothing() -> None:
    # Given: a repeat buyer who posted (fan) and was active in 6 weeks (core)
    moment = clock.now()
    fan = member()
    record(fan, ActivityKind.PAY, _at(moment, 10))
    record(fan, ActivityKind.PAY, _at(moment, 9))
    for weeks_ago in range(6):
        record(fan, ActivityKind.MESSAGE, _at(moment, weeks_ago))
    record(fan, ActivityKind.POST, _at(moment, 0))
    buyer = member()
    record(buyer, ActivityKind.PAY, _at(moment, 1))
    idle = member()

    # When
    first = lifecycle_recompute([fan.pk, buyer.pk, idle.pk], now=moment)
    logged = Activity.objects.filter(kind__in=[ActivityKind.STAGE, ActivityKind.LEVEL]).count()
    second = lifecycle_recompute([fan.pk, buyer.pk, idle.pk], now=moment)

    # Then
    assert first == {"stage": 2, "level": 1}
    assert second == {"stage": 0, "level": 0}
    rows = {m.pk: (m.stage, m.level) for m in Member.objects.all()}
    assert rows[fan.pk] == (Stage.FAN, Level.CORE)
    assert rows[buyer.pk] == (Stage.CUSTOMER, Level.NOVICE)
    assert rows[idle.pk] == (Stage.NONE, Level.NOVICE)
    changes = {
        (a.member_id, a.kind): a.data
        for a in Activity.objects.filter(kind__in=[ActivityKind.STAGE, ActivityKind.LEVEL])
    }
    assert changes == {
        (fan.pk, ActivityKind.STAGE): {"from": "", "to": "fan"},
        (fan.pk, ActivityKind.LEVEL): {"from": "novice", "to": "core"},
        (buyer.pk, ActivityKind.STAGE): {"from": "", "to": "customer"},
    }
    assert logged == 3
    assert Activity.objects.filter(kind__in=[ActivityKind.STAGE, ActivityKind.LEVEL]).count() == 3


@pytest.mark.django_db
def test_recompute_moves_a_member_on_as_new_activity_arrives() -> None:
    # Given: a customer
    moment = clock.now()
    person = member()
    record(person, ActivityKind.PAY, _at(moment, 3))
    lifecycle_recompute([person.pk], now=moment)

    # When: a second purchase and a referral
    record(person, ActivityKind.PAY, _at(moment, 0))
    record(person, ActivityKind.REFERRAL, _at(moment, 0))
    lifecycle_recompute([person.pk], now=moment)

    # Then
    stages = [
        (a.data["from"], a.data["to"])
        for a in Activity.objects.filter(kind=ActivityKind.STAGE, member_id=person.pk).order_by(
            "pk"
        )
    ]
    assert stages == [("", "customer"), ("customer", "fan")]


@pytest.mark.django_db
def test_recompute_skips_closed_records() -> None:
    # Given
    moment = clock.now()
    gone = member()
    record(gone, ActivityKind.PAY, _at(moment, 1))
    member_anonymise(member=gone)

    # When
    changed = lifecycle_recompute([gone.pk], now=moment)

    # Then
    assert changed == {"stage": 0, "level": 0}
    assert Member.objects.get(pk=gone.pk).stage == Stage.NONE


@pytest.mark.django_db
def test_the_recompute_job_covers_every_open_member_and_is_safe_to_run_twice() -> None:
    # Given
    moment = clock.now()
    buyers = [member() for _ in range(3)]
    for buyer in buyers:
        record(buyer, ActivityKind.PAY, _at(moment, 1))

    # When
    first, second = recompute_all(), recompute_all()

    # Then
    assert first == "3 stage change(s), 0 level change(s)"
    assert second == "0 stage change(s), 0 level change(s)"
    assert set(Member.objects.values_list("stage", flat=True)) == {Stage.CUSTOMER}
