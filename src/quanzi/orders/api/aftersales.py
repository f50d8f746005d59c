"""API v1: After-sales: refund requests and "refund only" disputes, their evidence, decisions.

A case's ``refund_no`` is the number its refund is paid out under, so approving it twice (or a
retry after a lost answer) refunds once.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status, UploadedFile
from ninja.params import FileEx, FormEx, P
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.catalog.api._common import community_by_id
from quanzi.orders import selectors
from quanzi.orders.api._common import (
    BIGINT,
    INT,
    after_sale_by_no,
    one_of,
    order_by_number,
)
from quanzi.orders.models import AfterSale, AfterSaleKind, AfterSaleStatus, Evidence, EvidenceKind
from quanzi.orders.services import aftersales
from quanzi.payments.api import PaymentRefundOut
from quanzi.payments.models import Refund

router = Router(tags=["refunds"])


class EvidenceOut(Schema):
    id: int
    kind: str = Field(description=one_of(EvidenceKind.values))
    note: str
    file_url: str | None = Field(description="The photo or PDF, when one was attached.")
    submitted_by: str = Field(description="member or operator")
    created_at: datetime


class AfterSaleOut(Schema):
    id: int
    refund_no: str = Field(description="The case's number, and its refund's at the provider.")
    order_id: int
    order_number: str
    kind: str = Field(description=one_of(AfterSaleKind.values))
    status: str = Field(description=one_of(AfterSaleStatus.values))
    line_id: int | None = Field(description="The line it is about; null: the whole order.")
    quantity: int | None
    amount_minor: int
    currency: str
    reason: str
    restock: bool = Field(description="Units go back on sale once refunded.")
    opened_by: str = Field(description="member, operator or system")
    extra_payment: bool = Field(description="Refunds a second payment of a paid order.")
    return_carrier: str
    return_tracking_no: str
    decision_note: str
    decided_at: datetime | None
    refunded_at: datetime | None
    created_at: datetime
    evidence: list[EvidenceOut]
    refund: PaymentRefundOut | None = Field(
        description="The refund at the provider, once approved and started."
    )


class RefundPage(Schema):
    items: list[AfterSaleOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class RefundFilters(Schema):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    status: str | None = Field(None, description=one_of(AfterSaleStatus.values))
    open: bool | None = Field(
        None,
        description="true: awaiting a decision, a return or the refund; false: every case. "
        "Defaults to true, or to false when a status is asked for.",
    )

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in AfterSaleStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(AfterSaleStatus.values)}")
        return value


class RefundOpenIn(Schema):
    kind: str = Field(description=one_of(AfterSaleKind.values))
    amount_minor: int = Field(le=BIGINT, description="The amount to refund, in fen.")
    reason: str = Field(max_length=200)
    line_id: int | None = Field(None, ge=1, le=BIGINT, description="About one line only.")
    quantity: int | None = Field(None, le=INT, description="With line_id: units returned.")


class ApproveIn(Schema):
    note: str = Field("", max_length=500)
    restock: bool | None = Field(
        None, description="Put the units back on sale once refunded; null: the case's default."
    )


class RejectIn(Schema):
    note: str = Field(max_length=500, description="Why; the member sees it.")


class ReturnedIn(Schema):
    restock: bool | None = Field(None, description="null: the case's default.")


def _evidence_out(evidence: Evidence) -> dict[str, Any]:
    return {
        "id": evidence.pk,
        "kind": evidence.kind,
        "note": evidence.note,
        "file_url": evidence.file.url if evidence.file else None,
        "submitted_by": evidence.submitted_by,
        "created_at": evidence.created_at,
    }


def _case_out(case: AfterSale, refund: Refund | None) -> dict[str, Any]:
    return {
        "id": case.pk,
        "refund_no": case.refund_no,
        "order_id": case.order_id,
        "order_number": case.order.number,
        "kind": case.kind,
        "status": case.status,
        "line_id": case.line_id,
        "quantity": case.quantity,
        "amount_minor": case.amount_minor,
        "currency": case.order.currency,
        "reason": case.reason,
        "restock": case.restock,
        "opened_by": case.opened_by,
        "extra_payment": case.extra_payment,
        "return_carrier": case.return_carrier,
        "return_tracking_no": case.return_tracking_no,
        "decision_note": case.decision_note,
        "decided_at": case.decided_at,
        "refunded_at": case.refunded_at,
        "created_at": case.created_at,
        "evidence": [_evidence_out(e) for e in case.evidence.all()],
        "refund": refund,
    }


def _cases_out(cases: list[AfterSale]) -> list[dict[str, Any]]:
    refunds = {
        r.out_refund_no: r
        for r in Refund.objects.filter(out_refund_no__in=[c.refund_no for c in cases])
    }
    return [_case_out(case, refunds.get(case.refund_no)) for case in cases]


def _fresh(refund_no: str) -> dict[str, Any]:
    return _cases_out([after_sale_by_no(refund_no)])[0]


@router.post("/orders/{number}/refunds", response={201: AfterSaleOut, **ERRORS})
def refund_open(request: HttpRequest, number: str, payload: RefundOpenIn) -> Status[dict[str, Any]]:
    """Open a refund case for a paid order, on the member's behalf: refund_only (仅退款) or
    return_refund (goods shipped), full or partial, for the order or one line. More than is
    left to refund: 422 naming amount_minor."""
    case = aftersales.after_sale_open(
        order=order_by_number(number),
        kind=payload.kind,
        amount_minor=payload.amount_minor,
        reason=payload.reason,
        line_id=payload.line_id,
        quantity=payload.quantity,
        opened_by="operator",
        actor_id=request.user.pk,
    )
    return Status(201, _fresh(case.refund_no))


@router.get("/refunds", response={200: RefundPage, **ERRORS})
def refund_list(
    request: HttpRequest, filters: Query[RefundFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """The after-sales queue, oldest first."""
    open_only = filters.open if filters.open is not None else filters.status is None
    qs = selectors.after_sale_queue(
        community=community_by_id(filters.community_id) if filters.community_id else None,
        open_only=open_only,
    )
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = _cases_out(paged["items"])
    return paged


@router.get("/refunds/{refund_no}", response={200: AfterSaleOut, **ERRORS})
def refund_get(request: HttpRequest, refund_no: str) -> dict[str, Any]:
    """One case with its evidence and the state of its refund at the provider."""
    return _fresh(refund_no)


@router.post("/refunds/{refund_no}/approve", response={200: AfterSaleOut, **ERRORS})
def refund_approve(request: HttpRequest, refund_no: str, payload: ApproveIn) -> dict[str, Any]:
    """Approve: a return waits for the goods (awaiting_return); anything else is refunded
    now. Decided already: 409 wrong_state, nothing refunded twice."""
    aftersales.after_sale_approve(
        case=after_sale_by_no(refund_no),
        actor_id=request.user.pk,
        note=payload.note,
        restock=payload.restock,
    )
    return _fresh(refund_no)


@router.post("/refunds/{refund_no}/reject", response={200: AfterSaleOut, **ERRORS})
def refund_reject(request: HttpRequest, refund_no: str, payload: RejectIn) -> dict[str, Any]:
    """Refuse, saying why."""
    aftersales.after_sale_reject(
        case=after_sale_by_no(refund_no), note=payload.note, actor_id=request.user.pk
    )
    return _fresh(refund_no)


@router.post("/refunds/{refund_no}/returned", response={200: AfterSaleOut, **ERRORS})
def refund_returned(request: HttpRequest, refund_no: str, payload: ReturnedIn) -> dict[str, Any]:
    """The returned goods arrived: refund now."""
    aftersales.after_sale_mark_returned(
        case=after_sale_by_no(refund_no), actor_id=request.user.pk, restock=payload.restock
    )
    return _fresh(refund_no)


@router.post("/refunds/{refund_no}/evidence", response={201: EvidenceOut, **ERRORS})
def refund_evidence_add(
    request: HttpRequest,
    refund_no: str,
    kind: FormEx[str, P(description=one_of(EvidenceKind.values))],
    note: FormEx[str, P(max_length=500)] = "",
    file: FileEx[UploadedFile | None, P(description="A photo or PDF, up to 10 MB.")] = None,
) -> Status[dict[str, Any]]:
    """Attach proof to an open case (multipart/form-data): logistics proof, a photo (JPEG,
    PNG, WebP, GIF) or PDF up to 10 MB, or a note. A closed case: 409 wrong_state."""
    evidence = aftersales.after_sale_add_evidence(
        case=after_sale_by_no(refund_no),
        kind=kind,
        note=note,
        file=file,
        submitted_by="operator",
    )
    return Status(201, _evidence_out(evidence))
