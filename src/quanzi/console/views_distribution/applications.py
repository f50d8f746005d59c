"""The distributors of a community: the queue of applications to approve or reject, and the
approved ones to suspend (with a reason the member sees) or reinstate."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from quanzi.communities.models import Community
from quanzi.console.commerce import actor, community_or_404
from quanzi.console.feedback import form_error
from quanzi.console.forms_distribution import (
    ApproveDistributorForm,
    DistributorFilterForm,
    ReasonForm,
)
from quanzi.console.views import operator_required
from quanzi.console.views_distribution._common import page
from quanzi.core.errors import ApplicationError
from quanzi.distribution.models import Distributor, DistributorStatus
from quanzi.distribution.services.distributors import (
    distributor_approve,
    distributor_reject,
    distributor_suspend,
)

S = DistributorStatus
MAX_ROWS = 200
# The forms each status offers, by the action's name.
ACTIONS: dict[str, tuple[str, ...]] = {
    S.APPLIED: ("approve", "reject"),
    S.APPROVED: ("suspend",),
    S.SUSPENDED: ("reinstate",),
    S.REJECTED: (),
}
FORMS: dict[str, type[ApproveDistributorForm] | type[ReasonForm]] = {
    "approve": ApproveDistributorForm,
    "reinstate": ApproveDistributorForm,
    "reject": ReasonForm,
    "suspend": ReasonForm,
}


def _filters(params: QueryDict) -> tuple[DistributorFilterForm, dict[str, str]]:
    """The list's filters; with none given, the queue of applications waiting."""
    data = params.copy()
    if "status" not in data:
        data["status"] = S.APPLIED
    form = DistributorFilterForm(data)
    return form, form.filters()


def _query(filters: dict[str, str]) -> str:
    params = QueryDict(mutable=True)
    params["status"] = filters["status"]
    if filters["role"]:
        params["role"] = filters["role"]
    return params.urlencode()


def _applications_page(
    request: HttpRequest,
    community: Community,
    *,
    bound: tuple[int, str, Any] | None = None,
    status: int | None = None,
) -> HttpResponse:
    form, filters = _filters(request.GET)
    everyone = Distributor.objects.filter(community=community)
    if filters["role"]:
        everyone = everyone.filter(role=filters["role"])
    counts = {row["status"]: row["n"] for row in everyone.values("status").annotate(n=Count("pk"))}
    listed = everyone.select_related("member", "group")
    if filters["status"]:
        listed = listed.filter(status=filters["status"])
    # The queue reads oldest first (first come, first served); decided ones newest first.
    ordering = ["applied_at", "pk"] if filters["status"] == S.APPLIED else ["-applied_at", "-pk"]
    rows = []
    for distributor in listed.order_by(*ordering)[:MAX_ROWS]:
        forms = {}
        for action in ACTIONS[distributor.status]:
            if bound is not None and bound[0] == distributor.pk and bound[1] == action:
                forms[action] = bound[2]
            else:
                forms[action] = FORMS[action](prefix=f"{action}{distributor.pk}")
        rows.append({"d": distributor, "forms": forms})
    query = _query(filters)
    role_param = f"&role={filters['role']}" if filters["role"] else ""
    segments = [
        (status, label, counts.get(status, 0), f"?status={status}{role_param}")
        for status, label in S.choices
    ]
    context = {
        **page(community, "applications"),
        "filters": form,
        "status": filters["status"],
        "role": filters["role"],
        "segments": segments,
        "all_count": sum(counts.values()),
        "all_url": f"?status={role_param}",
        "rows": rows,
        "query": query,
        "action_url": reverse("console:distribution_applications", args=[community.slug]),
    }
    if status is None:
        status = 422 if bound is not None and bound[2].errors else 200
    return render(request, "console/distribution/applications.html", context, status=status)


@require_GET
@operator_required
def distribution_applications(request: HttpRequest, slug: str) -> HttpResponse:
    return _applications_page(request, community_or_404(request, slug))


def _distributor_or_404(community: Community, pk: int) -> Distributor:
    found = Distributor.objects.filter(community=community, pk=pk).select_related("member").first()
    if found is None:
        raise Http404("No such distributor in this community.")
    return found


DONE = {
    "approve": gettext_lazy(
        "%(name)s is approved as %(role)s; their shared sales now earn commission."
    ),
    "reinstate": gettext_lazy("%(name)s is reinstated as %(role)s."),
    "reject": gettext_lazy("The application of %(name)s is rejected; they see your reason."),
    "suspend": gettext_lazy("%(name)s is suspended as %(role)s; what they earned stays theirs."),
}


@require_POST
@operator_required
def distributor_decide(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    community = community_or_404(request, slug)
    distributor = _distributor_or_404(community, pk)
    if action not in FORMS:
        raise Http404("No such action.")
    form = FORMS[action](request.POST, prefix=f"{action}{distributor.pk}")
    if form.is_valid():
        by = actor(request)
        try:
            if action in ("approve", "reinstate"):
                if action == "reinstate" and distributor.status != S.SUSPENDED:
                    raise ApplicationError(
                        _("Only a suspended distributor is reinstated."), field="status"
                    )
                distributor_approve(
                    distributor=distributor, note=form.cleaned_data["note"], actor_id=by
                )
            elif action == "reject":
                distributor_reject(
                    distributor=distributor, reason=form.cleaned_data["reason"], actor_id=by
                )
            else:
                distributor_suspend(
                    distributor=distributor, reason=form.cleaned_data["reason"], actor_id=by
                )
        except ApplicationError as exc:
            if not any(name in form.fields for name in exc.fields):
                # Decided meanwhile (another tab, another operator): the row's forms changed.
                messages.error(request, exc.message)
                return _applications_page(request, community, status=exc.status)
            form_error(form, exc)
        else:
            messages.success(
                request,
                str(DONE[action])
                % {
                    "name": distributor.member.display_name,
                    "role": distributor.get_role_display(),
                },
            )
            url = reverse("console:distribution_applications", args=[community.slug])
            query = request.GET.urlencode()
            return redirect(f"{url}?{query}" if query else url)
    return _applications_page(request, community, bound=(distributor.pk, action, form))
