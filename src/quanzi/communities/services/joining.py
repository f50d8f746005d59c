"""Joining groups: gating, capacity with a waiting list, the entry ritual, invitations."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from quanzi.communities.models import (
    Community,
    Group,
    GroupMembership,
    Invitation,
    Membership,
    MembershipPlan,
    MembershipStatus,
    SeatStatus,
)
from quanzi.communities.services.errors import (
    CommunityError,
    EntryRefused,
    GroupFull,
    InvitationUnusable,
)
from quanzi.core import clock
from quanzi.core.errors import Conflict, NotFound
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.members.lifecycle import lifecycle_recompute_soon
from quanzi.members.models import Member
from quanzi.outbox.models import Purpose
from quanzi.outbox.services import outbox_enqueue

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: codes are read aloud


def _member_ids(member: Member) -> list[int]:
    return [member.pk, *Member.objects.filter(merged_into=member).values_list("pk", flat=True)]


def has_live_membership(member: Member, plan: MembershipPlan) -> bool:
    return Membership.objects.filter(
        member=member,
        plan=plan,
        status__in=[MembershipStatus.ACTIVE, MembershipStatus.EXPIRING],
    ).exists()


def has_bought(member: Member, product_id: int) -> bool:
    """A paid purchase of the product, from the activity log (the commerce domain writes it)."""
    return Activity.objects.filter(
        kind=ActivityKind.PAY,
        member_id__in=_member_ids(member),
        object_type="product",
        object_id=str(product_id),
    ).exists()


def _check_gate(group: Group, member: Member) -> None:
    plan = group.required_plan
    if plan is not None and not has_live_membership(member, plan):
        raise EntryRefused(
            _("%(group)s is for members of “%(plan)s”.") % {"group": group.name, "plan": plan.name},
            field="group",
        )
    if group.required_product_id and not has_bought(member, group.required_product_id):
        raise EntryRefused(
            _("%(group)s opens after buying its entry product.") % {"group": group.name},
            field="group",
        )


@dataclass(frozen=True, slots=True)
class JoinResult:
    seat: GroupMembership
    waiting_position: int | None  # None: in the group


def _render(template: str, member: Member, group: Group) -> str:
    return (
        template.replace("{name}", member.display_name)
        .replace("{group}", group.name)
        .replace("{community}", group.community.name)
    )


def _welcome(seat: GroupMembership, member: Member, group: Group) -> None:
    parts = [p for p in (group.welcome_template, group.intro_prompt) if p.strip()]
    if not parts:
        return
    outbox_enqueue(
        member=member,
        template="group_welcome",
        body="\n\n".join(_render(p, member, group) for p in parts),
        purpose=Purpose.SERVICE,
        dedupe_key=f"welcome:{seat.pk}",
        community_id=group.community_id,
        group_id=group.pk,
    )


def _waiting_position(seat: GroupMembership) -> int:
    return (
        GroupMembership.objects.filter(group_id=seat.group_id, status=SeatStatus.WAITING)
        .filter(Q(created_at__lt=seat.created_at) | Q(created_at=seat.created_at, pk__lte=seat.pk))
        .count()
    )


def group_join(
    *,
    group: Group,
    member: Member,
    channel: str = "",
    invitation: Invitation | None = None,
    check_gate: bool = True,
    wait_if_full: bool = True,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> JoinResult:
    """Seat ``member`` in ``group``, or on its waiting list when it is full.

    The group row is locked while seats are counted, so two joins for the last seat cannot both
    take it. Joining twice returns the seat the member has.
    """
    with transaction.atomic():
        group = (
            # of=self: PostgreSQL cannot lock the nullable side of the outer join to the plan.
            Group.objects.select_for_update(of=("self",))
            .select_related("community", "required_plan")
            .get(pk=group.pk)
        )
        # Read the clock only once the group is locked: the waiting list is ordered by this
        # moment, so it must follow the order in which joins got the lock.
        moment = now or clock.now()
        if group.archived_at:
            raise Conflict(_("%(group)s is archived.") % {"group": group.name}, field="group")
        if not member.is_active_record:
            raise Conflict(_("This member record is closed."), field="member")
        live = GroupMembership.objects.filter(
            group=group, member=member, status__in=[SeatStatus.ACTIVE, SeatStatus.WAITING]
        ).first()
        if live is not None:
            position = _waiting_position(live) if live.status == SeatStatus.WAITING else None
            return JoinResult(live, position)
        if check_gate:
            _check_gate(group, member)
        seated = GroupMembership.objects.filter(group=group, status=SeatStatus.ACTIVE).count()
        if seated >= group.capacity:
            if not wait_if_full:
                raise GroupFull(
                    _("%(group)s is full (%(capacity)s members).")
                    % {"group": group.name, "capacity": group.capacity},
                    field="group",
                )
            seat = GroupMembership.objects.create(
                group=group,
                member=member,
                status=SeatStatus.WAITING,
                channel=channel,
                invitation=invitation,
                created_at=moment,
            )
            activity_record(
                kind=ActivityKind.WAITLIST,
                occurred_at=moment,
                member_id=member.pk,
                community_id=group.community_id,
                group_id=group.pk,
                channel=channel,
                actor_id=actor_id,
                object_type="group_seat",
                object_id=seat.pk,
            )
            return JoinResult(seat, _waiting_position(seat))
        seat = GroupMembership.objects.create(
            group=group,
            member=member,
            status=SeatStatus.ACTIVE,
            channel=channel,
            invitation=invitation,
            created_at=moment,
            joined_at=moment,
        )
        _record_join(seat, group, member, channel, actor_id, moment)
        return JoinResult(seat, None)


def _record_join(
    seat: GroupMembership,
    group: Group,
    member: Member,
    channel: str,
    actor_id: int | None,
    moment: datetime,
) -> None:
    activity_record(
        kind=ActivityKind.JOIN,
        occurred_at=moment,
        member_id=member.pk,
        community_id=group.community_id,
        group_id=group.pk,
        channel=channel,
        content=seat.invitation.content if seat.invitation_id and seat.invitation else "",
        actor_id=actor_id,
        object_type="group_seat",
        object_id=seat.pk,
    )
    _welcome(seat, member, group)
    lifecycle_recompute_soon(member.pk)  # a core-fans seat moves stage and level


def group_leave(
    *,
    group: Group,
    member: Member,
    reason: str = "left",
    promote: bool = True,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> GroupMembership | None:
    """End the member's seat (or waiting place); the first on the waiting list moves up."""
    moment = now or clock.now()
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        seat = (
            GroupMembership.objects.select_for_update()
            .filter(group=group, member=member, status__in=[SeatStatus.ACTIVE, SeatStatus.WAITING])
            .first()
        )
        if seat is None:
            return None
        was_seated = seat.status == SeatStatus.ACTIVE
        seat.status = SeatStatus.LEFT if reason == "left" else SeatStatus.REMOVED
        seat.ended_at = moment
        seat.end_reason = reason[:64]
        seat.save(update_fields=["status", "ended_at", "end_reason"])
        if was_seated:
            activity_record(
                kind=ActivityKind.LEAVE,
                occurred_at=moment,
                member_id=member.pk,
                community_id=group.community_id,
                group_id=group.pk,
                actor_id=actor_id,
                object_type="group_seat",
                object_id=seat.pk,
                data={"reason": seat.end_reason},
            )
            lifecycle_recompute_soon(member.pk)
            if promote:
                _promote_waiting(group, moment)
        return seat


