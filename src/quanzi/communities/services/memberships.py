"""Memberships: start, payment, renewal, expiry, group clean-up.

Status moves only along ``TRANSITIONS``; each move is saved and recorded as an activity in
one transaction. Renewal is a payment on a membership that has terms already: paid before the
end, the new term starts at the old end (nothing lost by renewing early); paid after the end,
it starts at the payment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.communities.models import (
    Group,
    GroupMembership,
    Invitation,
    Membership,
    MembershipPlan,
    MembershipStatus,
    MembershipTerm,
    OwedGoods,
    PlanKind,
    SeatStatus,
    TermKind,
)
from quanzi.communities.services.errors import CommunityError, EntryRefused, TransitionRefused
from quanzi.communities.services.joining import group_join, group_leave
from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.members.lifecycle import lifecycle_recompute_soon
from quanzi.members.models import Member
from quanzi.outbox.models import Purpose
from quanzi.outbox.services import outbox_enqueue

S = MembershipStatus
TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.ACTIVE, S.CANCELLED},
    S.ACTIVE: {S.EXPIRING, S.EXPIRED, S.ACTIVE},
    S.EXPIRING: {S.ACTIVE, S.EXPIRED},
    S.EXPIRED: {S.ACTIVE},
    S.CANCELLED: set(),
}
LIVE = [S.ACTIVE, S.EXPIRING]
RENEWAL_WINDOW = timedelta(days=30)


def _transition(
    membership: Membership,
    to: str,
    *,
    action: str,
    moment: datetime,
    actor_id: int | None = None,
    data: dict[str, object] | None = None,
) -> None:
    before = membership.status
    if to not in TRANSITIONS[before]:
        raise TransitionRefused(
            _("A %(before)s membership cannot become %(to)s.") % {"before": before, "to": to},
            field="status",
            code="transition_refused",
        )
    membership.status = to
    membership.save(
        update_fields=["status", "starts_at", "ends_at", "groups_released_at", "updated_at"]
    )
    activity_record(
        kind=ActivityKind.MEMBERSHIP,
        occurred_at=moment,
        member_id=membership.member_id,
        community_id=membership.plan.community_id,
        channel=membership.channel,
        actor_id=actor_id,
        object_type="membership",
        object_id=membership.pk,
        data={
            "action": action,
            "from": before,
            "to": to,
            "plan": membership.plan_id,
            **(data or {}),
        },
    )


def membership_start(
    *,
    member: Member,
    plan: MembershipPlan,
    channel: str = "",
    invitation: Invitation | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> Membership:
    """Begin joining a plan: a free plan is active at once; a paid one awaits its payment.

    A member who already holds this plan gets that membership back (an expired one, to renew).
    """
    moment = now or clock.now()
    if not plan.active:
        raise Conflict(_("“%(plan)s” is no longer offered.") % {"plan": plan.name}, field="plan")
    if plan.kind == PlanKind.PRODUCT_GRANT:
        raise EntryRefused(
            _("“%(plan)s” comes with buying its product; it cannot be joined alone.")
            % {"plan": plan.name},
            field="plan",
        )
    if not member.is_active_record:
        raise Conflict(_("This member record is closed."), field="member")
    with transaction.atomic():
        Member.objects.select_for_update().get(pk=member.pk)  # one start per member at a time
        existing = (
            Membership.objects.select_related("plan")
            .filter(member=member, plan=plan)
            .exclude(status=S.CANCELLED)
            .order_by("-created_at")
            .first()
        )
        if existing is not None:
            return existing
        membership = Membership.objects.create(
            member=member, plan=plan, status=S.PENDING, channel=channel, invitation=invitation
        )
        activity_record(
            kind=ActivityKind.MEMBERSHIP,
            occurred_at=moment,
            member_id=member.pk,
            community_id=plan.community_id,
            channel=channel,
            content=invitation.content if invitation else "",
            actor_id=actor_id,
            object_type="membership",
            object_id=membership.pk,
            data={"action": "started", "to": S.PENDING, "plan": plan.pk},
        )
        if plan.kind == PlanKind.FREE:
            _grant_term(membership, amount=0, paid_at=moment, payment_ref=None, actor_id=actor_id)
        return membership


def membership_pay(
    *,
    membership: Membership,
    amount_minor: int,
    payment_ref: str,
    paid_at: datetime | None = None,
    actor_id: int | None = None,
) -> MembershipTerm:
    """Apply a payment of the plan's price: activates, renews early, or renews late.

    ``payment_ref`` names the payment (an order, an offline transfer); the same reference
    applied twice grants one term.
    """
    moment = paid_at or clock.now()
    ref = (payment_ref or "").strip()
    if not ref or len(ref) > 100:
        raise CommunityError(
            _("Give the payment reference (1-100 characters)."), field="payment_ref"
        )
    if moment > clock.now() + timedelta(minutes=5):
        raise CommunityError(_("A payment cannot be in the future."), field="paid_at")
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("plan", "member")
            .get(pk=membership.pk)
        )
        done = MembershipTerm.objects.filter(payment_ref=ref).first()
        if done is not None:
            if done.membership_id != membership.pk:
                raise Conflict(
                    _("This payment was applied to another membership."), field="payment_ref"
                )
            return done
        plan = membership.plan
        if plan.kind in (PlanKind.FREE, PlanKind.PRODUCT_GRANT):
            raise Conflict(
                _("“%(plan)s” takes no payment of its own.") % {"plan": plan.name},
                field="membership",
            )
        if amount_minor != plan.price_minor:
            raise CommunityError(
                _("The payment is %(paid)s; “%(plan)s” costs %(price)s.")
                % {
                    "paid": Money(amount_minor, plan.currency),
                    "plan": plan.name,
                    "price": Money(plan.price_minor, plan.currency),
                },
                field="amount_minor",
            )
        try:
            with transaction.atomic():
                return _grant_term(
                    membership,
                    amount=amount_minor,
                    paid_at=moment,
                    payment_ref=ref,
                    actor_id=actor_id,
                )
        except IntegrityError:
            # The same reference was applied to another membership at this very moment.
            raise Conflict(
                _("This payment was applied to another membership."), field="payment_ref"
            ) from None


def _grant_term(
    membership: Membership,
    *,
    amount: int,
    paid_at: datetime,
    payment_ref: str | None,
    actor_id: int | None,
) -> MembershipTerm:
    """Add a term to a locked membership and seat the member in the plan's groups."""
    plan = membership.plan
    if membership.status == S.CANCELLED:
        raise TransitionRefused(_("A cancelled membership cannot be paid."), field="membership")
    if membership.status in LIVE and membership.ends_at is None:
        raise Conflict(_("This membership is for life already."), field="membership")
    renewal = membership.terms.exists()
    # Early or late by when the member paid, not by whether the expiry job has run yet: paid
    # before the end, the new term continues from it; paid after, it starts at the payment.
    early = renewal and membership.ends_at is not None and paid_at < membership.ends_at
    start = membership.ends_at if early and membership.ends_at else paid_at
    end = start + timedelta(days=plan.duration_days) if plan.duration_days else None
    term = MembershipTerm.objects.create(
        membership=membership,
        kind=TermKind.RENEWAL if renewal else TermKind.NEW,
        starts_at=start,
        ends_at=end,
        paid_at=paid_at,
        amount_minor=amount,
        currency=plan.currency,
        payment_ref=payment_ref,
    )
    if not early:
        membership.starts_at = start  # a new unbroken period begins with this payment
    membership.ends_at = end
    membership.groups_released_at = None
    action = "renewed_early" if early else ("renewed_late" if renewal else "activated")
    _transition(
        membership,
        S.ACTIVE,
        action=action,
        moment=paid_at,
        actor_id=actor_id,
        data={"amount_minor": amount, "ends_at": end.isoformat() if end else None},
    )
    if plan.kind == PlanKind.FEE_GOODS:
        OwedGoods.objects.create(
            term=term,
            member=membership.member,
            description=plan.goods_description,
            value_minor=plan.goods_value_minor,
            currency=plan.currency,
        )
    if amount:
        activity_record(
            kind=ActivityKind.PAY,
            occurred_at=paid_at,
            member_id=membership.member_id,
            community_id=plan.community_id,
            channel=membership.channel,
            amount=Money(amount, plan.currency),
            actor_id=actor_id,
            object_type="membership_term",
            object_id=term.pk,
            data={"plan": plan.pk},
        )
    for group in plan.groups.filter(archived_at__isnull=True):
        group_join(
            group=group,
            member=membership.member,
            channel=membership.channel,
            invitation=membership.invitation,
            check_gate=False,
            actor_id=actor_id,
            now=paid_at,
        )
    lifecycle_recompute_soon(membership.member_id)  # a paid order moves the stage
    return term


