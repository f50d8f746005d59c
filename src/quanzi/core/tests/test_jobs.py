"""Scheduled jobs: each slot runs once, failures retry, silent runs are taken over."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from quanzi.core import scheduling
from quanzi.core.errors import NotFound
from quanzi.core.models import IdempotencyRecord, JobRun, JobStatus, LedgerAccount
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.core.tests.factories import account

T = datetime(2026, 1, 5, 10, 37, 12, tzinfo=UTC)
HOUR = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_the_core_jobs_are_registered_with_their_schedules() -> None:
    jobs = {job.name: job for job in scheduling.registered()}

    assert jobs["core.ledger_verify"].every == timedelta(hours=24)
    assert jobs["core.idempotency_purge"].every == timedelta(hours=1)
    assert jobs["core.idempotency_purge"].description == (
        "Forget idempotency records older than QUANZI_IDEMPOTENCY_TTL_HOURS."
    )
    names = [job.name for job in scheduling.registered()]
    assert names == sorted(names)


def test_an_unknown_job_is_not_found_and_names_the_known_ones() -> None:
    with pytest.raises(NotFound) as refused:
        scheduling.get("core.nope")

    assert refused.value.message.startswith("No job named 'core.nope'; known jobs: ")
    assert "core.ledger_verify" in refused.value.message


def test_a_job_may_not_run_more_often_than_every_ten_seconds(job_registry) -> None:
    before = dict(job_registry)

    with pytest.raises(ValueError, match="at most every 10 seconds"):
        scheduling.job("test.too_often", every=timedelta(seconds=5))

    assert job_registry == before


def test_a_slot_is_the_start_of_the_interval_a_moment_falls_in(counting_job) -> None:
    counting_job("test.hourly", every=timedelta(hours=1))
    counting_job("test.quarter", every=timedelta(minutes=15))

    assert scheduling.get("test.hourly").slot(T) == HOUR
    assert scheduling.get("test.quarter").slot(T) == datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    assert scheduling.get("test.hourly").lease == timedelta(hours=1)
    assert scheduling.get("test.quarter").lease == timedelta(minutes=15)


@pytest.mark.django_db
def test_the_same_slot_runs_once(counting_job) -> None:
    # Given
    counter = counting_job()

    # When
    first = scheduling.job_run("test.count", now=T)
    second = scheduling.job_run("test.count", now=T + timedelta(minutes=10))

    # Then
    assert counter.runs == 1
    assert second is None
    assert first is not None
    assert (first.slot, first.status, first.attempts, first.result, first.error) == (
        HOUR,
        JobStatus.DONE,
        1,
        "ran 1",
        "",
    )
    assert first.finished_at is not None
    assert JobRun.objects.filter(job="test.count").count() == 1


@pytest.mark.django_db
def test_the_next_slot_runs_again(counting_job) -> None:
    counter = counting_job()

    scheduling.job_run("test.count", now=T)
    later = scheduling.job_run("test.count", now=T + timedelta(hours=1))

    assert counter.runs == 2
    assert later is not None
    assert later.slot == HOUR + timedelta(hours=1)
    assert list(
        JobRun.objects.filter(job="test.count").order_by("slot").values_list("slot", flat=True)
    ) == [
        HOUR,
        HOUR + timedelta(hours=1),
    ]


@pytest.mark.django_db
def test_a_failed_run_is_retried_in_the_same_slot_up_to_three_attempts(counting_job) -> None:
    # Given a job that always fails
    counter = counting_job()
    counter.fail = True

    # When the worker ticks five times within the slot
    runs = [scheduling.job_run("test.count", now=T + timedelta(minutes=i)) for i in range(5)]

    # Then it ran three times and then gave up on this slot
    assert counter.runs == 3
    assert [(r.status, r.attempts) for r in runs[:3] if r is not None] == [
        (JobStatus.FAILED, 1),
        (JobStatus.FAILED, 2),
        (JobStatus.FAILED, 3),
    ]
    assert runs[3:] == [None, None]
    stored = JobRun.objects.get(job="test.count")
    assert (stored.status, stored.attempts) == (JobStatus.FAILED, 3)
    assert "RuntimeError: boom on run 3" in stored.error


@pytest.mark.django_db
def test_a_retry_that_succeeds_clears_the_error(counting_job) -> None:
    counter = counting_job()
    counter.fail = True
    failed = scheduling.job_run("test.count", now=T)
    assert failed is not None
    assert failed.status == JobStatus.FAILED

    counter.fail = False
    retried = scheduling.job_run("test.count", now=T + timedelta(minutes=1))

    assert retried is not None
    assert (retried.status, retried.attempts, retried.result, retried.error) == (
        JobStatus.DONE,
        2,
        "ran 2",
        "",
    )


@pytest.mark.django_db
def test_a_run_that_went_silent_is_taken_over_and_a_live_one_is_not(counting_job) -> None:
    # Given a daily job (its lease is an hour) whose run of today started and never reported back
    counter = counting_job("test.daily", every=timedelta(days=1))
    day = datetime(2026, 1, 5, tzinfo=UTC)
    started = day + timedelta(hours=2)
    JobRun.objects.create(
        job="test.daily", slot=day, status=JobStatus.STARTED, started_at=started, worker="dead:1"
    )

    # When a worker comes by while the lease still holds, it leaves the run alone
    assert scheduling.job_run("test.daily", now=started + timedelta(minutes=59)) is None
    assert counter.runs == 0

    # When the lease has run out, it takes the run over
    taken = scheduling.job_run("test.daily", now=started + timedelta(minutes=61))

    # Then
    assert counter.runs == 1
    assert taken is not None
    assert (taken.slot, taken.status, taken.attempts, taken.started_at) == (
        day,
        JobStatus.DONE,
        2,
        started + timedelta(minutes=61),
    )
    assert taken.worker != "dead:1"
    assert JobRun.objects.filter(job="test.daily").count() == 1


@pytest.mark.django_db
def test_a_done_run_is_never_taken_over(counting_job) -> None:
    counter = counting_job()
    scheduling.job_run("test.count", now=HOUR)

    assert scheduling.job_run("test.count", now=HOUR + timedelta(minutes=59, seconds=59)) is None
    assert counter.runs == 1


@pytest.mark.django_db
def test_manual_runs_get_their_own_slot_and_leave_the_schedule_alone(counting_job) -> None:
    counter = counting_job()

    manual_1 = scheduling.job_run("test.count", now=T, manual=True)
    manual_2 = scheduling.job_run("test.count", now=T + timedelta(seconds=1), manual=True)
    scheduled = scheduling.job_run("test.count", now=T)

    assert counter.runs == 3
    assert [r.slot for r in (manual_1, manual_2, scheduled) if r is not None] == [
        T,
        T + timedelta(seconds=1),
        HOUR,
    ]


@pytest.mark.django_db
def test_run_due_runs_each_due_job_once_per_slot(job_registry, counting_job) -> None:
    # Given only two test jobs
    job_registry.clear()
    hourly = counting_job("test.hourly", every=timedelta(hours=1))
    daily = counting_job("test.daily", every=timedelta(days=1))

    # When the worker ticks twice in the same hour, then once in the next
    first = scheduling.run_due(now=T)
    second = scheduling.run_due(now=T + timedelta(minutes=5))
    third = scheduling.run_due(now=T + timedelta(hours=1))

    # Then
    assert sorted(r.job for r in first) == ["test.daily", "test.hourly"]
    assert second == []
    assert [r.job for r in third] == ["test.hourly"]
    assert (hourly.runs, daily.runs) == (2, 1)


@pytest.mark.django_db
def test_the_api_runs_a_job_now_and_answers_how_it_went(api: Any, counting_job) -> None:
    counter = counting_job()

    response = api.post("/api/v1/jobs/test.count/actions/run")
    unknown = api.post("/api/v1/jobs/test.nope/actions/run")

    assert response.status_code == 200
    body = response.json()
    assert (body["job"], body["status"], body["attempts"], body["result"]) == (
        "test.count",
        "done",
        1,
        "ran 1",
    )
    assert counter.runs == 1
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    listed = {j["name"]: j for j in api.get("/api/v1/jobs").json()}
    assert (listed["test.count"]["last_status"], listed["test.count"]["last_result"]) == (
        "done",
        "ran 1",
    )


@pytest.mark.django_db
def test_idempotency_purge_forgets_only_old_records(operator: Any, settings: Any) -> None:
    # Given one record past its lifetime and one within it
    ttl = timedelta(hours=settings.QUANZI_IDEMPOTENCY_TTL_HOURS)
    old = IdempotencyRecord.objects.create(
        user=operator, key="old", method="POST", path="/x", request_hash="a"
    )
    fresh = IdempotencyRecord.objects.create(
        user=operator, key="fresh", method="POST", path="/x", request_hash="b"
    )
    now = datetime.now(UTC)
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=now - ttl - timedelta(minutes=1))
    IdempotencyRecord.objects.filter(pk=fresh.pk).update(
        created_at=now - ttl + timedelta(minutes=5)
    )

    # When
    run = scheduling.job_run("core.idempotency_purge", manual=True)

    # Then
    assert run is not None
    assert (run.status, run.result) == (JobStatus.DONE, "purged 1 record(s)")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db
def test_ledger_verify_passes_on_consistent_books_and_fails_naming_a_corrupted_account() -> None:
    # Given consistent books
    a, b = account("a"), account("wallet", allow_negative=False)
    ledger_post(legs=[Leg(account=a, amount=-5), Leg(account=b, amount=5)], kind="t")
    clean = scheduling.job_run("core.ledger_verify", now=T, manual=True)
    assert clean is not None
    assert (clean.status, clean.result, clean.error) == (JobStatus.DONE, "ledger consistent", "")

    # When a cached balance is corrupted behind the service's back
    LedgerAccount.objects.filter(pk=b.pk).update(balance=7)
    run = scheduling.job_run("core.ledger_verify", now=T + timedelta(seconds=1), manual=True)

    # Then
    assert run is not None
    assert run.status == JobStatus.FAILED
    assert "ledger inconsistent: 1 drifted account(s), 0 unbalanced transaction(s)." in run.error
    assert f"{b.code}: cached 7, entries 5" in run.error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_slot_run_it_once(job_registry) -> None:
    # Given a job that takes a moment, and two workers about to start it together
    runs: list[str] = []
    lock = threading.Lock()

    def slow() -> str:
        with lock:
            runs.append(threading.current_thread().name)
        time.sleep(0.3)
        return "slow done"

    scheduling.job("test.slow", every=timedelta(hours=1))(slow)
    barrier = threading.Barrier(2)
    outcomes: list[JobRun | None] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            outcome = scheduling.job_run("test.slow", now=T)
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    # When
    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then
    assert len(runs) == 1
    assert len(outcomes) == 2
    assert sum(outcome is not None for outcome in outcomes) == 1
    stored = JobRun.objects.get(job="test.slow")
    assert (stored.status, stored.attempts, stored.result) == (JobStatus.DONE, 1, "slow done")
