"""Growth levels: reached by crystals earned over time (net of clawbacks), never lowered by
spending or expiry. A level may bring a discount at checkout, a seat in a group and a badge."""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from quanzi.communities.models import Community, Group
from quanzi.communities.services.joining import group_join
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.members.lifecycle import lifecycle_recompute
from quanzi.members.models import Level, Member
from quanzi.rewards.models import CrystalGrant, GrowthLevel, MemberLevel
from quanzi.rewards.services.errors import RewardsError
from quanzi.rewards.services.rules import whole
from quanzi.rewards.services.wallet import RETURNED_PREFIX, books_lock

log = logging.getLogger(__name__)

RANK = {level: n for n, level in enumerate(Level.values)}  # novice < seed < core < kol
MAX_MIN_EARNED = 2_000_000_000


def growth_level_set(
    *,
    community: Community,
    level: str,
    min_earned: int,
    discount_percent: int = 0,
    group: Group | None = None,
    badge: str = "",
    actor_id: int | None = None,
) -> GrowthLevel:
    """Create or change what reaching ``level`` takes and brings. A higher level needs more
    crystals than a lower one. Members' levels are recomputed once this commits."""
    if level not in Level.values:
        raise RewardsError(
            _("A level is one of %(levels)s.") % {"levels": ", ".join(Level.values)},
            field="level",
        )
    whole(min_earned, "min_earned", 0, MAX_MIN_EARNED)
    whole(discount_percent, "discount_percent", 0, 50)
    if group is not None and group.community_id != community.pk:
        raise RewardsError(_("The group belongs to another community."), field="group")
    badge = (badge or "").strip()
    if len(badge) > 30:
        raise RewardsError(_("At most %(n)s characters.") % {"n": 30}, field="badge")
    with transaction.atomic():
        others = {
            g.level: g.min_earned
            for g in GrowthLevel.objects.select_for_update()
            .filter(community=community)
            .exclude(level=level)
        }
        for other, needs in others.items():
            if (RANK[other] < RANK[level] and needs >= min_earned) or (
                RANK[other] > RANK[level] and needs <= min_earned
            ):
                raise RewardsError(
                    _(
                        "%(level)s needs more crystals than the levels below it and fewer than those above (%(other)s needs %(needs)s)."
                    )
                    % {"level": Level(level).label, "other": Level(other).label, "needs": needs},
                    field="min_earned",
                )
        found, created = GrowthLevel.objects.update_or_create(
            community=community,
            level=level,
            defaults={
                "min_earned": min_earned,
                "discount_percent": discount_percent,
                "group": group,
                "badge": badge,
            },
        )
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            object_type="growth_level",
            object_id=found.pk,
            data={
                "action": "growth_level_set",
                "level": level,
                "min_earned": min_earned,
                "discount_percent": discount_percent,
                "group": group.pk if group else None,
                "badge": badge,
                "created": created,
            },
        )
        transaction.on_commit(partial(member_levels_recompute, community=community), robust=True)
        return found


def earned_total(community_id: int, member_id: int) -> int:
    """Crystals earned in the community, net of clawbacks (crystals a cancelled redemption
    handed back were earned once already and do not count twice)."""
    total = (
        CrystalGrant.objects.filter(community_id=community_id, member_id=member_id)
        .exclude(source__startswith=RETURNED_PREFIX)
        .aggregate(total=Sum(F("amount") - F("clawed")))["total"]
    )
    return int(total or 0)


def level_for(community_id: int, earned: int) -> GrowthLevel | None:
    reached = GrowthLevel.objects.filter(community_id=community_id, min_earned__lte=earned)
    return max(reached, key=lambda g: RANK[g.level], default=None)


def level_recompute(community: Community, member: Member) -> MemberLevel:
    """Bring the member's level in ``community`` up to date with what they have earned;
    called in the transaction of every earn and clawback, under the member's wallet lock."""
    earned = earned_total(community.pk, member.pk)
    reached = level_for(community.pk, earned)
    level = reached.level if reached is not None else Level.NOVICE
    row, _created = MemberLevel.objects.select_for_update().get_or_create(
        community=community, member=member
    )
    before = row.level
    if row.level == level and row.earned_total == earned:
        return row
    row.earned_total = earned
    if level != before:
        row.level = level
        row.reached_at = clock.now()
    row.save()
    if level != before:
        activity_record(
            kind=ActivityKind.LEVEL,
            member_id=member.pk,
            community_id=community.pk,
            source="rewards",
            object_type="member_level",
            object_id=row.pk,
            data={"from": before, "to": level, "earned_total": earned},
        )
        if RANK[level] > RANK[before]:
            _seat(community, member, before, level)
        _sync_member_level(member)
    return row


def _seat(community: Community, member: Member, before: str, after: str) -> None:
    """A seat in the group of every level just reached; a refusal (a full or archived group)
    is logged and left to the operator, the level stands."""
    reached = GrowthLevel.objects.filter(community=community, group__isnull=False).select_related(
        "group"
    )
    for growth in reached:
        if not RANK[before] < RANK[growth.level] <= RANK[after] or growth.group is None:
            continue
        try:
            with transaction.atomic():
                group_join(
                    group=growth.group,
                    member=member,
                    channel="level",
                    check_gate=False,
                    wait_if_full=False,
                )
        except ApplicationError as exc:
            log.warning(
                "member %s reached %s but got no seat in group %s: %s",
                member.pk,
                growth.level,
                growth.group_id,
                exc,
            )
            activity_record(
                kind=ActivityKind.OPERATOR,
                member_id=member.pk,
                community_id=community.pk,
                group_id=growth.group_id,
                object_type="member_level",
                object_id=member.pk,
                data={"action": "level_seat_failed", "level": growth.level, "reason": exc.message},
            )


def _sync_member_level(member: Member) -> None:
    """``Member.level`` has one writer, the lifecycle; it never sets a member below the
    highest growth level they hold in any community (``level_floors``). Recomputed now,
    inside the transaction that changed the growth level."""
    lifecycle_recompute([member.pk])


def level_floors(member_ids: list[int]) -> dict[int, str]:
    """For the lifecycle: each member's highest growth level over every community."""
    best: dict[int, str] = {}
    for member_id, level in MemberLevel.objects.filter(member_id__in=member_ids).values_list(
        "member_id", "level"
    ):
        if RANK.get(level, 0) > RANK.get(best.get(member_id, Level.NOVICE), 0):
            best[member_id] = level
    return best


def member_levels_recompute(*, community: Community) -> int:
    """Recompute every member's level in the community (after its levels changed); each
    member in a transaction of their own. Returns how many levels changed."""
    changed = 0
    member_ids = set(
        CrystalGrant.objects.filter(community=community).values_list("member_id", flat=True)
    ) | set(MemberLevel.objects.filter(community=community).values_list("member_id", flat=True))
    for member in Member.objects.filter(pk__in=member_ids).order_by("pk"):
        with transaction.atomic():
            books_lock(community.pk, member.pk)
            before = (
                MemberLevel.objects.filter(community=community, member=member)
                .values_list("level", flat=True)
                .first()
            )
            after = level_recompute(community, member).level
            changed += int(after != (before or Level.NOVICE))
    return changed