def membership_cancel(*, membership: Membership, actor_id: int | None = None) -> Membership:
    """Withdraw a membership still awaiting payment."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().select_related("plan").get(pk=membership.pk)
        )
        _transition(
            membership, S.CANCELLED, action="cancelled", moment=clock.now(), actor_id=actor_id
        )
        return membership


def membership_grant_for_product(
    *,
    member: Member,
    product_id: int,
    order_ref: str,
    paid_at: datetime | None = None,
    actor_id: int | None = None,
) -> list[MembershipTerm]:
    """ "Buy the product, membership included": grant every active plan tied to the product.

    Called by the commerce domain when an order is paid; the order reference makes it apply once.
    """
    moment = paid_at or clock.now()
    terms = []
    for plan in MembershipPlan.objects.filter(
        kind=PlanKind.PRODUCT_GRANT, product_id=product_id, active=True
    ):
        ref = f"{order_ref}:plan{plan.pk}"
        with transaction.atomic():
            done = MembershipTerm.objects.filter(payment_ref=ref).first()
            if done is not None:
                terms.append(done)
                continue
            membership = (
                Membership.objects.select_for_update()
                .select_related("plan", "member")
                .filter(member=member, plan=plan)
                .exclude(status=S.CANCELLED)
                .order_by("-created_at")
                .first()
            )
            if membership is None:
                membership = Membership.objects.create(
                    member=member, plan=plan, status=S.PENDING, channel=member.source_channel
                )
            if membership.status in LIVE and membership.ends_at is None:
                continue  # for life already
            terms.append(
                _grant_term(
                    membership, amount=0, paid_at=moment, payment_ref=ref, actor_id=actor_id
                )
            )
    return terms


# Scheduled work: each function is safe to run twice.


def memberships_remind(*, now: datetime | None = None) -> int:
    """Active memberships ending within their plan's reminder days: mark expiring, remind once."""
    moment = now or clock.now()
    count = 0
    due = Membership.objects.filter(status=S.ACTIVE, ends_at__gt=moment).select_related(
        "plan", "plan__community"
    )
    for candidate in due.iterator():
        if candidate.ends_at is None:
            continue
        if candidate.ends_at - timedelta(days=candidate.plan.reminder_days) > moment:
            continue
        with transaction.atomic():
            membership = (
                Membership.objects.select_for_update()
                .select_related("plan", "plan__community", "member")
                .get(pk=candidate.pk)
            )
            if membership.status != S.ACTIVE or membership.ends_at is None:
                continue
            _transition(membership, S.EXPIRING, action="reminded", moment=moment)
            plan = membership.plan
            local_end = timezone.localtime(membership.ends_at)
            outbox_enqueue(
                member=membership.member,
                template="membership_reminder",
                body=(
                    f"{membership.member.display_name}，你在「{plan.community.name}」的"
                    f"“{plan.name}”将于 {local_end:%Y-%m-%d} 到期，续费后权益不中断。"
                ),
                purpose=Purpose.SERVICE,
                dedupe_key=f"reminder:{membership.pk}:{local_end:%Y%m%d}",
                community_id=plan.community_id,
            )
            count += 1
    return count


