"""My links: a member's personal link to the community and to each product on sale, with
their posters, and applying to be a store sharer or a group leader.

Every member has links, distributor or not; only an approved distributor's sales earn
commission. Applying never asks anyone to buy anything (DESIGN.md, Rules that protect people).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from quanzi.catalog import selectors as catalog
from quanzi.catalog.models import Product
from quanzi.communities.models import Community
from quanzi.console.feedback import form_error
from quanzi.core.errors import ApplicationError
from quanzi.distribution.models import Distributor, DistributorStatus, ReferralLink
from quanzi.distribution.services.distributors import distributor_apply
from quanzi.distribution.services.links import referral_link_get_or_create
from quanzi.distribution.services.settings import distribution_settings_get
from quanzi.h5.views_share._common import Price, community_or_404, product_price, tone
from quanzi.h5.views_share.forms import APPLY_ROLES, ApplyForm
from quanzi.h5.views_shop._common import members_only
from quanzi.members import selectors as members
from quanzi.members.models import Member

EARNING = (DistributorStatus.APPROVED, DistributorStatus.SUSPENDED)


@dataclass(frozen=True)
class LinkView:
    link: ReferralLink
    url: str
    poster_url: str
    product: Product | None
    price: Price | None
    tone: int | None

    @property
    def anchor(self) -> str:
        return f"p-{self.product.pk}" if self.product is not None else "community"


def _view(request: HttpRequest, link: ReferralLink, product: Product | None) -> LinkView:
    return LinkView(
        link=link,
        url=request.build_absolute_uri(reverse("h5:referral", args=[link.code])),
        poster_url=reverse("h5:referral_poster", args=[link.code]),
        product=product,
        price=product_price(product) if product is not None else None,
        tone=tone(product) if product is not None else None,
    )


def _links(request: HttpRequest, community: Community, member: Member) -> list[LinkView]:
    """The community link first, then one per product on sale (made on first look)."""
    views = [_view(request, referral_link_get_or_create(community=community, sharer=member), None)]
    products = catalog.product_list(community=community, on_sale=True).prefetch_related("skus")
    for product in products.order_by("name", "pk"):
        link = referral_link_get_or_create(community=community, sharer=member, product=product)
        views.append(_view(request, link, product))
    return views


def roles_of(community: Community, member: Member) -> list[Distributor]:
    return list(
        Distributor.objects.filter(
            community=community, member_id__in=members.member_ids_for(member)
        ).order_by("applied_at", "pk")
    )


def _open_roles(roles: list[Distributor]) -> list[str]:
    """Roles the member may still apply for: not held, or refused before."""
    held = {r.role for r in roles if r.status != DistributorStatus.REJECTED}
    return [role for role in APPLY_ROLES if role not in held]


@require_http_methods(["GET", "POST"])
@members_only
def share(request: HttpRequest, member: Member, slug: str) -> HttpResponse:
    community = community_or_404(slug)
    roles = roles_of(community, member)
    open_roles = _open_roles(roles)
    form = ApplyForm(request.POST or None, roles=open_roles) if open_roles else None
    status = 200
    if request.method == "POST":
        if form is None:
            return redirect("h5:share", slug=community.slug)
        if form.is_valid():
            data = form.cleaned_data
            try:
                distributor_apply(
                    community=community,
                    member=member,
                    role=data["role"],
                    application=data["application"],
                    pickup_point=data["pickup_point"] if data["role"] == "group_leader" else "",
                )
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request, _("Application sent. The owner will answer here, usually within days.")
                )
                return redirect(reverse("h5:share", args=[community.slug]) + "#roles")
        status = 422
    context = {
        "tab": "me",
        "community": community,
        "member": member,
        "links": _links(request, community, member),
        "roles": roles,
        "earning": any(r.status in EARNING for r in roles),
        "approved": any(r.status == DistributorStatus.APPROVED for r in roles),
        "form": form,
        "attribution_days": distribution_settings_get(community).attribution_days,
    }
    return render(request, "h5/share/share.html", context, status=status)
