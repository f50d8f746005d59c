"""Commission rules: percentage or fixed, by product, category and role, one or two levels.

Refused here with a field error, and by CHECK constraints should a caller skip this: a third
level, a percentage over 100 %, a negative amount, both kinds at once.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.catalog.models import Product
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.distribution.models import (
    MAX_LEVEL,
    CommissionKind,
    CommissionRule,
    DistributorRole,
)
from quanzi.distribution.services.errors import DistributionError


def commission_rule_create(
    *,
    community: Community,
    kind: str,
    percent_bp: int = 0,
    fixed_minor: int = 0,
    level: int = 1,
    role: str = "",
    product: Product | None = None,
    category: str = "",
    actor_id: int | None = None,
) -> CommissionRule:
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_LEVEL:
        raise DistributionError(
            _(
                "Commission reaches the direct referrer (level 1) and at most the one above "
                "(level 2); never further."
            ),
            field="level",
        )
    if kind not in CommissionKind.values:
        raise DistributionError(_("A commission is a percentage or a fixed amount."), field="kind")
    for name, value in (("percent_bp", percent_bp), ("fixed_minor", fixed_minor)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DistributionError(_("Give a whole number of 0 or more."), field=name)
    if kind == CommissionKind.PERCENT:
        if not 1 <= percent_bp <= 10_000:
            raise DistributionError(
                _("A percentage is more than 0 and at most 100 percent (10000 basis points)."),
                field="percent_bp",
            )
        if fixed_minor:
            raise DistributionError(
                _("A percentage rule has no fixed amount."), field="fixed_minor"
            )
    else:
        if fixed_minor < 1:
            raise DistributionError(_("A fixed commission is at least 1 fen."), field="fixed_minor")
        if percent_bp:
            raise DistributionError(_("A fixed rule has no percentage."), field="percent_bp")
    if role and role not in DistributorRole.values:
        raise DistributionError(
            _("A role is one of %(roles)s.") % {"roles": ", ".join(DistributorRole.values)},
            field="role",
        )
    if product is not None and product.community_id != community.pk:
        raise DistributionError(_("The product belongs to another community."), field="product")
    category = (category or "").strip()
    if len(category) > 50:
        raise DistributionError(_("At most %(n)s characters.") % {"n": 50}, field="category")
    with transaction.atomic():
        rule = CommissionRule.objects.create(
            community=community,
            kind=kind,
            percent_bp=percent_bp,
            fixed_minor=fixed_minor,
            level=level,
            role=role,
            product=product,
            category=category,
            created_at=clock.now(),
            created_by_id=actor_id,
        )
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            object_type="commission_rule",
            object_id=rule.pk,
            data={
                "action": "commission_rule_created",
                "level": level,
                "kind": kind,
                "percent_bp": percent_bp,
                "fixed_minor": fixed_minor,
            },
        )
        return rule


def commission_rule_deactivate(
    *, rule: CommissionRule, actor_id: int | None = None
) -> CommissionRule:
    """Stop a rule paying on sales from now on; what it already earned stays (each commission
    keeps its own copy of the rule)."""
    with transaction.atomic():
        rule = CommissionRule.objects.select_for_update().get(pk=rule.pk)
        if not rule.active:
            return rule
        rule.active = False
        rule.save(update_fields=["active"])
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=rule.community_id,
            object_type="commission_rule",
            object_id=rule.pk,
            data={"action": "commission_rule_deactivated", "level": rule.level},
        )
        return rule