def memberships_expire(*, now: datetime | None = None) -> int:
    """Memberships whose end has come (``ends_at <= now``) become expired."""
    moment = now or clock.now()
    count = 0
    for pk in Membership.objects.filter(status__in=LIVE, ends_at__lte=moment).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            membership = Membership.objects.select_for_update().select_related("plan").get(pk=pk)
            if (
                membership.status not in LIVE
                or not membership.ends_at
                or membership.ends_at > moment
            ):
                continue
            _transition(membership, S.EXPIRED, action="expired", moment=membership.ends_at)
            count += 1
    return count


def memberships_cleanup(*, now: datetime | None = None) -> int:
    """Seats granted by expired memberships end once the grace period is over.

    A seat stays when another live membership grants the same group.
    """
    moment = now or clock.now()
    removed = 0
    expired = Membership.objects.filter(
        status=S.EXPIRED, groups_released_at__isnull=True, ends_at__lte=moment
    ).select_related("plan", "member")
    for membership in expired.iterator():
        if membership.ends_at is None:
            continue
        if membership.ends_at + timedelta(days=membership.plan.grace_days) > moment:
            continue
        for group in membership.plan.groups.all():
            still_granted = Membership.objects.filter(
                member=membership.member, status__in=LIVE, plan__groups=group
            ).exists()
            if still_granted:
                continue
            # A place on the waiting list ends too: else a seat freed later goes to a member
            # whose membership is over.
            if not GroupMembership.objects.filter(
                group=group,
                member=membership.member,
                status__in=[SeatStatus.ACTIVE, SeatStatus.WAITING],
            ).exists():
                continue
            group_leave(
                group=group, member=membership.member, reason="membership_expired", now=moment
            )
            removed += 1
        Membership.objects.filter(pk=membership.pk, status=S.EXPIRED).update(
            groups_released_at=moment
        )
    return removed


def groups_archive_ended(*, now: datetime | None = None) -> int:
    """Groups past their end date are archived and their seats closed."""
    moment = now or clock.now()
    # ends_on is a date where the community lives (settings.TIME_ZONE); the UTC date lags it
    # by eight hours in Shanghai.
    today = timezone.localdate(moment)
    count = 0
    for group in Group.objects.filter(archived_at__isnull=True, ends_on__lt=today):
        with transaction.atomic():
            locked = Group.objects.select_for_update().get(pk=group.pk)
            if locked.archived_at:
                continue
            for seat in GroupMembership.objects.filter(
                group=locked, status__in=[SeatStatus.ACTIVE, SeatStatus.WAITING]
            ).select_related("member"):
                group_leave(
                    group=locked,
                    member=seat.member,
                    reason="group_ended",
                    promote=False,
                    now=moment,
                )
            locked.archived_at = moment
            locked.save(update_fields=["archived_at"])
            activity_record(
                kind=ActivityKind.OPERATOR,
                occurred_at=moment,
                community_id=locked.community_id,
                group_id=locked.pk,
                object_type="group",
                object_id=locked.pk,
                data={"action": "group_archived", "reason": "ended"},
            )
            count += 1
    return count
