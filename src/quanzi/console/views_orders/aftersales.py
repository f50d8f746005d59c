"""After-sales: the queue of cases with their evidence, to approve, refuse or mark returned,
and the evidence files themselves (for signed-in operators only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from quanzi.communities.models import Community
from quanzi.console.commerce import actor, choose_community, commerce_context
from quanzi.console.commerce import community_or_404 as _community
from quanzi.console.feedback import form_error
from quanzi.console.forms_commerce import ApproveForm, MarkReturnedForm, RejectForm
from quanzi.console.views import operator_required
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.money import Money
from quanzi.orders import selectors as orders
from quanzi.orders.models import OPEN_AFTER_SALE, AfterSale, AfterSaleStatus, Evidence
from quanzi.orders.services.aftersales import (
    after_sale_approve,
    after_sale_mark_returned,
    after_sale_reject,
)

CLOSED_CASES_SHOWN = 100
# Evidence photos are shown inline as one of these; a PDF downloads as a PDF, and anything
# else as bytes, whatever its name claims.
EVIDENCE_IMAGES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


# --- After-sales -------------------------------------------------------------------------------


def _case_or_404(community: Community, pk: int) -> AfterSale:
    case = (
        AfterSale.objects.select_related("order", "order__member", "line")
        .filter(pk=pk, order__community=community)
        .first()
    )
    if case is None:
        raise Http404("No such after-sales case in this community.")
    return case


def _evidence_view(evidence: Evidence) -> dict[str, Any]:
    suffix = PurePosixPath(evidence.file.name).suffix.lower() if evidence.file else ""
    return {
        "evidence": evidence,
        "has_file": bool(evidence.file),
        "is_image": suffix in EVIDENCE_IMAGES,
        "file_name": PurePosixPath(evidence.file.name).name if evidence.file else "",
    }


def _queue_page(
    request: HttpRequest,
    community: Community,
    *,
    tab: str = "open",
    bound: tuple[int, str, Any] | None = None,
) -> HttpResponse:
    queue = orders.after_sale_queue(community=community, open_only=tab == "open")
    if tab == "closed":
        queue = queue.exclude(status__in=OPEN_AFTER_SALE).order_by("-created_at", "-pk")[
            :CLOSED_CASES_SHOWN
        ]
    now = clock.now()
    rows: list[dict[str, Any]] = []
    shown: set[int] = set()
    for case in queue:
        shown.add(case.pk)
        forms: dict[str, Any] = {
            "approve": ApproveForm(prefix=f"a{case.pk}"),
            "reject": RejectForm(prefix=f"r{case.pk}"),
            "returned": MarkReturnedForm(prefix=f"m{case.pk}"),
        }
        if bound is not None and bound[0] == case.pk:
            forms[bound[1]] = bound[2]
        rows.append(
            {
                "case": case,
                "age": now - case.created_at,
                "evidence": [_evidence_view(e) for e in case.evidence.all()],
                "forms": forms,
                "ships": case.order.needs_shipping,
                "open_form": bound[1] if bound is not None and bound[0] == case.pk else "",
            }
        )
    if bound is not None and bound[2].errors and bound[0] not in shown:
        # The case left this list meanwhile (decided by someone else): say why here instead.
        for errors in bound[2].errors.values():
            for error in errors:
                messages.error(request, error)
    all_cases = orders.after_sale_queue(community=community, open_only=False)
    open_count = all_cases.filter(status__in=OPEN_AFTER_SALE).count()
    context = {
        **commerce_context(community, section="after_sales", url_name="console:after_sales"),
        "tab": tab,
        "rows": rows,
        "open_count": open_count,
        "closed_count": all_cases.count() - open_count,
    }
    failed = bound is not None and bool(bound[2].errors)
    return render(
        request, "console/commerce/aftersales.html", context, status=422 if failed else 200
    )


@require_GET
@operator_required
def after_sales_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="after_sales", url_name="console:after_sales")


@require_GET
@operator_required
def after_sales(request: HttpRequest, slug: str) -> HttpResponse:
    community = _community(request, slug)
    tab = "closed" if request.GET.get("tab") == "closed" else "open"
    return _queue_page(request, community, tab=tab)


def _decision_message(request: HttpRequest, case: AfterSale) -> None:
    amount = Money(case.amount_minor, case.order.currency)
    if case.status == AfterSaleStatus.AWAITING_RETURN:
        messages.success(
            request,
            _("%(no)s approved: the member sends the goods back, then you mark them received.")
            % {"no": case.refund_no},
        )
    elif case.status == AfterSaleStatus.REFUNDED:
        messages.success(
            request, _("%(no)s refunded: %(amount)s.") % {"no": case.refund_no, "amount": amount}
        )
    else:
        messages.success(
            request,
            _("%(no)s approved: the refund of %(amount)s is on its way.")
            % {"no": case.refund_no, "amount": amount},
        )


def _decide(
    request: HttpRequest,
    community: Community,
    case: AfterSale,
    form: ApproveForm | MarkReturnedForm,
    bound_as: str,
    decide: Callable[[], AfterSale],
    error_fields: dict[str, str],
) -> HttpResponse:
    """Approve or mark returned: the service decides; its refusal shows beside the form. A
    refund that cannot start after the decision commits is the job's to retry, not an error."""
    if form.is_valid():
        try:
            decided = decide()
        except ApplicationError as exc:
            form_error(form, exc, error_fields)
        else:
            _decision_message(request, AfterSale.objects.select_related("order").get(pk=decided.pk))
            return redirect("console:after_sales", slug=community.slug)
    return _queue_page(request, community, bound=(case.pk, bound_as, form))


