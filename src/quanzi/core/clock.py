"""The one place that says what time it is, so tests and jobs can agree on "now"."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
