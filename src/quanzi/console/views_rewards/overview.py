"""The crystals overview (key figures, the leaderboard over 7, 30 or 90 days, the latest
earnings), and the terms and earn rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.communities.models import Community
from quanzi.console.commerce import actor, choose_community, community_or_404
from quanzi.console.feedback import form_saved
from quanzi.console.forms_rewards import RULED_ACTIONS, CrystalRuleForm, RewardSettingsForm
from quanzi.console.leaderboard import PERIODS, period_days, ranked
from quanzi.console.views import operator_required
from quanzi.console.views_rewards._common import (
    URL_NAME,
    failed,
    page,
    respond,
)
from quanzi.core import clock
from quanzi.core.models import LedgerAccount
from quanzi.members.models import Level
from quanzi.rewards import selectors as rewards
from quanzi.rewards.models import (
    CrystalAction,
    CrystalGrant,
    CrystalRule,
    GrowthLevel,
    MemberLevel,
    Redemption,
    RedemptionStatus,
)
from quanzi.rewards.services.rules import (
    crystal_rule_set,
    reward_settings_get,
    reward_settings_update,
)
from quanzi.rewards.services.wallet import RETURNED_PREFIX

# --- Overview ----------------------------------------------------------------------------------


def _wallets(community: Community) -> dict[str, int]:
    prefix = f"crystals:{community.pk}:member:"
    held = owed = holders = 0
    for code, balance in LedgerAccount.objects.filter(code__startswith=prefix).values_list(
        "code", "balance"
    ):
        if code.endswith(":debt"):
            owed += -int(balance)
        elif balance > 0:
            held += int(balance)
            holders += 1
    return {"held": held, "owed": owed, "holders": holders}


def _kpis(community: Community, days: int) -> dict[str, Any]:
    since = clock.now() - timedelta(days=days)
    earned = (
        CrystalGrant.objects.filter(community=community, earned_at__gte=since)
        .exclude(source__startswith=RETURNED_PREFIX)
        .aggregate(s=Sum("amount"))["s"]
    )
    spent = (
        Redemption.objects.filter(community=community, created_at__gte=since)
        .exclude(status=RedemptionStatus.CANCELLED)
        .aggregate(s=Sum("crystals"))["s"]
    )
    return {**_wallets(community), "earned": int(earned or 0), "spent": int(spent or 0)}


def _leaders(community: Community, days: int) -> list[dict[str, Any]]:
    rows = rewards.crystal_leaderboard(community, since=clock.now() - timedelta(days=days))
    levels = dict(
        MemberLevel.objects.filter(
            community=community, member_id__in=[r.member_id for r in rows]
        ).values_list("member_id", "level")
    )
    badges = dict(GrowthLevel.objects.filter(community=community).values_list("level", "badge"))
    return [
        {
            "rank": i,
            "row": r,
            "level": Level(levels.get(r.member_id, Level.NOVICE)).label,
            "badge": badges.get(levels.get(r.member_id, Level.NOVICE), ""),
            "share": share,
        }
        for i, r, share in ranked(rows, lambda r: r.crystals)
    ]


@require_GET
@operator_required
def crystals_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="crystals", url_name=URL_NAME)


@require_GET
@operator_required
def crystals_overview(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    days = period_days(request)
    recent = (
        CrystalGrant.objects.filter(community=community)
        .select_related("member")
        .order_by("-earned_at", "-pk")[:10]
    )
    context = {
        **page(community, "overview"),
        "kpis": _kpis(community, days),
        "days": days,
        "periods": PERIODS,
        "leaders": _leaders(community, days),
        "recent": recent,
        "terms": reward_settings_get(community),
        "rules_count": CrystalRule.objects.filter(community=community, active=True).count(),
    }
    return respond(request, "overview.html", context)


# --- Terms and rules ---------------------------------------------------------------------------


def _rule_forms(
    community: Community, bound: tuple[str, CrystalRuleForm] | None = None
) -> list[dict[str, Any]]:
    rules = {r.action: r for r in CrystalRule.objects.filter(community=community)}
    rows = []
    for action, label in RULED_ACTIONS:
        rule = rules.get(action)
        if bound is not None and bound[0] == action:
            form = bound[1]
        else:
            initial = (
                {
                    "amount": rule.amount,
                    "daily_cap": rule.daily_cap or None,
                    "weekly_cap": rule.weekly_cap or None,
                    "active": rule.active,
                }
                if rule
                else {"active": True}
            )
            form = CrystalRuleForm(prefix=action, initial=initial)
        rows.append({"action": action, "label": label, "rule": rule, "form": form})
    return rows


def _rules_page(
    request: HttpRequest,
    community: Community,
    *,
    settings_form: RewardSettingsForm | None = None,
    bound: tuple[str, CrystalRuleForm] | None = None,
) -> HttpResponse:
    terms = reward_settings_get(community)
    settings_form = settings_form or RewardSettingsForm(
        initial={
            "daily_cap": terms.daily_cap,
            "weekly_cap": terms.weekly_cap,
            "expiry_days": terms.expiry_days,
        }
    )
    context = {
        **page(community, "rules"),
        "terms": terms,
        "settings_form": settings_form,
        "rows": _rule_forms(community, bound),
    }
    status = failed(settings_form, bound[1] if bound else None)
    return respond(request, "rules.html", context, status=status)


@require_http_methods(["GET", "POST"])
@operator_required
def crystals_rules(request: HttpRequest, slug: str) -> HttpResponse:
    """The terms and the earn rules; a POST saves the terms."""
    community = community_or_404(request, slug)
    if request.method == "GET":
        return _rules_page(request, community)
    form = RewardSettingsForm(request.POST)
    if form.is_valid():
        done = form_saved(
            request,
            form,
            lambda: reward_settings_update(
                community=community, actor_id=actor(request), **form.cleaned_data
            ),
            success=_("Crystal terms are saved."),
            to="console:crystals_rules",
            slug=community.slug,
        )
        if done is not None:
            return done
    return _rules_page(request, community, settings_form=form)


@require_POST
@operator_required
def crystal_rule_save(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    community = community_or_404(request, slug)
    if action not in dict(RULED_ACTIONS):
        raise Http404("No such action.")
    form = CrystalRuleForm(request.POST, prefix=action)
    if form.is_valid():
        data = form.cleaned_data
        done = form_saved(
            request,
            form,
            lambda: crystal_rule_set(
                community=community,
                action=action,
                amount=data["amount"],
                daily_cap=data["daily_cap"],
                weekly_cap=data["weekly_cap"],
                active=data["active"],
                actor_id=actor(request),
            ),
            success=_("%(action)s: %(n)s crystals, saved.")
            % {"action": CrystalAction(action).label, "n": data["amount"]},
            to="console:crystals_rules",
            slug=community.slug,
        )
        if done is not None:
            return done
    return _rules_page(request, community, bound=(action, form))
