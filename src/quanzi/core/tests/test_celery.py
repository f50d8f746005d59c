"""Celery runs the same jobs through the same slot claim, against a real Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from quanzi.core import scheduling
from quanzi.core.models import JobRun, JobStatus

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    # celery's Redis result backend calls a method redis-py deprecated; not ours to fix.
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]


@pytest.fixture
def celery_worker(redis_url: str) -> Iterator[Any]:
    """quanzi.taskqueue.app pointed at the test Redis, with an in-process worker."""
    import redis
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from quanzi.taskqueue import app

    redis.Redis.from_url(redis_url).flushdb()
    saved = {key: app.conf.get(key) for key in ("broker_url", "result_backend")}
    app.conf.update(broker_url=redis_url, result_backend=redis_url)

    def close_db(**_: Any) -> None:
        # The worker thread's connection would otherwise outlive the test's database.
        connection.close()

    task_postrun.connect(close_db, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield app
    finally:
        task_postrun.disconnect(close_db)
        app.conf.update(saved)
        redis.Redis.from_url(redis_url).flushdb()


def test_a_job_sent_through_celery_runs_once_and_is_recorded(
    celery_worker: Any, job_registry: Any
) -> None:
    # Given a registered job that counts its runs
    runs: list[str] = []
    lock = threading.Lock()

    def count() -> str:
        with lock:
            runs.append("ran")
        return f"ran {len(runs)}"

    scheduling.job("test.celery", every=timedelta(hours=1))(count)

    # When beat sends it, and sends it again within the same slot
    first = celery_worker.send_task("quanzi.run_job", args=("test.celery",)).get(timeout=20)
    second = celery_worker.send_task("quanzi.run_job", args=("test.celery",)).get(timeout=20)

    # Then it ran once, and the run is recorded as done
    assert first == {"job": "test.celery", "status": "done", "result": "ran 1"}
    assert second is None
    assert runs == ["ran"]
    stored = JobRun.objects.get(job="test.celery")
    assert (stored.status, stored.attempts, stored.result) == (JobStatus.DONE, 1, "ran 1")


def test_a_manual_run_through_celery_gets_its_own_slot(
    celery_worker: Any, job_registry: Any
) -> None:
    runs: list[str] = []
    scheduling.job("test.celery_manual", every=timedelta(hours=1))(lambda: runs.append("x"))

    scheduled = celery_worker.send_task("quanzi.run_job", args=("test.celery_manual",))
    manual = celery_worker.send_task("quanzi.run_job", args=("test.celery_manual", True))

    assert scheduled.get(timeout=20)["status"] == "done"
    assert manual.get(timeout=20)["status"] == "done"
    assert runs == ["x", "x"]
    assert JobRun.objects.filter(job="test.celery_manual", status=JobStatus.DONE).count() == 2
