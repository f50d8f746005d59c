from __future__ import annotations

from datetime import timedelta

from quanzi.core.scheduling import job
from quanzi.members.lifecycle import lifecycle_recompute
from quanzi.members.models import Member

BATCH = 2_000


@job("members.lifecycle_recompute", every=timedelta(hours=6))
def recompute_all() -> str:
    """Recompute every member's lifecycle stage and growth level from the activity log."""
    totals = {"stage": 0, "level": 0}
    last = 0
    while True:
        ids = list(
            Member.objects.filter(pk__gt=last, merged_into__isnull=True, anonymised_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            break
        changed = lifecycle_recompute(ids)
        totals["stage"] += changed["stage"]
        totals["level"] += changed["level"]
        last = ids[-1]
    return f"{totals['stage']} stage change(s), {totals['level']} level change(s)"