def _promote_waiting(group: Group, moment: datetime) -> None:
    """Fill free seats from the waiting list, in order; whoever no longer passes the group's
    gate (their membership lapsed while they waited) leaves the list instead."""
    free = (
        group.capacity
        - GroupMembership.objects.filter(group=group, status=SeatStatus.ACTIVE).count()
    )
    queue = (
        GroupMembership.objects.select_for_update(of=("self",))
        .select_related("member", "invitation")
        .filter(group=group, status=SeatStatus.WAITING)
        .order_by("created_at", "pk")
    )
    for seat in queue.iterator():
        if free <= 0:
            return
        try:
            _check_gate(group, seat.member)
        except EntryRefused:
            seat.status = SeatStatus.REMOVED
            seat.ended_at = moment
            seat.end_reason = "not_eligible"
            seat.save(update_fields=["status", "ended_at", "end_reason"])
            continue
        seat.status = SeatStatus.ACTIVE
        seat.joined_at = moment
        seat.save(update_fields=["status", "joined_at"])
        _record_join(seat, group, seat.member, seat.channel, None, moment)
        free -= 1


# Invitations


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def invitation_create(
    *,
    community: Community,
    channel: str,
    group: Group | None = None,
    plan: MembershipPlan | None = None,
    content: str = "",
    note: str = "",
    expires_at: datetime | None = None,
    max_uses: int | None = None,
    actor_id: int | None = None,
) -> Invitation:
    """A link/code for one channel (and content piece) that leads to a group or a plan."""
    channel = (channel or "").strip()
    if not channel or len(channel) > 64:
        raise CommunityError(
            _("Name the channel this invitation is shared on (douyin, xiaohongshu, ...)."),
            field="channel",
        )
    if group is None and plan is None:
        raise CommunityError(_("An invitation leads to a group or a plan."), field="group")
    if group is not None and group.community_id != community.pk:
        raise CommunityError(_("The group belongs to another community."), field="group")
    if plan is not None and plan.community_id != community.pk:
        raise CommunityError(_("The plan belongs to another community."), field="plan")
    if expires_at is not None and expires_at <= clock.now():
        raise CommunityError(_("The expiry is in the past."), field="expires_at")
    if max_uses is not None and max_uses < 1:
        raise CommunityError(_("A use limit is at least 1."), field="max_uses")
    for _attempt in range(5):
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    community=community,
                    group=group,
                    plan=plan,
                    code=_new_code(),
                    channel=channel,
                    content=content.strip()[:128],
                    note=note.strip()[:200],
                    expires_at=expires_at,
                    max_uses=max_uses,
                    created_by_id=actor_id,
                )
                activity_record(
                    kind=ActivityKind.OPERATOR,
                    actor_id=actor_id,
                    community_id=community.pk,
                    group_id=group.pk if group else None,
                    channel=channel,
                    content=invitation.content,
                    object_type="invitation",
                    object_id=invitation.pk,
                    data={"action": "invitation_created"},
                )
                return invitation
        except IntegrityError:
            continue  # a code collision: draw again
    raise Conflict(_("Could not draw a free invitation code; try again."))


