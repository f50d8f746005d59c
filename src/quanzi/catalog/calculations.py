"""Shipping fees, worked out from a template; no writes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from quanzi.catalog.models import WILDCARD, ShippingRule, ShippingTemplate
from quanzi.catalog.services.errors import CatalogError, NoShipping
from quanzi.core.money import Money


def shipping_rule_for(template: ShippingTemplate, region: str) -> ShippingRule:
    """The rule naming ``region``, else the ``*`` rule for everywhere else."""
    region = (region or "").strip()
    rules = list(template.rules.all())  # prefetch_related("rules") makes this free
    for rule in rules:
        if region in rule.regions:
            return rule
    for rule in rules:
        if WILDCARD in rule.regions:
            return rule
    raise NoShipping(
        _("%(template)s does not ship to %(region)s.")
        % {"template": template.name, "region": region or "?"},
        field="region",
    )


def shipping_fee(
    template: ShippingTemplate, region: str, units: int, goods_total_minor: int
) -> Money:
    """The fee for ``units`` units worth ``goods_total_minor`` sent to ``region``.

    Free when the goods reach the rule's threshold (满N包邮: at or over it); otherwise the first
    unit's fee plus the additional fee for each unit after it.
    """
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise CatalogError(_("Shipping is for 1 unit or more."), field="units")
    if goods_total_minor < 0:
        raise CatalogError(_("A goods total cannot be negative."), field="goods_total_minor")
    rule = shipping_rule_for(template, region)
    if rule.free_over_minor is not None and goods_total_minor >= rule.free_over_minor:
        return Money.zero(template.currency)
    return Money(rule.first_fee_minor + (units - 1) * rule.additional_fee_minor, template.currency)
