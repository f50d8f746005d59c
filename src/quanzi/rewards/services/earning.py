"""Earning crystals: a rule's amount (per whole yuan for a purchase) or an operator's award,
within the caps, once per source, debt repaid first.

Caps count per member what each rule earned that day or week (a rule's own caps) and what
every rule earned together (the community's caps); days and weeks are those of
``settings.TIME_ZONE``, weeks starting on Monday. An earn that meets a cap is cut down to what
the cap leaves, and one the caps leave nothing for earns nothing and posts nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.models import ActivityKind, LedgerAccount
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import ledger_post
from quanzi.members.models import Member
from quanzi.rewards.models import CrystalAction, CrystalGrant, CrystalRule
from quanzi.rewards.services.errors import RewardsError
from quanzi.rewards.services.levels import level_recompute
from quanzi.rewards.services.rules import MAX_RULE_AMOUNT, reward_settings_get, text, whole
from quanzi.rewards.services.wallet import Books, books_lock, credit_legs

# A grant's columns are 32-bit: a purchase at a generous rule stops here.
MAX_GRANT = 1_000_000_000


def member_check(member: Member) -> None:
    if not member.is_active_record:
        raise Conflict(
            _("This member record is closed (merged or anonymised); it earns nothing."),
            field="member",
        )


def day_and_week(moment: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """The local day and week (Monday first) ``moment`` falls in, as [start, end) pairs."""
    zone = ZoneInfo(settings.TIME_ZONE)
    day = moment.astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())

    def start(d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=zone)

    return (
        start(day),
        start(day + timedelta(days=1)),
        start(monday),
        start(monday + timedelta(days=7)),
    )


def _earned(community_id: int, member_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Crystals earned per action in [start, end), net of clawbacks."""
    rows = (
        CrystalGrant.objects.filter(
            community_id=community_id,
            member_id=member_id,
            earned_at__gte=start,
            earned_at__lt=end,
        )
        .exclude(action=CrystalAction.MANUAL)
        .values("action")
        .annotate(total=Sum(F("amount") - F("clawed")))
        .values_list("action", "total")
    )
    return {action: int(total or 0) for action, total in rows}


def _room(rule: CrystalRule, community: Community, member_id: int, moment: datetime) -> int | None:
    """What the caps leave for this earn; None when no cap applies."""
    terms = reward_settings_get(community)
    day_start, day_end, week_start, week_end = day_and_week(moment)
    day = _earned(community.pk, member_id, day_start, day_end)
    week = _earned(community.pk, member_id, week_start, week_end)
    caps = [
        (rule.daily_cap, day.get(rule.action, 0)),
        (rule.weekly_cap, week.get(rule.action, 0)),
        (terms.daily_cap, sum(day.values())),
        (terms.weekly_cap, sum(week.values())),
    ]
    rooms = [max(cap - used, 0) for cap, used in caps if cap]
    return min(rooms) if rooms else None


