"""Commission rules (level 1 or 2, a percentage or a fixed amount, by product, category and
role) and the community's distribution terms."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from quanzi.catalog import selectors as catalog
from quanzi.catalog.models import Product
from quanzi.communities.models import Community
from quanzi.console.commerce import actor, community_or_404
from quanzi.console.feedback import form_saved
from quanzi.console.forms_distribution import CommissionRuleForm, DistributionSettingsForm
from quanzi.console.views import operator_required
from quanzi.console.views_distribution._common import money, page, respond, rule_rate
from quanzi.core.errors import ApplicationError
from quanzi.core.money import Money
from quanzi.distribution.models import CommissionLevel, CommissionRule
from quanzi.distribution.services import rules as rule_services
from quanzi.distribution.services.settings import (
    distribution_settings_get,
    distribution_settings_update,
)

RULE_ALIASES = {"percent_bp": "percent", "fixed_minor": "fixed"}
SETTINGS_ALIASES = {"min_payout_minor": "min_payout"}


def _products(community: Community) -> list[Product]:
    return list(catalog.product_list(community=community).order_by("name", "pk"))


def _rule_form(request: HttpRequest, community: Community) -> CommissionRuleForm:
    return CommissionRuleForm(
        request.POST if request.method == "POST" else None,
        products=[(p.pk, p.name) for p in _products(community)],
        currency=community.currency,
    )


def _settings_form(community: Community, data: Any = None) -> DistributionSettingsForm:
    terms = distribution_settings_get(community)
    initial = {
        "attribution_days": terms.attribution_days,
        "binding_days": terms.binding_days,
        "return_window_days": terms.return_window_days,
        "min_payout": Money(terms.min_payout_minor, community.currency).as_decimal_string(),
        "second_level": terms.second_level,
    }
    return DistributionSettingsForm(data, initial=initial, currency=community.currency)


def _rules_page(
    request: HttpRequest,
    community: Community,
    *,
    rule_form: CommissionRuleForm | None = None,
    settings_form: DistributionSettingsForm | None = None,
) -> HttpResponse:
    terms = distribution_settings_get(community)
    rules = list(
        CommissionRule.objects.filter(community=community)
        .select_related("product")
        .order_by("-active", "level", "-pk")
    )
    rows = [
        {
            "rule": rule,
            "rate": rule_rate(rule, community),
            "level": CommissionLevel(rule.level).label,
        }
        for rule in rules
    ]
    rule_form = rule_form or CommissionRuleForm(
        products=[(p.pk, p.name) for p in _products(community)], currency=community.currency
    )
    settings_form = settings_form or _settings_form(community)
    context = {
        **page(community, "rules"),
        "rows": rows,
        "active_count": sum(1 for rule in rules if rule.active),
        "second_rules": any(rule.active and rule.level == CommissionLevel.SECOND for rule in rules),
        "terms": terms,
        "min_payout": money(terms.min_payout_minor, community),
        "rule_form": rule_form,
        "settings_form": settings_form,
    }
    failed = bool(rule_form.errors or settings_form.errors)
    return respond(request, "console/distribution/rules.html", context, failed=failed)


@require_http_methods(["GET", "POST"])
@operator_required
def distribution_rules(request: HttpRequest, slug: str) -> HttpResponse:
    """The rules and terms; a POST creates a rule."""
    community = community_or_404(request, slug)
    if request.method == "GET":
        return _rules_page(request, community)
    form = _rule_form(request, community)
    if form.is_valid():
        data = form.cleaned_data
        product = None
        if data["product"] is not None:
            product = next((p for p in _products(community) if p.pk == data["product"]), None)
        done = form_saved(
            request,
            form,
            lambda: rule_services.commission_rule_create(
                community=community,
                kind=data["kind"],
                percent_bp=form.percent_bp,
                fixed_minor=form.fixed_minor,
                level=data["level"],
                role=data["role"] or "",
                product=product,
                category=data["category"],
                actor_id=actor(request),
            ),
            success=lambda rule: (
                _("Rule saved: %(who)s earns %(rate)s.")
                % {
                    "who": CommissionLevel(rule.level).label,
                    "rate": rule_rate(rule, community),
                }
            ),
            to="console:distribution_rules",
            aliases=RULE_ALIASES,
            slug=community.slug,
        )
        if done is not None:
            return done
    return _rules_page(request, community, rule_form=form)


@require_POST
@operator_required
def commission_rule_deactivate_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = community_or_404(request, slug)
    rule = CommissionRule.objects.filter(community=community, pk=pk).first()
    if rule is None:
        raise Http404("No such rule in this community.")
    try:
        rule_services.commission_rule_deactivate(rule=rule, actor_id=actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The rule no longer pays on new sales; commission already earned under it stays."),
        )
    return redirect("console:distribution_rules", slug=community.slug)


@require_POST
@operator_required
def distribution_settings_view(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    form = _settings_form(community, request.POST)
    if form.is_valid():
        done = form_saved(
            request,
            form,
            lambda: distribution_settings_update(
                community=community, actor_id=actor(request), **form.changes()
            ),
            success=_("Distribution terms are saved."),
            to="console:distribution_rules",
            aliases=SETTINGS_ALIASES,
            slug=community.slug,
        )
        if done is not None:
            return done
    return _rules_page(request, community, settings_form=form)
