"""Stages and levels follow the events that move them, without waiting for the job."""

from __future__ import annotations

from typing import Any

import pytest

from quanzi.communities.models import Tier
from quanzi.communities.services.joining import group_join, group_leave
from quanzi.communities.services.setup import kol_seat_assign, kol_seat_release
from quanzi.communities.tests.factories import community, group, member, paid, plan
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import Level, Stage

pytestmark = pytest.mark.django_db


def test_a_first_payment_makes_a_customer_once_the_transaction_commits(
    clock_at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given
    home = community()
    annual = plan(home)
    person = member()
    assert person.stage == Stage.NONE

    # When
    with django_capture_on_commit_callbacks(execute=True):
        paid(person, annual, at=clock_at())

    # Then
    person.refresh_from_db()
    assert person.stage == Stage.CUSTOMER
    change = Activity.objects.get(kind=ActivityKind.STAGE, member_id=person.pk)
    assert change.data == {"from": "", "to": "customer"}


def test_a_kol_seat_and_a_core_group_move_the_level_and_back(
    clock_at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given
    home = community()
    core = group(home, name="Core fans", tier=Tier.CORE)
    person = member()

    # When: seated in the core group
    with django_capture_on_commit_callbacks(execute=True):
        group_join(group=core, member=person, check_gate=False, now=clock_at())
    person.refresh_from_db()
    # Then
    assert person.level == Level.CORE

    # When: given a KOL seat, then it is released and they leave
    with django_capture_on_commit_callbacks(execute=True):
        seat = kol_seat_assign(group=core, member=person)
    person.refresh_from_db()
    assert person.level == Level.KOL
    with django_capture_on_commit_callbacks(execute=True):
        kol_seat_release(seat=seat)
        group_leave(group=core, member=person, now=clock_at())
    person.refresh_from_db()
    assert person.level == Level.NOVICE


def test_nothing_is_recomputed_when_the_transaction_rolls_back(
    clock_at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given
    home = community()
    annual = plan(home)
    person = member()

    # When: the payment is captured but its transaction's callbacks are not run
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        paid(person, annual, at=clock_at())

    # Then: a recompute was scheduled, and nothing changed before commit
    assert len(callbacks) >= 1
    person.refresh_from_db()
    assert person.stage == Stage.NONE
