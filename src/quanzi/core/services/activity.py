from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.money import Money


def activity_record(
    *,
    kind: str,
    occurred_at: datetime | None = None,
    member_id: int | None = None,
    target_member_id: int | None = None,
    community_id: int | None = None,
    group_id: int | None = None,
    channel: str = "",
    content: str = "",
    amount: Money | None = None,
    actor_id: int | None = None,
    source: str = "",
    object_type: str = "",
    object_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> Activity:
    """Append one fact to the activity log. Call it inside the transaction that made the fact."""
    if kind not in ActivityKind.values:
        raise ApplicationError(_("Unknown activity kind %(kind)r.") % {"kind": kind}, field="kind")
    moment = occurred_at or clock.now()
    if timezone.is_naive(moment):
        # Comparing it with "now" would crash, and storing it would guess a zone silently.
        raise ApplicationError(
            _("The time needs a time zone, like 2024-05-01T10:00:00+08:00."), field="occurred_at"
        )
    # A few minutes of clock skew between an integrator and us is normal; hours are a mistake.
    if moment > clock.now() + timedelta(minutes=5):
        raise ApplicationError(_("An activity cannot happen in the future."), field="occurred_at")
    # No savepoint: inside a caller's transaction (the usual case) a failed insert rolls the
    # caller back anyway, and a savepoint would cost two statements on every fact.
    with transaction.atomic(savepoint=False):
        return Activity.objects.create(
            kind=kind,
            occurred_at=moment,
            member_id=member_id,
            target_member_id=target_member_id,
            community_id=community_id,
            group_id=group_id,
            channel=channel,
            content=content,
            amount_minor=amount.minor if amount is not None else None,
            currency=amount.currency if amount is not None else "",
            actor_id=actor_id,
            source=source,
            object_type=object_type,
            object_id=str(object_id),
            data=data or {},
        )
