"""The rewards catalogue, and the redemptions to hand over or cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.catalog import selectors as catalog
from quanzi.communities.models import Community
from quanzi.console.commerce import actor, community_or_404
from quanzi.console.feedback import form_error
from quanzi.console.forms_rewards import (
    CrystalRewardForm,
    CrystalRewardUpdateForm,
    RedemptionCancelForm,
    RedemptionFulfilForm,
)
from quanzi.console.views import operator_required
from quanzi.console.views_rewards._common import MAX_ROWS, failed, page, respond
from quanzi.core.errors import ApplicationError
from quanzi.rewards.models import CrystalReward, Redemption, RedemptionStatus
from quanzi.rewards.services.redemptions import (
    crystal_reward_create,
    crystal_reward_update,
    redemption_cancel,
    redemption_fulfil,
)

# --- Rewards catalogue -------------------------------------------------------------------------


def _products(community: Community) -> list[tuple[int, str]]:
    return [(p.pk, p.name) for p in catalog.product_list(community=community).order_by("name")]


def _rewards_page(
    request: HttpRequest,
    community: Community,
    *,
    form: CrystalRewardForm | None = None,
    bound: tuple[int, CrystalRewardUpdateForm] | None = None,
) -> HttpResponse:
    rewards_ = list(
        CrystalReward.objects.filter(community=community)
        .select_related("product")
        .annotate(
            redeemed=Count("redemptions", filter=~Q(redemptions__status=RedemptionStatus.CANCELLED))
        )
        .order_by("-active", "cost", "pk")
    )
    rows = []
    for reward in rewards_:
        if bound is not None and bound[0] == reward.pk:
            update = bound[1]
        else:
            update = CrystalRewardUpdateForm(
                prefix=f"r{reward.pk}", initial={"cost": reward.cost, "active": reward.active}
            )
        rows.append({"reward": reward, "form": update})
    form = form or CrystalRewardForm(products=_products(community), currency=community.currency)
    context = {**page(community, "rewards"), "rows": rows, "form": form}
    return respond(
        request, "rewards.html", context, status=failed(form, bound[1] if bound else None)
    )


@require_http_methods(["GET", "POST"])
@operator_required
def crystal_rewards(request: HttpRequest, slug: str) -> HttpResponse:
    """The catalogue; a POST adds a reward."""
    community = community_or_404(request, slug)
    if request.method == "GET":
        return _rewards_page(request, community)
    form = CrystalRewardForm(
        request.POST, products=_products(community), currency=community.currency
    )
    if form.is_valid():
        data = form.cleaned_data
        product = None
        if data["product"] is not None:
            product = catalog.product_list(community=community).filter(pk=data["product"]).first()
        try:
            reward = crystal_reward_create(
                community=community,
                name=data["name"],
                kind=data["kind"],
                cost=data["cost"],
                product=product,
                coupon_value_minor=data["coupon_value"] or 0,
                stock=data["stock"],
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc, {"coupon_value_minor": "coupon_value"})
        else:
            messages.success(
                request,
                _("“%(name)s” is in the catalogue for %(n)s crystals.")
                % {"name": reward.name, "n": reward.cost},
            )
            return redirect("console:crystal_rewards", slug=community.slug)
    return _rewards_page(request, community, form=form)


@require_POST
@operator_required
def crystal_reward_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = community_or_404(request, slug)
    reward = CrystalReward.objects.filter(community=community, pk=pk).first()
    if reward is None:
        raise Http404("No such reward in this community.")
    form = CrystalRewardUpdateForm(request.POST, prefix=f"r{reward.pk}")
    if form.is_valid():
        try:
            crystal_reward_update(
                reward=reward,
                cost=form.cleaned_data["cost"],
                active=form.cleaned_data["active"],
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": reward.name})
            return redirect("console:crystal_rewards", slug=community.slug)
    return _rewards_page(request, community, bound=(reward.pk, form))


# --- Redemptions -------------------------------------------------------------------------------


def _redemptions_page(
    request: HttpRequest,
    community: Community,
    *,
    bound: tuple[int, str, Any] | None = None,
    status: int | None = None,
) -> HttpResponse:
    tab = "closed" if request.GET.get("tab") == "closed" else "open"
    listed = Redemption.objects.filter(community=community).select_related("member", "reward")
    if tab == "open":
        listed = listed.filter(status=RedemptionStatus.PLACED).order_by("created_at", "pk")
    else:
        listed = listed.exclude(status=RedemptionStatus.PLACED).order_by("-closed_at", "-pk")
    rows = []
    for redemption in listed[:MAX_ROWS]:
        forms: dict[str, Any] = {
            "fulfil": RedemptionFulfilForm(prefix=f"f{redemption.pk}"),
            "cancel": RedemptionCancelForm(prefix=f"c{redemption.pk}"),
        }
        if bound is not None and bound[0] == redemption.pk:
            forms[bound[1]] = bound[2]
        rows.append({"r": redemption, "forms": forms})
    context = {
        **page(community, "redemptions"),
        "rows": rows,
        "redemption_tab": tab,
        "closed_count": Redemption.objects.filter(community=community)
        .exclude(status=RedemptionStatus.PLACED)
        .count(),
    }
    if status is None:
        status = failed(bound[2] if bound else None)
    return respond(request, "redemptions.html", context, status=status)


@require_GET
@operator_required
def crystal_redemptions(request: HttpRequest, slug: str) -> HttpResponse:
    return _redemptions_page(request, community_or_404(request, slug))


def _redemption_or_404(community: Community, pk: int) -> Redemption:
    found = Redemption.objects.filter(community=community, pk=pk).select_related("member").first()
    if found is None:
        raise Http404("No such redemption in this community.")
    return found


def _redemption_step(
    request: HttpRequest,
    slug: str,
    pk: int,
    step: str,
    write: Callable[[Redemption, dict[str, Any]], object],
    success: Callable[[Redemption], str],
) -> HttpResponse:
    """Fulfil or cancel one redemption from its row's form. A refusal (say, closed meanwhile
    in another tab) is said above the list, since the row's forms may no longer apply."""
    community = community_or_404(request, slug)
    redemption = _redemption_or_404(community, pk)
    form_class = RedemptionFulfilForm if step == "fulfil" else RedemptionCancelForm
    form = form_class(request.POST, prefix=f"{step[0]}{redemption.pk}")
    if form.is_valid():
        try:
            write(redemption, form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return _redemptions_page(request, community, status=exc.status)
        messages.success(request, success(redemption))
        return redirect("console:crystal_redemptions", slug=community.slug)
    return _redemptions_page(request, community, bound=(redemption.pk, step, form))


@require_POST
@operator_required
def redemption_fulfil_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _redemption_step(
        request,
        slug,
        pk,
        "fulfil",
        lambda redemption, data: redemption_fulfil(
            redemption=redemption, note=data["note"], actor_id=actor(request)
        ),
        lambda redemption: (
            _("%(code)s is handed over to %(name)s.")
            % {"code": redemption.code, "name": redemption.member.display_name}
        ),
    )


@require_POST
@operator_required
def redemption_cancel_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _redemption_step(
        request,
        slug,
        pk,
        "cancel",
        lambda redemption, data: redemption_cancel(
            redemption=redemption, reason=data["reason"], actor_id=actor(request)
        ),
        lambda redemption: (
            _("%(code)s is cancelled; %(n)s crystals are back with %(name)s.")
            % {
                "code": redemption.code,
                "n": redemption.crystals,
                "name": redemption.member.display_name,
            }
        ),
    )
