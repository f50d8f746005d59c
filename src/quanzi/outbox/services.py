"""Queueing messages to members, respecting their choices."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import ApplicationError, Conflict
from quanzi.members.models import Member
from quanzi.outbox.models import OutboxMessage, OutboxStatus, Purpose


def _in_quiet_hours(moment: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # across midnight, 22:00-08:00


def quiet_hours_release(member: Member, moment: datetime) -> datetime:
    """The first moment at or after ``moment`` outside the member's quiet hours."""
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    if not _in_quiet_hours(local.time(), member.quiet_start, member.quiet_end):
        return moment
    release = local.replace(
        hour=member.quiet_end.hour, minute=member.quiet_end.minute, second=0, microsecond=0
    )
    if release <= local:
        release += timedelta(days=1)
    return release


def outbox_enqueue(
    *,
    member: Member,
    template: str,
    body: str,
    purpose: str,
    dedupe_key: str,
    community_id: int | None = None,
    group_id: int | None = None,
) -> OutboxMessage:
    """Queue a message in the caller's transaction; queuing the same key again returns the first.

    Marketing to a member who opted out, or whose record is closed, is kept as ``suppressed``
    with the reason, so the operator sees why nothing went out.
    """
    if purpose not in Purpose.values:
        raise ApplicationError(
            _("Unknown message purpose %(purpose)r.") % {"purpose": purpose}, field="purpose"
        )
    if not body.strip():
        raise ApplicationError(_("A message needs a body."), field="body")
    now = clock.now()
    status, reason = OutboxStatus.QUEUED, ""
    if member.anonymised_at or member.merged_into_id:
        status, reason = OutboxStatus.SUPPRESSED, "member record closed"
    elif purpose == Purpose.MARKETING and member.marketing_opt_out:
        status, reason = OutboxStatus.SUPPRESSED, "member opted out of marketing"
    try:
        with transaction.atomic():
            return OutboxMessage.objects.create(
                member=member,
                community_id=community_id,
                group_id=group_id,
                purpose=purpose,
                template=template,
                body=body,
                dedupe_key=dedupe_key,
                not_before=quiet_hours_release(member, now),
                status=status,
                reason=reason,
            )
    except IntegrityError:
        existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return existing


def outbox_mark_sent(*, message: OutboxMessage) -> OutboxMessage:
    """The operator copied the message out (or a channel delivered it)."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        if message.status == OutboxStatus.SENT:
            return message
        if message.status != OutboxStatus.QUEUED:
            raise Conflict(
                _("A %(status)s message cannot be sent.") % {"status": message.status},
                field="status",
            )
        message.status = OutboxStatus.SENT
        message.sent_at = clock.now()
        message.save(update_fields=["status", "sent_at"])
        return message
