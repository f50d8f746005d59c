from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from quanzi.core import clock


def _now() -> datetime:
    """``clock.now`` looked up when called, so a test's frozen clock stamps the record too."""
    return clock.now()


class IdempotencyRecord(models.Model):
    """The first response to a write carrying an ``Idempotency-Key``, replayed on retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    request_hash = models.CharField(max_length=64)
    # Null while the first request is still being handled.
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    # Stamped by the clock its expiry is measured against (``idempotency_begin``).
    created_at = models.DateTimeField(default=_now, db_index=True)
    completed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
