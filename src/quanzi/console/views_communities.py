"""Console pages for communities: the list, and one community's groups, plans, memberships and
invitations. Reads through the communities selectors, writes through its services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.communities import selectors as communities
from quanzi.communities.models import Community, MembershipPlan, MembershipStatus, PlanKind
from quanzi.communities.services.joining import invitation_create, invitation_revoke
from quanzi.communities.services.memberships import membership_cancel, membership_pay
from quanzi.communities.services.setup import (
    community_create,
    group_create,
    kol_seat_assign,
    kol_seat_release,
    plan_create,
)
from quanzi.console import qr
from quanzi.console.feedback import form_error
from quanzi.console.forms_communities import (
    PLAN_FIELDS_BY_KIND,
    CommunityCreateForm,
    GroupCreateForm,
    InvitationCreateForm,
    KolSeatForm,
    MembershipFilterForm,
    OfflinePaymentForm,
    PlanCreateForm,
)
from quanzi.console.views import operator_required
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.core.money import Money
from quanzi.members import selectors as members

PAID_KINDS = (PlanKind.ANNUAL, PlanKind.LIFETIME, PlanKind.FEE_GOODS)


def _actor(request: HttpRequest) -> int | None:
    return int(request.user.pk) if request.user.pk is not None else None


def _community_or_404(slug: str) -> Community:
    try:
        return communities.community_by_slug(slug)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, failed: bool = False
) -> HttpResponse:
    context.setdefault("section", "communities")
    return render(request, template, context, status=422 if failed else 200)


@require_http_methods(["GET", "POST"])
@operator_required
def community_list(request: HttpRequest) -> HttpResponse:
    form = CommunityCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            community = community_create(**form.cleaned_data, actor_id=_actor(request))
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("“%(name)s” is created.") % {"name": community.name})
            return redirect("console:community", slug=community.slug)
    context = {"communities": communities.community_list(), "form": form}
    return _render(request, "console/communities.html", context, failed=bool(form.errors))


def _community_context(community: Community, tab: str) -> dict[str, Any]:
    return {"community": community, "tab": tab}


# --- Groups ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@operator_required
def community_groups(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community_or_404(slug)
    plans = list(communities.plan_list(community=community))
    form = GroupCreateForm(request.POST or None, plans=plans)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        plan = next((p for p in plans if p.pk == data["required_plan"]), None)
        try:
            group = group_create(
                community=community,
                name=data["name"],
                tier=data["tier"],
                capacity=data["capacity"],
                rules=data["rules"],
                welcome_template=data["welcome_template"],
                intro_prompt=data["intro_prompt"],
                required_plan=plan,
                ends_on=data["ends_on"],
                actor_id=_actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Group “%(name)s” is created.") % {"name": group.name})
            return redirect("console:group", slug=community.slug, pk=group.pk)
    context = {
        **_community_context(community, "groups"),
        "groups": communities.group_list(community=community),
        "form": form,
    }
    return _render(request, "console/community_groups.html", context, failed=bool(form.errors))


@require_http_methods(["GET", "POST"])
@operator_required
def group_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community_or_404(slug)
    try:
        group = communities.group_get(community=community, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    form = KolSeatForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = members.member_get(form.cleaned_data["member"])
            kol_seat_assign(
                group=group,
                member=member,
                title=form.cleaned_data["title"],
                actor_id=_actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s holds a KOL seat in %(group)s.")
                % {"name": member.display_name, "group": group.name},
            )
            return redirect("console:group", slug=community.slug, pk=group.pk)
    context = {
        **_community_context(community, "groups"),
        "group": group,
        "seats": communities.group_seats(group),
        "waiting": communities.group_seats(group, status="waiting"),
        "kol_seats": group.kol_seats.all(),
        "form": form,
    }
    return _render(request, "console/group.html", context, failed=bool(form.errors))


@require_POST
@operator_required
def kol_seat_remove(request: HttpRequest, slug: str, pk: int, seat: int) -> HttpResponse:
    community = _community_or_404(slug)
    try:
        group = communities.group_get(community=community, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    held = next((s for s in group.kol_seats.all() if s.pk == seat), None)
    if held is None:
        raise Http404("No such KOL seat.")
    kol_seat_release(seat=held, actor_id=_actor(request))
    messages.success(request, _("The KOL seat is released."))
    return redirect("console:group", slug=community.slug, pk=group.pk)


# --- Plans -------------------------------------------------------------------------------------


def _plan_rows(plans: list[MembershipPlan]) -> list[dict[str, Any]]:
    now = clock.now()
    rows = []
    for plan in plans:
        renewal = None
        if plan.duration_days:
            renewal = communities.renewal_rate(
                plan=plan, since=now - timedelta(days=365), until=now
            )
        rows.append(
            {
                "plan": plan,
                "price": Money(plan.price_minor, plan.currency).format(),
                "goods_value": Money(plan.goods_value_minor, plan.currency).format(),
                "renewal": renewal,
                "renewal_percent": (
                    round(renewal.rate * 100) if renewal and renewal.rate is not None else None
                ),
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
@operator_required
def community_plans(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community_or_404(slug)
    groups = list(communities.group_list(community=community))
    form = PlanCreateForm(request.POST or None, groups=groups, currency=community.currency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = plan_create(
                community=community,
                name=data["name"],
                kind=data["kind"],
                price_minor=data["price"] or 0,
                duration_days=data["duration_days"],
                grace_days=data["grace_days"] or 0,
                reminder_days=7 if data["reminder_days"] is None else data["reminder_days"],
                groups=[g for g in groups if g.pk in data["groups"]],
                discount_percent=data["discount_percent"] or 0,
                member_only_content=data["member_only_content"],
                product_id=data["product_id"],
                goods_description=data["goods_description"] or "",
                goods_value_minor=data["goods_value"],
                actor_id=_actor(request),
            )
        except ApplicationError as exc:
            form_error(
                form,
                exc,
                {"price_minor": "price", "goods_value_minor": "goods_value"},
            )
        else:
            messages.success(request, _("Plan “%(name)s” is created.") % {"name": plan.name})
            return redirect("console:community_plans", slug=community.slug)
    context = {
        **_community_context(community, "plans"),
        "rows": _plan_rows(list(communities.plan_list(community=community))),
        "form": form,
        "fields_by_kind": PLAN_FIELDS_BY_KIND,
    }
    return _render(request, "console/community_plans.html", context, failed=bool(form.errors))


# --- Memberships -------------------------------------------------------------------------------


@require_GET
@operator_required
def community_memberships(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community_or_404(slug)
    form = MembershipFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    rows = communities.membership_list(community=community, status=status)[:200]
    context = {
        **_community_context(community, "memberships"),
        "form": form,
        "status": status,
        "memberships": rows,
        "paid_kinds": PAID_KINDS,
        "statuses": MembershipStatus,
    }
    return _render(request, "console/community_memberships.html", context)


def _membership_or_404(community: Community, pk: int) -> Any:
    try:
        membership = communities.membership_get(pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    if membership.plan.community_id != community.pk:
        raise Http404("No such membership in this community.")
    return membership


@require_http_methods(["GET", "POST"])
@operator_required
def membership_payment(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community_or_404(slug)
    membership = _membership_or_404(community, pk)
    plan = membership.plan
    form = OfflinePaymentForm(request.POST or None, currency=plan.currency)
    payable = plan.kind in PAID_KINDS and membership.status != MembershipStatus.CANCELLED
    if request.method == "POST" and form.is_valid():
        try:
            membership_pay(
                membership=membership,
                amount_minor=form.cleaned_data["amount"],
                payment_ref=f"offline:{form.cleaned_data['payment_ref'].strip()}",
                paid_at=form.paid_at(),
                actor_id=_actor(request),
            )
        except ApplicationError as exc:
            form_error(
                form, exc, {"amount_minor": "amount", "paid_at": "paid_on", "membership": "amount"}
            )
        else:
            messages.success(
                request,
                _("Payment recorded: %(name)s's “%(plan)s” is active.")
                % {"name": membership.member.display_name, "plan": plan.name},
            )
            return redirect(reverse("console:community_memberships", args=[community.slug]))
    context = {
        **_community_context(community, "memberships"),
        "membership": membership,
        "price": Money(plan.price_minor, plan.currency).format(),
        "payable": payable,
        "form": form,
    }
    return _render(request, "console/membership_payment.html", context, failed=bool(form.errors))


@require_POST
@operator_required
def membership_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community_or_404(slug)
    membership = _membership_or_404(community, pk)
    try:
        membership_cancel(membership=membership, actor_id=_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The pending membership of %(name)s is cancelled.")
            % {"name": membership.member.display_name},
        )
    return redirect("console:community_memberships", slug=community.slug)


# --- Invitations -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@operator_required
def community_invitations(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community_or_404(slug)
    groups = list(communities.group_list(community=community))
    plans = [p for p in communities.plan_list(community=community) if p.active]
    form = InvitationCreateForm(
        request.POST or None, groups=groups, plans=plans, channels=members.member_source_channels()
    )
    if request.method == "POST" and form.is_valid():
        kind, pk = form.target_ids()
        try:
            invitation = invitation_create(
                community=community,
                channel=form.cleaned_data["channel"],
                group=next((g for g in groups if g.pk == pk), None) if kind == "group" else None,
                plan=next((p for p in plans if p.pk == pk), None) if kind == "plan" else None,
                content=form.cleaned_data["content"],
                note=form.cleaned_data["note"],
                expires_at=form.expires_at(),
                max_uses=form.cleaned_data["max_uses"],
                actor_id=_actor(request),
            )
        except ApplicationError as exc:
            form_error(
                form, exc, {"group": "target", "plan": "target", "expires_at": "valid_until"}
            )
        else:
            messages.success(
                request,
                _("Invitation %(code)s is ready to share.") % {"code": invitation.code},
            )
            return redirect("console:community_invitations", slug=community.slug)
    now = clock.now()
    rows = []
    for invitation in communities.invitation_list(community=community):
        link = request.build_absolute_uri(reverse("h5:invitation", args=[invitation.code]))
        if invitation.revoked_at:
            state = "withdrawn"
        elif invitation.expires_at and invitation.expires_at <= now:
            state = "expired"
        elif invitation.max_uses is not None and invitation.uses >= invitation.max_uses:
            state = "used_up"
        else:
            state = "open"
        rows.append(
            {
                "invitation": invitation,
                "link": link,
                "state": state,
                "qr": qr.svg(link) if state == "open" else "",
            }
        )
    context = {
        **_community_context(community, "invitations"),
        "rows": rows,
        "form": form,
        "can_create": bool(groups or plans),
    }
    return _render(request, "console/community_invitations.html", context, failed=bool(form.errors))


@require_POST
@operator_required
def invitation_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community_or_404(slug)
    try:
        invitation = communities.invitation_by_id(community=community, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from None
    invitation_revoke(invitation=invitation, actor_id=_actor(request))
    messages.success(
        request,
        _("Invitation %(code)s is withdrawn; the link now says so.") % {"code": invitation.code},
    )
    return redirect("console:community_invitations", slug=community.slug)