def invitation_check(invitation: Invitation, *, now: datetime | None = None) -> None:
    """Raise InvitationUnusable with the reason a person can act on."""
    moment = now or clock.now()
    if invitation.revoked_at:
        raise InvitationUnusable(_("This invitation was withdrawn."), field="code")
    if invitation.expires_at and invitation.expires_at <= moment:
        raise InvitationUnusable(_("This invitation has expired."), field="code")
    if invitation.max_uses is not None and invitation.uses >= invitation.max_uses:
        raise InvitationUnusable(_("This invitation has been used up."), field="code")


def invitation_get(code: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("community", "group", "plan")
        .filter(code=(code or "").strip().upper())
        .first()
    )
    if invitation is None:
        raise NotFound(_("No such invitation."), field="code")
    return invitation


def invitation_revoke(*, invitation: Invitation, actor_id: int | None = None) -> Invitation:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.revoked_at is None:
            invitation.revoked_at = clock.now()
            invitation.save(update_fields=["revoked_at"])
            activity_record(
                kind=ActivityKind.OPERATOR,
                actor_id=actor_id,
                community_id=invitation.community_id,
                object_type="invitation",
                object_id=invitation.pk,
                data={"action": "invitation_revoked"},
            )
        return invitation


def invitation_consume(invitation: Invitation, *, now: datetime | None = None) -> None:
    """Take one use, atomically: the last use cannot be taken twice."""
    moment = now or clock.now()
    taken = (
        Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment))
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .update(uses=F("uses") + 1)
    )
    if not taken:
        invitation.refresh_from_db()
        invitation_check(invitation, now=moment)
        raise InvitationUnusable(_("This invitation cannot be used."), field="code")
