"""Operator console views: parse the request, call a selector or a core service, render.

No business rules here. Reads come from ``quanzi.console.selectors``; writes are core services
(``api_token_create``, ``api_token_revoke``) and the scheduler's ``job_run``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.console import charts, selectors
from quanzi.console.forms import ActivityFilterForm, OperatorLoginForm, TokenCreateForm
from quanzi.core import scheduling
from quanzi.core.errors import ApplicationError
from quanzi.core.models import JobStatus
from quanzi.core.services.tokens import api_token_create, api_token_revoke

View = Callable[..., HttpResponse]
operator_required: Callable[[View], View] = staff_member_required(login_url="console:login")


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = OperatorLoginForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Only operators skip the form: sending a signed-in non-operator on to the console
        # would bounce them straight back here.
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff:
            return redirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@require_GET
@operator_required
def home(request: HttpRequest) -> HttpResponse:
    daily = selectors.daily_activity(days=30)
    context = {
        "kpis": selectors.overview_kpis(days=30),
        "daily": daily,
        "figure": None if daily.empty else charts.daily_activity_figure(daily),
        "recent": selectors.recent_activities(limit=8),
        "section": "home",
    }
    return render(request, "console/home.html", context)


@require_GET
@operator_required
def activity(request: HttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET or None, channels=selectors.activity_channels())
    filters = form.filters() if form.is_bound else selectors.ActivityFilters()
    page = selectors.activity_page(filters=filters, cursor=request.GET.get("cursor", ""))
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "paged": bool(request.GET.get("cursor")),
        "section": "activity",
    }
    if getattr(request, "htmx", False) and request.GET.get("cursor"):
        # "Load more": only the next rows and a fresh button, appended to the table.
        return render(request, "console/_activity_rows.html", context)
    return render(request, "console/activity.html", context)


@require_GET
@operator_required
def jobs(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/jobs.html",
        {"jobs": selectors.jobs_overview(), "section": "jobs", "statuses": JobStatus},
    )


@require_POST
@operator_required
def job_run_now(request: HttpRequest, name: str) -> HttpResponse:
    if not selectors.job_exists(name):
        raise Http404("No such job.")
    run = scheduling.job_run(name, manual=True)
    if run is None:
        messages.warning(
            request, _("%(job)s is already running; try again in a moment.") % {"job": name}
        )
    elif run.status == JobStatus.DONE:
        result = run.result or _("no result")
        messages.success(request, _("%(job)s ran: %(result)s") % {"job": name, "result": result})
    else:
        reason = (run.error.strip().splitlines() or [_("unknown error")])[-1]
        messages.error(request, _("%(job)s failed: %(reason)s") % {"job": name, "reason": reason})
    return redirect("console:jobs")


@require_http_methods(["GET", "POST"])
@operator_required
def tokens(request: HttpRequest) -> HttpResponse:
    created = None
    raw = ""
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created, raw = api_token_create(
                username=request.user.get_username(), name=form.cleaned_data["name"]
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            # Rendered in this response and nowhere else: the raw token is never stored.
            form = TokenCreateForm()
            messages.success(request, _("Token “%(name)s” created.") % {"name": created.name})
    context = {
        "tokens": selectors.api_tokens_of(user_id=request.user.pk),
        "form": form,
        "created": created,
        "raw": raw,
        "api_docs": reverse("api-v1:openapi-view"),
        "section": "tokens",
    }
    return render(request, "console/tokens.html", context, status=422 if form.errors else 200)


@require_POST
@operator_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    assert request.user.pk is not None  # operator_required let only a signed-in operator in
    try:
        token = api_token_revoke(token_id=pk, actor_id=request.user.pk)
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Token %(prefix)s… is revoked. Clients using it are refused from now on.")
            % {"prefix": token.prefix},
        )
    return redirect("console:tokens")
