"""A community's distribution terms: attribution window, customer binding, the second level,
the return window before commission matures, and the smallest payout."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.distribution.models import DistributionSettings
from quanzi.distribution.services.errors import DistributionError

_RANGES: dict[str, tuple[int, int, Promise]] = {
    "attribution_days": (1, 90, gettext_lazy("An attribution window is 1 to 90 days.")),
    "binding_days": (0, 365, gettext_lazy("A customer binding lasts 0 (none) to 365 days.")),
    "return_window_days": (0, 90, gettext_lazy("A return window is 0 to 90 days.")),
    "min_payout_minor": (1, 100_000_000, gettext_lazy("The smallest payout is at least 1 fen.")),
}


def distribution_settings_get(community: Community) -> DistributionSettings:
    """The community's terms; the defaults (unsaved) when the operator never changed them."""
    found = DistributionSettings.objects.filter(community=community).first()
    return found or DistributionSettings(community=community)


def distribution_settings_update(
    *, community: Community, actor_id: int | None = None, **changes: Any
) -> DistributionSettings:
    unknown = set(changes) - {*_RANGES, "second_level"}
    if unknown:
        field = sorted(unknown)[0]
        raise DistributionError(_("Unknown setting %(name)s.") % {"name": field}, field=field)
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if name == "second_level":
            if not isinstance(value, bool):
                errors[name] = [_("Say true or false.")]
            continue
        low, high, message = _RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = [str(message)]
    if errors:
        first = next(iter(errors.values()))[0]
        raise DistributionError(first, fields=errors)
    with transaction.atomic():
        current, _created = DistributionSettings.objects.select_for_update().get_or_create(
            community=community
        )
        before = {name: getattr(current, name) for name in changes}
        for name, value in changes.items():
            setattr(current, name, value)
        current.updated_at = clock.now()
        current.updated_by_id = actor_id
        current.save()
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            object_type="distribution_settings",
            object_id=community.pk,
            data={"action": "distribution_settings_updated", "before": before, "after": changes},
        )
        return current
