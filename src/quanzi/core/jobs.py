"""Scheduled jobs of the core primitives."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from quanzi.core import clock, selectors
from quanzi.core.models import IdempotencyRecord
from quanzi.core.scheduling import job


@job("core.ledger_verify", every=timedelta(hours=24))
def ledger_verify() -> str:
    """Check that every cached balance equals the sum of its entries and every transaction is zero."""
    drift = selectors.ledger_drift()
    unbalanced = selectors.ledger_unbalanced_transactions()
    if drift or unbalanced:
        details = "; ".join(f"{d.code}: cached {d.cached}, entries {d.derived}" for d in drift[:20])
        raise RuntimeError(
            f"ledger inconsistent: {len(drift)} drifted account(s), "
            f"{len(unbalanced)} unbalanced transaction(s). {details}"
        )
    return "ledger consistent"


@job("core.idempotency_purge", every=timedelta(hours=1))
def idempotency_purge() -> str:
    """Forget idempotency records older than QUANZI_IDEMPOTENCY_TTL_HOURS."""
    cutoff = clock.now() - timedelta(hours=settings.QUANZI_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return f"purged {deleted} record(s)"
