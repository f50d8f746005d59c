"""Distributors: a member applies for a role, an operator approves, rejects or suspends.

Anyone in the circle may apply: the right to earn is never unlocked by buying a product or a
membership (DESIGN.md, Rules that protect people), so no purchase is asked for here. Every
decision records who made it and why, in the row and in the activity log.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.communities.models import Community, Group
from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.distribution.models import Distributor, DistributorRole, DistributorStatus
from quanzi.distribution.services.errors import DistributionError
from quanzi.members.models import Member

S = DistributorStatus


def _text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DistributionError(_("Say why (1-%(n)s characters).") % {"n": limit}, field=field)
    if len(value) > limit:
        raise DistributionError(_("At most %(n)s characters.") % {"n": limit}, field=field)
    return value


def _record(distributor: Distributor, action: str, actor_id: int | None, reason: str = "") -> None:
    activity_record(
        kind=ActivityKind.OPERATOR if actor_id else ActivityKind.MEMBER,
        member_id=distributor.member_id,
        community_id=distributor.community_id,
        actor_id=actor_id,
        object_type="distributor",
        object_id=distributor.pk,
        data={"action": action, "role": distributor.role, "reason": reason},
    )


def distributor_apply(
    *,
    community: Community,
    member: Member,
    role: str,
    application: str = "",
    group: Group | None = None,
    pickup_point: str = "",
) -> Distributor:
    """Apply for ``role`` in ``community``. A rejected member may apply again; one row per
    role, so the history of decisions stays in the activity log."""
    if role not in DistributorRole.values:
        raise DistributionError(
            _("A role is one of %(roles)s.") % {"roles": ", ".join(DistributorRole.values)},
            field="role",
        )
    if community.archived_at:
        raise Conflict(_("This community is archived."), field="community")
    if not member.is_active_record:
        raise Conflict(_("This member record is closed."), field="member")
    if group is not None and group.community_id != community.pk:
        raise DistributionError(_("The group belongs to another community."), field="group")
    if role != DistributorRole.GROUP_LEADER and (group is not None or pickup_point):
        raise DistributionError(
            _("Only a group leader leads a group or keeps a pick-up point."), field="group"
        )
    application = _text(application, "application", 500)
    pickup_point = _text(pickup_point, "pickup_point", 200)
    moment = clock.now()
    with transaction.atomic():
        existing = (
            Distributor.objects.select_for_update()
            .filter(community=community, member=member, role=role)
            .first()
        )
        if existing is not None:
            if existing.status != S.REJECTED:
                raise Conflict(
                    _("This member is already %(status)s for this role.")
                    % {"status": existing.get_status_display()},
                    field="role",
                )
            existing.status = S.APPLIED
            existing.application = application
            existing.group = group
            existing.pickup_point = pickup_point
            existing.applied_at = moment
            existing.reason = ""
            existing.save()
            _record(existing, "applied_again", None)
            return existing
        try:
            with transaction.atomic():
                distributor = Distributor.objects.create(
                    community=community,
                    member=member,
                    role=role,
                    application=application,
                    group=group,
                    pickup_point=pickup_point,
                    applied_at=moment,
                )
        except IntegrityError:
            raise Conflict(_("This application was just made."), field="role") from None
        _record(distributor, "applied", None)
        return distributor


_MOVES = {
    "approve": ((S.APPLIED, S.SUSPENDED), S.APPROVED),
    "reject": ((S.APPLIED,), S.REJECTED),
    "suspend": ((S.APPROVED,), S.SUSPENDED),
}


def _decide(
    distributor: Distributor, move: str, *, reason: str, actor_id: int | None
) -> Distributor:
    allowed, target = _MOVES[move]
    with transaction.atomic():
        distributor = Distributor.objects.select_for_update().get(pk=distributor.pk)
        if distributor.status not in allowed:
            raise Conflict(
                _("A distributor who is %(status)s cannot be %(target)s.")
                % {
                    "status": distributor.get_status_display(),
                    "target": S(target).label,
                },
                field="status",
            )
        distributor.status = target
        distributor.reason = reason
        distributor.decided_at = clock.now()
        distributor.decided_by_id = actor_id
        distributor.save(update_fields=["status", "reason", "decided_at", "decided_by_id"])
        _record(distributor, move, actor_id, reason)
        return distributor


def distributor_approve(
    *, distributor: Distributor, actor_id: int | None = None, note: str = ""
) -> Distributor:
    """Approve an application, or reinstate a suspended distributor."""
    return _decide(distributor, "approve", reason=_text(note, "note", 500), actor_id=actor_id)


def distributor_reject(
    *, distributor: Distributor, reason: str, actor_id: int | None = None
) -> Distributor:
    return _decide(
        distributor,
        "reject",
        reason=_text(reason, "reason", 500, required=True),
        actor_id=actor_id,
    )


def distributor_suspend(
    *, distributor: Distributor, reason: str, actor_id: int | None = None
) -> Distributor:
    """Stop a distributor earning from now on; what they earned stays theirs."""
    return _decide(
        distributor,
        "suspend",
        reason=_text(reason, "reason", 500, required=True),
        actor_id=actor_id,
    )
