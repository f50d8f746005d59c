"""Celery: the scale-out way to run the same jobs the embedded worker runs.

    QUANZI_BROKER_URL=redis://127.0.0.1:6379/0 celery -A quanzi.taskqueue worker --beat

Beat sends ``quanzi.run_job`` for each registered job on its schedule; the task goes through the
same slot claim as the embedded worker, so running both never runs a slot twice.
"""

from __future__ import annotations

import os

import django
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanzi.settings")
django.setup()

from quanzi.core import scheduling  # noqa: E402  (needs the app registry)

app = Celery("quanzi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {
    job.name: {"task": "quanzi.run_job", "schedule": job.every.total_seconds(), "args": (job.name,)}
    for job in scheduling.registered()
}


@app.task(name="quanzi.run_job")
def run_job(name: str, manual: bool = False) -> dict[str, str] | None:
    run = scheduling.job_run(name, manual=manual)
    if run is None:
        return None
    return {"job": run.job, "status": run.status, "result": run.result}
