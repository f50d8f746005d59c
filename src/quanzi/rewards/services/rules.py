"""A community's crystal terms: the caps over every rule, expiry, and one rule per action."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.rewards.models import CrystalAction, CrystalRule, RewardSettings
from quanzi.rewards.services.errors import RewardsError

MAX_RULE_AMOUNT = 1_000_000
MAX_CAP = 100_000_000
MAX_EXPIRY_DAYS = 3_650


def whole(value: object, field: str, low: int, high: int) -> int:
    """``value`` as a whole number in [low, high], or a field error saying so."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RewardsError(
            _("Give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high},
            field=field,
        )
    return value


def text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    """``value`` stripped, at most ``limit`` characters (and present when ``required``)."""
    value = (value or "").strip()
    if required and not value:
        raise RewardsError(_("Fill this in (1-%(n)s characters).") % {"n": limit}, field=field)
    if len(value) > limit:
        raise RewardsError(_("At most %(n)s characters.") % {"n": limit}, field=field)
    return value


def reward_settings_get(community: Community) -> RewardSettings:
    """The community's settings; unsaved defaults (no caps, no expiry) when it has none."""
    found = RewardSettings.objects.filter(community=community).first()
    return found if found is not None else RewardSettings(community=community)


def reward_settings_update(
    *,
    community: Community,
    daily_cap: int,
    weekly_cap: int,
    expiry_days: int,
    actor_id: int | None = None,
) -> RewardSettings:
    """Caps over every rule together, per member and day or week (0: none), and how many days
    crystals keep (0: forever). Crystals already earned keep the expiry they were given."""
    whole(daily_cap, "daily_cap", 0, MAX_CAP)
    whole(weekly_cap, "weekly_cap", 0, MAX_CAP)
    whole(expiry_days, "expiry_days", 0, MAX_EXPIRY_DAYS)
    if daily_cap and weekly_cap and weekly_cap < daily_cap:
        raise RewardsError(
            _("A weekly cap below the daily cap would make the daily cap meaningless."),
            field="weekly_cap",
        )
    with transaction.atomic():
        found, _created = RewardSettings.objects.select_for_update().get_or_create(
            community=community
        )
        before = {
            "daily_cap": found.daily_cap,
            "weekly_cap": found.weekly_cap,
            "expiry_days": found.expiry_days,
        }
        found.daily_cap = daily_cap
        found.weekly_cap = weekly_cap
        found.expiry_days = expiry_days
        found.updated_at = clock.now()
        found.save()
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            object_type="reward_settings",
            object_id=found.pk,
            data={
                "action": "reward_settings_updated",
                "from": before,
                "to": {
                    "daily_cap": daily_cap,
                    "weekly_cap": weekly_cap,
                    "expiry_days": expiry_days,
                },
            },
        )
        return found


def crystal_rule_set(
    *,
    community: Community,
    action: str,
    amount: int,
    daily_cap: int = 0,
    weekly_cap: int = 0,
    active: bool = True,
    actor_id: int | None = None,
) -> CrystalRule:
    """Create or change the rule of ``action``: ``amount`` crystals each time (per whole yuan
    paid for a purchase), at most ``daily_cap``/``weekly_cap`` per member (0: none)."""
    if action not in CrystalAction.values:
        raise RewardsError(
            _("An action is one of %(actions)s.")
            % {"actions": ", ".join(a for a in CrystalAction.values if a != CrystalAction.MANUAL)},
            field="action",
        )
    if action == CrystalAction.MANUAL:
        raise RewardsError(
            _("An operator's award names its own amount; it has no rule."), field="action"
        )
    whole(amount, "amount", 1, MAX_RULE_AMOUNT)
    whole(daily_cap, "daily_cap", 0, MAX_CAP)
    whole(weekly_cap, "weekly_cap", 0, MAX_CAP)
    if not isinstance(active, bool):
        raise RewardsError(_("Active is true or false."), field="active")
    if daily_cap and weekly_cap and weekly_cap < daily_cap:
        raise RewardsError(
            _("A weekly cap below the daily cap would make the daily cap meaningless."),
            field="weekly_cap",
        )
    with transaction.atomic():
        rule, created = CrystalRule.objects.select_for_update().get_or_create(
            community=community,
            action=action,
            defaults={
                "amount": amount,
                "daily_cap": daily_cap,
                "weekly_cap": weekly_cap,
                "active": active,
                "updated_at": clock.now(),
            },
        )
        before = None
        if not created:
            before = {
                "amount": rule.amount,
                "daily_cap": rule.daily_cap,
                "weekly_cap": rule.weekly_cap,
                "active": rule.active,
            }
            rule.amount = amount
            rule.daily_cap = daily_cap
            rule.weekly_cap = weekly_cap
            rule.active = active
            rule.updated_at = clock.now()
            rule.save()
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            object_type="crystal_rule",
            object_id=rule.pk,
            data={
                "action": "crystal_rule_set",
                "rule": action,
                "from": before,
                "to": {
                    "amount": amount,
                    "daily_cap": daily_cap,
                    "weekly_cap": weekly_cap,
                    "active": active,
                },
            },
        )
        return rule
