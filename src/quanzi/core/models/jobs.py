from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    STARTED = "started", _("Started")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class JobRun(models.Model):
    """One run of a scheduled job for one slot of its schedule.

    The unique (job, slot) row is the claim: whichever worker inserts it runs the job, so two
    embedded workers, or an embedded worker and Celery beat, never run the same slot twice.
    """

    job = models.CharField(max_length=100)
    slot = models.DateTimeField()
    status = models.CharField(max_length=16, choices=JobStatus.choices)
    attempts = models.PositiveIntegerField(default=1)
    worker = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="job_run_slot")]
        indexes = [models.Index(fields=["job", "-slot"], name="job_run_latest")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M} ({self.status})"