def crystals_earn(
    *,
    community: Community,
    member: Member,
    action: str,
    source: str,
    paid_minor: int | None = None,
    amount: int | None = None,
    note: str = "",
    actor_id: int | None = None,
    occurred_at: datetime | None = None,
    strict: bool = False,
) -> CrystalGrant | None:
    """Credit ``member`` the crystals ``action`` earns for ``source`` (a post, a check-in, an
    order), once: a second call with the same source returns the first grant and posts nothing.

    A PURCHASE earns its rule's amount per whole yuan of ``paid_minor``. A MANUAL award is the
    operator's: it names ``amount`` and a ``note`` and knows no rule and no cap. Returns None
    when nothing is earned: the caps leave nothing, or (unless ``strict``: the API's callers,
    who hear 422 instead) the action has no active rule.
    """
    if action not in CrystalAction.values:
        raise RewardsError(
            _("An action is one of %(actions)s.") % {"actions": ", ".join(CrystalAction.values)},
            field="action",
        )
    source = text(source, "source", 100, required=True)
    note = text(note, "note", 200, required=action == CrystalAction.MANUAL)
    if community.archived_at:
        raise Conflict(_("This community is archived."), field="community")
    member_check(member)
    moment = occurred_at or clock.now()
    if timezone.is_naive(moment):
        raise RewardsError(
            _("The time needs a time zone, like 2024-05-01T10:00:00+08:00."), field="occurred_at"
        )
    rule: CrystalRule | None = None
    if action == CrystalAction.MANUAL:
        requested = whole(amount, "amount", 1, MAX_RULE_AMOUNT)
    else:
        if amount is not None:
            raise RewardsError(
                _("Only an operator's award names its amount; a rule sets the others."),
                field="amount",
            )
        rule = CrystalRule.objects.filter(community=community, action=action, active=True).first()
        if rule is None:
            if strict:
                raise RewardsError(
                    _("%(action)s earns no crystals in this community (no active rule).")
                    % {"action": CrystalAction(action).label},
                    field="action",
                )
            return None
        if action == CrystalAction.PURCHASE:
            paid = whole(paid_minor, "paid_minor", 0, 10**15)
            requested = min(rule.amount * (paid // 100), MAX_GRANT)
        else:
            requested = rule.amount
        if requested == 0:
            return None  # less than a yuan paid
    with transaction.atomic():
        # The wallet lock first: a concurrent earn for this member waits here, and then sees
        # this one's grant when it counts its caps.
        books = books_lock(community.pk, member.pk)
        existing = CrystalGrant.objects.filter(
            community=community, member=member, action=action, source=source
        ).first()
        if existing is not None:
            return existing
        crystals = requested
        if rule is not None:
            room = _room(rule, community, member.pk, moment)
            if room is not None:
                crystals = min(crystals, room)
        if crystals <= 0:
            return None
        return grant_credit(
            books,
            community=community,
            member=member,
            action=action,
            source=source,
            requested=requested,
            crystals=crystals,
            note=note,
            actor_id=actor_id,
            moment=moment,
        )


def grant_credit(
    books: Books,
    *,
    community: Community,
    member: Member,
    action: str,
    source: str,
    requested: int,
    crystals: int,
    note: str,
    actor_id: int | None,
    moment: datetime,
    direction: str = "earn",
    origin: LedgerAccount | None = None,
) -> CrystalGrant:
    """Write the grant and post it from ``origin`` (the community's issuance unless given),
    debt first; the caller holds the books' lock."""
    legs, repaid = credit_legs(books, origin or books.issued, crystals)
    expiry_days = reward_settings_get(community).expiry_days
    try:
        with transaction.atomic():
            grant = CrystalGrant.objects.create(
                community=community,
                member=member,
                action=action,
                source=source,
                requested=requested,
                amount=crystals,
                debt_repaid=repaid,
                remaining=crystals - repaid,
                earned_at=moment,
                expires_at=moment + timedelta(days=expiry_days) if expiry_days else None,
                note=note,
                actor_id=actor_id,
            )
    except IntegrityError:
        raise Conflict(_("These crystals were just granted."), field="source") from None
    ledger_post(
        legs=legs,
        kind=f"crystals.{direction}",
        memo=f"{action} {source}"[:255],
        idempotency_key=f"crystals:{direction}:{grant.pk}",
        actor_id=actor_id,
        object_type="crystal_grant",
        object_id=grant.pk,
        occurred_at=moment,
    )
    activity_record(
        kind=ActivityKind.CRYSTALS,
        occurred_at=moment,
        member_id=member.pk,
        community_id=community.pk,
        actor_id=actor_id,
        object_type="crystal_grant",
        object_id=grant.pk,
        data={
            "direction": direction,
            "action": action,
            "source": source,
            "requested": requested,
            "crystals": crystals,
            "debt_repaid": repaid,
        },
    )
    level_recompute(community, member)
    return grant
