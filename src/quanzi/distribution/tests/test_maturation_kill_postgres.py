"""A maturation worker killed half-way (kill -9, a real process on PostgreSQL) loses and
duplicates nothing once the job runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Sum

from quanzi.communities.tests.factories import community
from quanzi.core.models import LedgerTransaction
from quanzi.distribution.jobs import mature_commissions
from quanzi.distribution.models import Commission, CommissionStatus
from quanzi.distribution.tests.factories import approved, payable, pending, percent
from quanzi.distribution.tests.kit import books_balanced, terms, visit
from quanzi.members.tests.factories import member
from quanzi.orders.services.checkout import LineIn, order_create
from quanzi.orders.services.fulfilment import order_confirm_receipt, order_ship
from quanzi.orders.tests.factories import ADDRESS, goods, pay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The worker: the real job, each ledger posting followed by a pause (inside the row's
# transaction) so that the kill lands in the middle of the batch, often mid-transaction.
WORKER = """
import os, sys, time

import django

django.setup()

from quanzi.distribution.services import commissions

real = commissions.ledger_post
pause = float(os.environ["QUANZI_TEST_MATURE_PAUSE"])


def slow(**kwargs):
    txn = real(**kwargs)
    time.sleep(pause)
    return txn


commissions.ledger_post = slow
print(commissions.commissions_mature_due(), flush=True)
"""


def _database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:"
        f"{s['PORT'] or 5432}/{s['NAME']}"
    )


def _matured() -> int:
    return Commission.objects.filter(status=CommissionStatus.MATURED).count()


def _mature_keys() -> dict[str, int]:
    return dict(
        LedgerTransaction.objects.filter(kind="commission.mature")
        .values("idempotency_key")
        .annotate(n=Count("pk"))
        .values_list("idempotency_key", "n")
    )


def test_a_worker_killed_half_way_through_maturation_loses_and_duplicates_nothing(
    frozen_clock: Any, tmp_path: Path
) -> None:
    # Given: 300 commissions, long due: 50 orders of three products through S (10 %), whom U
    # brought (3 % at level 2), all received 30 days ago
    now = frozen_clock()
    frozen_clock.set(now - timedelta(days=30))
    home = community()
    terms(home, second_level=True)
    upline, sharer = member(), member()
    approved(home, upline)
    approved(home, sharer)
    visit(home, upline, sharer)
    percent(home, 1_000)
    percent(home, 300, level=2)
    skus = [goods(home, stock=100, price_minor=price) for price in (3_333, 5_000, 8_800)]
    for _ in range(50):
        friend = member()
        visit(home, sharer, friend)
        placed = order_create(
            member=friend,
            community=home,
            lines=[LineIn(s.product_id, 1, s.pk) for s in skus],
            address=ADDRESS,
        )
        pay(placed)
        order_confirm_receipt(order=order_ship(order=placed, carrier="顺丰", tracking_no="SF1"))
    frozen_clock.set(now)
    commissions = Commission.objects.filter(community=home)
    assert commissions.count() == 300
    assert _matured() == 0
    owed = dict(
        commissions.values("beneficiary_id")
        .annotate(s=Sum("amount_minor"))
        .values_list("beneficiary_id", "s")
    )
    assert (pending(home, sharer), pending(home, upline)) == (owed[sharer.pk], owed[upline.pk])

    # When: a real worker process runs the job and is killed with SIGKILL part-way
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "quanzi.settings",
            "DATABASE_URL": _database_url(),
            "QUANZI_HOME": os.environ.get("QUANZI_HOME") or str(tmp_path),
            "QUANZI_TEST_MATURE_PAUSE": "0.03",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _matured() < 25 and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert worker.poll() is None, worker.communicate()
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            worker.kill()
        _out, err = worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL, err.decode()[-2_000:]

    # Then: it stopped half-way, and what it did is whole: a commission is matured exactly
    # when its maturity was posted (a transaction cut by the kill left nothing)
    after_kill = _matured()
    assert 25 <= after_kill < 300
    keys = _mature_keys()
    for pk, status in commissions.values_list("pk", "status"):
        assert (status == CommissionStatus.MATURED) == (f"commission:{pk}:mature" in keys), pk
    books_balanced()

    # When: the job runs again, in this process
    assert mature_commissions() == f"{300 - after_kill} commission(s) matured"

    # Then: every commission matured exactly once, and the balances are exactly the amounts
    assert _matured() == 300
    keys = _mature_keys()
    assert keys == {f"commission:{pk}:mature": 1 for pk in commissions.values_list("pk", flat=True)}
    assert (pending(home, sharer), pending(home, upline)) == (0, 0)
    assert (payable(home, sharer), payable(home, upline)) == (owed[sharer.pk], owed[upline.pk])
    assert mature_commissions() == "0 commission(s) matured"
    books_balanced()
