"""The job registry and the claim that makes each scheduled run happen once.

A job is a plain function registered with a schedule. Each run belongs to a slot (the start of
its interval); the worker that inserts the unique (job, slot) ``JobRun`` row runs it. The same
functions run under the embedded ``quanzi worker`` or under Celery beat, and both go through
``job_run`` so that they never run one slot twice, even side by side.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import NotFound
from quanzi.core.models import JobRun, JobStatus

log = logging.getLogger(__name__)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    func: Callable[[], object]
    every: timedelta
    description: str

    def slot(self, moment: datetime) -> datetime:
        step = int(self.every.total_seconds())
        elapsed = int((moment - EPOCH).total_seconds())
        return EPOCH + timedelta(seconds=elapsed - elapsed % step)

    @property
    def lease(self) -> timedelta:
        """How long a STARTED run may go silent before another worker takes it over."""
        return min(self.every, timedelta(hours=1))


_REGISTRY: dict[str, Job] = {}


def job(name: str, *, every: timedelta) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register ``func`` to run once per ``every``. It must be safe to run twice."""
    if every < timedelta(seconds=10):
        raise ValueError("jobs run at most every 10 seconds")

    def register(func: Callable[[], object]) -> Callable[[], object]:
        doc = (func.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Job(name, func, every, doc[0] if doc else "")
        return func

    return register


def registered() -> list[Job]:
    return sorted(_REGISTRY.values(), key=lambda j: j.name)


def get(name: str) -> Job:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise NotFound(
            _("No job named %(name)r; known jobs: %(known)s.") % {"name": name, "known": known},
            field="job",
        ) from None


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(job: Job, slot: datetime, moment: datetime) -> JobRun | None:
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                job=job.name,
                slot=slot,
                status=JobStatus.STARTED,
                started_at=moment,
                worker=_worker_name(),
            )
    except IntegrityError:
        pass
    # Someone has this slot. Take it over only if their run failed or went silent; the
    # conditional update lets exactly one contender win.
    stale = Q(status=JobStatus.STARTED, started_at__lt=moment - job.lease)
    taken = (
        JobRun.objects.filter(job=job.name, slot=slot, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(status=JobStatus.FAILED) | stale)
        .update(
            status=JobStatus.STARTED,
            started_at=moment,
            worker=_worker_name(),
            attempts=F("attempts") + 1,
        )
    )
    if not taken:
        return None
    return JobRun.objects.get(job=job.name, slot=slot)


def job_run(name: str, *, now: datetime | None = None, manual: bool = False) -> JobRun | None:
    """Run ``name`` for the slot ``now`` falls in, unless that slot already ran.

    ``manual`` runs it in a slot of its own (the exact moment), for an operator's "run now".
    Returns the run, or None when another worker has the slot.
    """
    job = get(name)
    moment = now or clock.now()
    slot = moment if manual else job.slot(moment)
    run = _claim(job, slot, moment)
    if run is None:
        return None
    try:
        result = job.func()
    except Exception:
        log.exception("job %s failed", job.name)
        JobRun.objects.filter(pk=run.pk).update(
            status=JobStatus.FAILED, finished_at=clock.now(), error=traceback.format_exc()[-4000:]
        )
    else:
        JobRun.objects.filter(pk=run.pk).update(
            status=JobStatus.DONE,
            finished_at=clock.now(),
            result="" if result is None else str(result)[:2000],
            error="",
        )
    run.refresh_from_db()
    return run


def run_due(*, now: datetime | None = None) -> list[JobRun]:
    """One tick of the embedded worker: every job whose current slot has not run yet."""
    moment = now or clock.now()
    runs = []
    for job in registered():
        run = job_run(job.name, now=moment)
        if run is not None:
            runs.append(run)
    return runs
