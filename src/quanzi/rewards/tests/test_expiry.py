"""The expiry job takes what is left of each grant past its expiry, once, however often it runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from quanzi.core.models import LedgerAccount, LedgerTransaction
from quanzi.core.scheduling import job_run
from quanzi.rewards.jobs import expire_crystals
from quanzi.rewards.models import CrystalGrant
from quanzi.rewards.selectors import crystal_balance
from quanzi.rewards.services.expiry import crystals_expire
from quanzi.rewards.services.redemptions import crystal_reward_create, redemption_place
from quanzi.rewards.services.rules import reward_settings_update
from quanzi.rewards.tests.factories import (
    award,
    books_balanced,
    circle,
    grants_match_wallet,
    member,
)

pytestmark = pytest.mark.django_db


def test_expired_crystals_leave_the_wallet_once_when_the_job_runs_twice(frozen_clock: Any) -> None:
    # Given: 100 crystals that keep 30 days, 40 of them spent
    home, who = circle(), member()
    reward_settings_update(community=home, daily_cap=0, weekly_cap=0, expiry_days=30)
    grant = award(home, who, 100)
    reward = crystal_reward_create(community=home, name="贴纸", kind="perk", cost=40)
    redemption_place(reward=reward, member=who)

    # When: a day before the expiry, nothing goes
    frozen_clock.advance(timedelta(days=29))
    assert expire_crystals() == "0 grants expired"
    assert crystal_balance(home, who) == 60

    # When: at the expiry, the job runs twice
    frozen_clock.advance(timedelta(days=1))
    assert expire_crystals() == "1 grants expired"
    posted = LedgerTransaction.objects.count()
    assert expire_crystals() == "0 grants expired"

    # Then: the 60 unspent are gone, once
    grant.refresh_from_db()
    assert (grant.remaining, grant.expired, grant.amount) == (0, 60, 100)
    assert crystal_balance(home, who) == 0
    assert LedgerAccount.objects.get(code=f"crystals:{home.pk}:expired").balance == 60
    assert LedgerTransaction.objects.count() == posted
    grants_match_wallet(home, who)
    books_balanced()


def test_the_job_works_through_every_due_grant_in_batches(frozen_clock: Any) -> None:
    home, people = circle(), [member() for _ in range(3)]
    reward_settings_update(community=home, daily_cap=0, weekly_cap=0, expiry_days=1)
    for who in people:
        award(home, who, 10)
        award(home, who, 20)
    keep = award(home, people[0], 5)
    CrystalGrant.objects.filter(pk=keep.pk).update(expires_at=None)
    frozen_clock.advance(timedelta(days=1))

    assert crystals_expire(batch=2) == 6

    assert [crystal_balance(home, who) for who in people] == [5, 0, 0]
    assert not CrystalGrant.objects.filter(remaining__gt=0).exclude(pk=keep.pk).exists()
    books_balanced()


def test_the_job_is_registered_to_run_every_hour(frozen_clock: Any) -> None:
    home, who = circle(), member()
    reward_settings_update(community=home, daily_cap=0, weekly_cap=0, expiry_days=1)
    award(home, who, 10)
    frozen_clock.advance(timedelta(days=2))

    run = job_run("rewards.expire_crystals", now=frozen_clock())

    assert run is not None
    assert (run.status, run.result) == ("done", "1 grants expired")
    assert crystal_balance(home, who) == 0
