"""Shipping templates: fees by region, set up by an operator."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.catalog.models import WILDCARD, ShippingRule, ShippingTemplate
from quanzi.catalog.services.errors import CatalogError
from quanzi.catalog.services.recording import recorded
from quanzi.catalog.services.validation import price as _price
from quanzi.catalog.services.validation import text as _text
from quanzi.communities.models import Community
from quanzi.core.errors import Conflict


@dataclass(frozen=True)
class RuleSpec:
    """One rule of a template: provinces (or ``["*"]`` for everywhere else) and their fees."""

    regions: list[str]
    first_fee_minor: int
    additional_fee_minor: int
    free_over_minor: int | None = None


def _clean_rules(rules: list[RuleSpec]) -> list[RuleSpec]:
    if not rules:
        raise CatalogError(_("A shipping template has at least one rule."), field="rules")
    if len(rules) > 50:
        raise CatalogError(_("A shipping template has at most 50 rules."), field="rules")
    seen: set[str] = set()
    clean = []
    for spec in rules:
        if not isinstance(spec.regions, list) or not spec.regions:
            raise CatalogError(_("Each rule names its regions, or * for the rest."), field="rules")
        regions = []
        for region in spec.regions:
            name = region.strip() if isinstance(region, str) else ""
            if not name or len(name) > 30:
                raise CatalogError(_("A region is a province name, or *."), field="rules")
            if name in seen:
                raise CatalogError(
                    _("%(region)s is in two rules; each region has one fee.") % {"region": name},
                    field="rules",
                )
            seen.add(name)
            regions.append(name)
        if WILDCARD in regions and len(regions) > 1:
            raise CatalogError(_("The * rule stands alone."), field="rules")
        for field in ("first_fee_minor", "additional_fee_minor"):
            _price(getattr(spec, field), field)
        if spec.free_over_minor is not None:
            _price(spec.free_over_minor, "free_over_minor")
        clean.append(
            RuleSpec(regions, spec.first_fee_minor, spec.additional_fee_minor, spec.free_over_minor)
        )
    return clean


def shipping_template_create(
    *, community: Community, name: str, rules: list[RuleSpec], actor_id: int | None = None
) -> ShippingTemplate:
    name = _text(name, "name", 100, required=True)
    clean = _clean_rules(rules)
    try:
        with transaction.atomic():
            template = ShippingTemplate.objects.create(
                community=community, name=name, currency=community.currency
            )
            ShippingRule.objects.bulk_create(
                ShippingRule(
                    template=template,
                    regions=spec.regions,
                    first_fee_minor=spec.first_fee_minor,
                    additional_fee_minor=spec.additional_fee_minor,
                    free_over_minor=spec.free_over_minor,
                )
                for spec in clean
            )
            recorded(
                "shipping_template_created",
                "shipping_template",
                template.pk,
                actor_id=actor_id,
                community_id=community.pk,
                data={"rules": len(clean)},
            )
            return template
    except IntegrityError:
        raise Conflict(
            _("A shipping template named %(name)r exists already.") % {"name": name},
            field="name",
        ) from None
