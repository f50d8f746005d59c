"""Growth levels, and what an operator gives a contributor: crystals, a cash reward, a perk."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.communities import selectors as communities
from quanzi.communities.models import Community
from quanzi.console.commerce import actor, community_or_404
from quanzi.console.feedback import form_saved
from quanzi.console.forms_rewards import (
    AwardForm,
    CashRewardForm,
    GrowthLevelForm,
    PerkForm,
    new_token,
)
from quanzi.console.views import operator_required
from quanzi.console.views_rewards._common import failed, page, respond
from quanzi.core.money import Money
from quanzi.members.models import Level, Member
from quanzi.rewards.models import CrystalAction, CrystalGrant, GrowthLevel, MemberLevel, Redemption
from quanzi.rewards.services.cash import cash_reward_grant
from quanzi.rewards.services.earning import crystals_earn
from quanzi.rewards.services.levels import growth_level_set
from quanzi.rewards.services.redemptions import perk_grant
from quanzi.rewards.services.wallet import RETURNED_PREFIX

# --- Growth levels -----------------------------------------------------------------------------


def _groups(community: Community) -> list[tuple[int, str]]:
    return [(g.pk, g.name) for g in communities.group_list(community=community)]


@require_http_methods(["GET", "POST"])
@operator_required
def crystal_levels(request: HttpRequest, slug: str) -> HttpResponse:
    """The growth levels and how many members hold each; a POST sets one level."""
    community = community_or_404(request, slug)
    form = GrowthLevelForm(
        request.POST if request.method == "POST" else None, groups=_groups(community)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        group = None
        if data["group"] is not None:
            group = communities.group_list(community=community).filter(pk=data["group"]).first()
        done = form_saved(
            request,
            form,
            lambda: growth_level_set(
                community=community,
                level=data["level"],
                min_earned=data["min_earned"],
                discount_percent=data["discount_percent"],
                group=group,
                badge=data["badge"],
                actor_id=actor(request),
            ),
            success=lambda found: (
                _("%(level)s is reached at %(n)s crystals earned; members' levels are updated.")
                % {"level": Level(found.level).label, "n": found.min_earned}
            ),
            to="console:crystal_levels",
            slug=community.slug,
        )
        if done is not None:
            return done
    levels = {
        g.level: g for g in GrowthLevel.objects.filter(community=community).select_related("group")
    }
    holders = dict(
        MemberLevel.objects.filter(community=community)
        .values("level")
        .annotate(n=Count("pk"))
        .values_list("level", "n")
    )
    rows = [
        {
            "level": value,
            "label": label,
            "growth": levels.get(value),
            "members": holders.get(value, 0),
        }
        for value, label in Level.choices
    ]
    context = {**page(community, "levels"), "rows": rows, "form": form}
    return respond(request, "levels.html", context, status=failed(form))


# --- Contributors ------------------------------------------------------------------------------


def _contributors_page(
    request: HttpRequest,
    community: Community,
    *,
    award: AwardForm | None = None,
    cash: CashRewardForm | None = None,
    perk: PerkForm | None = None,
) -> HttpResponse:
    recent = (
        CrystalGrant.objects.filter(community=community, action=CrystalAction.MANUAL)
        .exclude(source__startswith=RETURNED_PREFIX)
        .select_related("member")
        .order_by("-earned_at", "-pk")[:10]
    )
    perks = (
        Redemption.objects.filter(community=community, reward__isnull=True)
        .select_related("member")
        .order_by("-created_at", "-pk")[:10]
    )
    context = {
        **page(community, "contributors"),
        "award": award or AwardForm(initial={"token": new_token()}),
        "cash": cash or CashRewardForm(currency=community.currency, initial={"token": new_token()}),
        "perk": perk or PerkForm(),
        "recent": recent,
        "perks": perks,
    }
    return respond(request, "contributors.html", context, status=failed(award, cash, perk))


@require_GET
@operator_required
def crystal_contributors(request: HttpRequest, slug: str) -> HttpResponse:
    return _contributors_page(request, community_or_404(request, slug))


@require_POST
@operator_required
def crystal_award(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    form = AwardForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        member: Member = data["member"]
        done = form_saved(
            request,
            form,
            lambda: crystals_earn(
                community=community,
                member=member,
                action=CrystalAction.MANUAL,
                source=f"console:{data['token']}",
                amount=data["amount"],
                note=data["note"],
                actor_id=actor(request),
                strict=True,
            ),
            success=lambda grant: (
                _("%(name)s received %(n)s crystals.")
                % {"name": member.display_name, "n": grant.amount if grant is not None else 0}
            ),
            to="console:crystal_contributors",
            slug=community.slug,
        )
        if done is not None:
            return done
    return _contributors_page(request, community, award=form)


@require_POST
@operator_required
def crystal_cash_reward(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    form = CashRewardForm(request.POST, currency=community.currency)
    if form.is_valid():
        data = form.cleaned_data
        member: Member = data["member"]
        done = form_saved(
            request,
            form,
            lambda: cash_reward_grant(
                community=community,
                member=member,
                amount_minor=data["amount"],
                reason=data["reason"],
                actor_id=actor(request),
                idempotency_key=f"console:{data['token']}",
            ),
            success=_("%(amount)s for %(name)s is payable; it leaves with the next payout batch.")
            % {
                "amount": Money(data["amount"], community.currency),
                "name": member.display_name,
            },
            to="console:crystal_contributors",
            aliases={"amount_minor": "amount"},
            slug=community.slug,
        )
        if done is not None:
            return done
    return _contributors_page(request, community, cash=form)


@require_POST
@operator_required
def crystal_perk(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    form = PerkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        member: Member = data["member"]
        done = form_saved(
            request,
            form,
            lambda: perk_grant(
                community=community,
                member=member,
                name=data["name"],
                note=data["note"],
                actor_id=actor(request),
            ),
            success=lambda given: (
                _("“%(perk)s” for %(name)s is in the redemptions to hand over (code %(code)s).")
                % {"perk": given.name, "name": member.display_name, "code": given.code}
            ),
            to="console:crystal_contributors",
            slug=community.slug,
        )
        if done is not None:
            return done
    return _contributors_page(request, community, perk=form)
