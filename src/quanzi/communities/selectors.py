"""Reads of the communities domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Count, Q, QuerySet, When
from django.utils.translation import gettext as _

from quanzi.communities.models import (
    Community,
    Group,
    GroupMembership,
    Invitation,
    KolSeat,
    Membership,
    MembershipPlan,
    MembershipStatus,
    MembershipTerm,
    SeatStatus,
)
from quanzi.core import clock
from quanzi.core.errors import NotFound
from quanzi.members.models import Member

RENEWAL_WINDOW = timedelta(days=30)


def community_list(*, include_archived: bool = False) -> QuerySet[Community]:
    qs = Community.objects.annotate(
        group_count=Count("groups", filter=Q(groups__archived_at__isnull=True), distinct=True),
        plan_count=Count("plans", filter=Q(plans__active=True), distinct=True),
    )
    return qs if include_archived else qs.filter(archived_at__isnull=True)


def community_by_slug(slug: str) -> Community:
    community = Community.objects.filter(slug=slug).first()
    if community is None:
        raise NotFound(_("No community %(slug)r.") % {"slug": slug}, field="community")
    return community


def group_list(
    *, community: Community | None = None, include_archived: bool = False
) -> QuerySet[Group]:
    qs = Group.objects.select_related("community", "required_plan").annotate(
        seated=Count("seats", filter=Q(seats__status=SeatStatus.ACTIVE), distinct=True),
        waiting=Count("seats", filter=Q(seats__status=SeatStatus.WAITING), distinct=True),
    )
    if community is not None:
        qs = qs.filter(community=community)
    return qs if include_archived else qs.filter(archived_at__isnull=True)


def group_seats(group: Group, *, status: str = SeatStatus.ACTIVE) -> QuerySet[GroupMembership]:
    return (
        GroupMembership.objects.filter(group=group, status=status)
        .select_related("member")
        .order_by("created_at", "pk")
    )


def plan_list(*, community: Community | None = None) -> QuerySet[MembershipPlan]:
    qs = MembershipPlan.objects.select_related("community").prefetch_related("groups")
    return qs.filter(community=community) if community is not None else qs


def membership_list(
    *,
    member: Member | None = None,
    plan: MembershipPlan | None = None,
    community: Community | None = None,
    status: str = "",
) -> QuerySet[Membership]:
    qs = Membership.objects.select_related("member", "plan", "plan__community").order_by(
        "-created_at", "-pk"
    )
    if member is not None:
        qs = qs.filter(member=member)
    if plan is not None:
        qs = qs.filter(plan=plan)
    if community is not None:
        qs = qs.filter(plan__community=community)
    if status:
        qs = qs.filter(status=status)
    return qs


def invitation_list(*, community: Community | None = None) -> QuerySet[Invitation]:
    qs = Invitation.objects.select_related("community", "group", "plan")
    return qs.filter(community=community) if community is not None else qs


@dataclass(frozen=True, slots=True)
class RenewalRate:
    plan_id: int
    ended: int
    renewed: int

    @property
    def rate(self) -> float | None:
        return self.renewed / self.ended if self.ended else None


def renewal_rate(
    *, plan: MembershipPlan, since: datetime, until: datetime, now: datetime | None = None
) -> RenewalRate:
    """DESIGN.md: memberships renewed within 30 days after expiry / memberships that expired.

    Counted per term: a term whose end falls in [since, until) and has passed has "expired";
    it was renewed when the membership's next term was paid no later than 30 days after that
    end (an early renewal counts as renewed). Terms ending less than 30 days ago are counted
    only if already renewed, so a rate is never lowered by renewals that may still come.
    """
    moment = now or clock.now()
    ended = 0
    renewed = 0
    terms = MembershipTerm.objects.filter(
        membership__plan=plan, ends_at__gte=since, ends_at__lt=until, ends_at__lte=moment
    ).select_related("membership")
    for term in terms:
        if term.ends_at is None:
            continue
        follow = MembershipTerm.objects.filter(
            membership=term.membership_id,
            starts_at__gte=term.ends_at - timedelta(seconds=1),
            paid_at__lte=term.ends_at + RENEWAL_WINDOW,
        ).exclude(pk=term.pk)
        if follow.exists():
            renewed += 1
            ended += 1
        elif term.ends_at + RENEWAL_WINDOW <= moment:
            ended += 1
    return RenewalRate(plan.pk, ended, renewed)


def member_memberships(member: Member) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(member=member)
        .exclude(status=MembershipStatus.CANCELLED)
        .select_related("plan", "plan__community")
        .prefetch_related("plan__groups")
        .order_by("-created_at")
    )


def group_get(*, community: Community, pk: int) -> Group:
    group = (
        group_list(community=community, include_archived=True)
        .prefetch_related("kol_seats__member")
        .filter(pk=pk)
        .first()
    )
    if group is None:
        raise NotFound(
            _("No group #%(pk)s in %(community)s.") % {"pk": pk, "community": community.name},
            field="group",
        )
    return group


def membership_get(pk: int) -> Membership:
    membership = (
        Membership.objects.select_related("member", "plan", "plan__community").filter(pk=pk).first()
    )
    if membership is None:
        raise NotFound(_("No membership #%(pk)s.") % {"pk": pk}, field="membership")
    return membership


def invitation_by_id(*, community: Community, pk: int) -> Invitation:
    invitation = invitation_list(community=community).filter(pk=pk).first()
    if invitation is None:
        raise NotFound(
            _("No invitation #%(pk)s in %(community)s.") % {"pk": pk, "community": community.name},
            field="invitation",
        )
    return invitation


def member_group_seats(member: Member) -> QuerySet[GroupMembership]:
    """A member's seats and waiting places, current ones first."""
    return (
        GroupMembership.objects.filter(member=member)
        .select_related("group", "group__community")
        .order_by(
            Case(
                When(status=SeatStatus.ACTIVE, then=0),
                When(status=SeatStatus.WAITING, then=1),
                default=2,
            ),
            "-created_at",
            "-pk",
        )
    )


def member_kol_seats(member: Member) -> QuerySet[KolSeat]:
    return KolSeat.objects.filter(member=member).select_related("group", "group__community")