@require_POST
@operator_required
def after_sale_approve_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community(request, slug)
    case = _case_or_404(community, pk)
    form = ApproveForm(request.POST, prefix=f"a{case.pk}")
    return _decide(
        request,
        community,
        case,
        form,
        "approve",
        lambda: after_sale_approve(
            case=case,
            actor_id=actor(request),
            note=form.cleaned_data["note"],
            restock=form.restock_choice(),
        ),
        {"status": "note"},
    )


@require_POST
@operator_required
def after_sale_returned_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community(request, slug)
    case = _case_or_404(community, pk)
    form = MarkReturnedForm(request.POST, prefix=f"m{case.pk}")
    return _decide(
        request,
        community,
        case,
        form,
        "returned",
        lambda: after_sale_mark_returned(
            case=case, actor_id=actor(request), restock=form.restock_choice()
        ),
        {"status": "restock"},
    )


@require_POST
@operator_required
def after_sale_reject_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = _community(request, slug)
    case = _case_or_404(community, pk)
    form = RejectForm(request.POST, prefix=f"r{case.pk}")
    if form.is_valid():
        try:
            after_sale_reject(case=case, note=form.cleaned_data["note"], actor_id=actor(request))
        except ApplicationError as exc:
            form_error(form, exc, {"status": "note"})
        else:
            messages.success(request, _("%(no)s is refused.") % {"no": case.refund_no})
            return redirect("console:after_sales", slug=community.slug)
    return _queue_page(request, community, bound=(case.pk, "reject", form))


@require_GET
@operator_required
def evidence_file(request: HttpRequest, pk: int) -> HttpResponse:
    """An evidence file, for signed-in operators only (never a public ``/media/`` address).

    Shown inline only as an image, under a policy that runs nothing; a PDF downloads as a PDF
    and any other file as bytes, whatever its name claims. Files are at most 10 MB."""
    evidence = Evidence.objects.filter(pk=pk).first()
    if evidence is None or not evidence.file:
        raise Http404("No such evidence file.")
    name = PurePosixPath(evidence.file.name).name
    try:
        with evidence.file.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise Http404("The evidence file is missing.") from None
    suffix = PurePosixPath(name).suffix.lower()
    image = EVIDENCE_IMAGES.get(suffix)
    response = HttpResponse(
        content,
        content_type=image
        or ("application/pdf" if suffix == ".pdf" else "application/octet-stream"),
    )
    response["Content-Disposition"] = content_disposition_header(image is None, name) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
