"""``quanzi worker``: the embedded scheduler. Celery beat is the scale-out alternative."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from django.db import close_old_connections

from quanzi.core import scheduling
from quanzi.core.models import JobRun, JobStatus

log = logging.getLogger("quanzi.worker")


def _report(run: JobRun) -> None:
    line = f"{run.job}: {run.status}"
    if run.result:
        line += f" - {run.result}"
    if run.status == JobStatus.FAILED:
        line += f" - {run.error.strip().splitlines()[-1] if run.error.strip() else 'failed'}"
    log.info(line)


def run_one(name: str) -> bool:
    run = scheduling.job_run(name, manual=True)
    if run is None:
        click.echo(f"{name}: already running elsewhere", err=True)
        return False
    click.echo(f"{run.job}: {run.status}" + (f" - {run.result}" if run.result else ""))
    if run.status == JobStatus.FAILED:
        click.echo(run.error.strip().splitlines()[-1], err=True)
    return run.status == JobStatus.DONE


def run_forever(*, tick: int, once: bool) -> None:
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    names = ", ".join(job.name for job in scheduling.registered())
    log.info("worker started; jobs: %s", names or "none")
    while not stop.is_set():
        close_old_connections()
        try:
            for run in scheduling.run_due():
                _report(run)
        except Exception:
            # A database hiccup must not kill the scheduler; the next tick tries again.
            log.exception("worker tick failed")
        if once:
            break
        stop.wait(tick)
    log.info("worker stopped")
