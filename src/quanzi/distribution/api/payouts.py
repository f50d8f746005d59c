"""API v1: Payout batches: payable balances set aside, exported for bank or WeChat transfer,
marked paid, or cancelled back to the balances.

Creating a batch moves each amount out of the payable balance at once, so two batches never
pay the same money; an amount above what a person may be paid refuses the whole batch.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from openpyxl import Workbook
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.catalog.api._common import community_by_id
from quanzi.core import crypto
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.distribution.api._common import (
    BIGINT,
    In,
    batch_by_number,
    fields_as_sent,
    masked_name,
    matching,
    one_of,
)
from quanzi.distribution.models import Distributor, PayoutBatch, PayoutItem, PayoutStatus
from quanzi.distribution.services import payouts as service
from quanzi.members import selectors as members
from quanzi.members.models import Member
from quanzi.members.services import member_personal_data_revealed

router = Router(tags=["payouts"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_COLUMNS = ("batch", "member id", "member", "payee name", "payee account", "amount (yuan)")


class PayoutItemOut(Schema):
    member_id: int
    member_name: str
    amount_minor: int
    reference: str = Field(description="The transfer's reference, once marked paid.")
    payee_name: str = Field(description="Masked; '' when the member gave none.")
    payee_account_masked: str


class PayoutBatchOut(Schema):
    number: str
    community_id: int
    status: str = Field(description=one_of(PayoutStatus.values))
    currency: str
    total_minor: int
    note: str = Field(description="The operator's note; a cancellation's reason is added.")
    created_at: datetime
    created_by_id: int | None
    closed_at: datetime | None = Field(description="Marked paid or cancelled then.")
    closed_by_id: int | None
    item_count: int


class PayoutBatchDetailOut(PayoutBatchOut):
    items: list[PayoutItemOut]


class PayoutPage(Schema):
    items: list[PayoutBatchOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class PayoutFilters(In):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    status: str | None = Field(None, description=one_of(PayoutStatus.values))

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in PayoutStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(PayoutStatus.values)}")
        return value


class PayoutItemIn(In):
    member_id: int = Field(ge=1, le=BIGINT)
    amount_minor: int = Field(ge=1, le=BIGINT, description="Fen; at most their payable balance.")


class PayoutCreateIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    items: list[PayoutItemIn] | None = Field(
        None,
        description="Who is paid how much. null: everyone's whole payable balance at or above "
        "the community's smallest payout.",
    )
    note: str = Field("", description="Up to 200 characters.")


class ReferenceIn(In):
    member_id: int = Field(ge=1, le=BIGINT)
    reference: str = Field(max_length=64, description="The bank or WeChat transfer's number.")


class MarkPaidIn(In):
    references: list[ReferenceIn] = Field(
        default_factory=list, description="Optional: each transfer's reference, by member."
    )


class PayoutCancelIn(In):
    reason: str = Field(description="Why, 1-200 characters.")


def _payees(community_id: int, member_ids: list[int]) -> dict[int, Distributor]:
    """Each member's payee: from the role they gave one for, the latest if several."""
    payees: dict[int, Distributor] = {}
    for distributor in (
        Distributor.objects.select_related("member")
        .filter(community_id=community_id, member_id__in=member_ids)
        .exclude(payee_account_encrypted="")
        .order_by("member_id", "-pk")
    ):
        payees.setdefault(distributor.member_id, distributor)
    return payees


def _items(batch: PayoutBatch) -> list[PayoutItem]:
    return list(batch.items.select_related("beneficiary").order_by("pk"))


def batch_out(batch: PayoutBatch, items: list[PayoutItem] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": batch.number,
        "community_id": batch.community_id,
        "status": batch.status,
        "currency": batch.currency,
        "total_minor": batch.total_minor,
        "note": batch.note,
        "created_at": batch.created_at,
        "created_by_id": batch.created_by_id,
        "closed_at": batch.closed_at,
        "closed_by_id": batch.closed_by_id,
        "item_count": getattr(batch, "item_count", None),
    }
    if items is not None:
        payees = _payees(batch.community_id, [item.beneficiary_id for item in items])
        out["item_count"] = len(items)
        out["items"] = [
            {
                "member_id": item.beneficiary_id,
                "member_name": item.beneficiary.display_name,
                "amount_minor": item.amount_minor,
                "reference": item.reference,
                "payee_name": masked_name(payees[item.beneficiary_id].payee_name)
                if item.beneficiary_id in payees
                else "",
                "payee_account_masked": payees[item.beneficiary_id].payee_account_masked
                if item.beneficiary_id in payees
                else "",
            }
            for item in items
        ]
    return out


def _detail(number: str) -> dict[str, Any]:
    batch = batch_by_number(number)
    return batch_out(batch, _items(batch))


@router.get("/payouts", response={200: PayoutPage, **ERRORS})
def payout_list(
    request: HttpRequest, filters: Query[PayoutFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """Payout batches, newest first."""
    qs = PayoutBatch.objects.annotate(item_count=Count("items")).order_by("-created_at", "-pk")
    qs = matching(qs, community_id=filters.community_id, status=filters.status)
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [batch_out(batch) for batch in paged["items"]]
    return paged


@router.post("/payouts", response={201: PayoutBatchDetailOut, **ERRORS})
def payout_create(request: HttpRequest, payload: PayoutCreateIn) -> Status[dict[str, Any]]:
    """Set payable balances aside in a new batch, to be transferred and then marked paid.
    Without items: everyone at or above the smallest payout (nobody: 409 naming items). An
    amount above what the person may be paid, or anything owed from a clawback: 409
    payout_exceeds_payable naming ``items.N.amount_minor``, and nothing is set aside. Send an
    ``Idempotency-Key`` so a retry makes no second batch."""
    community = community_by_id(payload.community_id)
    requests = None
    if payload.items is not None:
        known = set(
            Member.objects.filter(pk__in=[i.member_id for i in payload.items]).values_list(
                "pk", flat=True
            )
        )
        for i, item in enumerate(payload.items):
            if item.member_id not in known:
                raise NotFound(
                    _("No member #%(pk)s.") % {"pk": item.member_id},
                    field=f"items.{i}.member_id",
                )
        requests = [service.PayoutRequest(i.member_id, i.amount_minor) for i in payload.items]
    with fields_as_sent(community="community_id"):
        batch = service.payout_batch_create(
            community=community, items=requests, note=payload.note, actor_id=request.user.pk
        )
    return Status(201, _detail(batch.number))


@router.get("/payouts/{number}", response={200: PayoutBatchDetailOut, **ERRORS})
def payout_get(request: HttpRequest, number: str) -> dict[str, Any]:
    """One batch with whom it pays; payee accounts masked (the export shows them whole to
    operators allowed to see personal data)."""
    return _detail(number)


@router.post("/payouts/{number}/actions/mark-paid", response={200: PayoutBatchDetailOut, **ERRORS})
def payout_mark_paid(request: HttpRequest, number: str, payload: MarkPaidIn) -> dict[str, Any]:
    """The transfers were made: the batch is paid, with each transfer's reference if given.
    A reference for someone not in the batch: 422 naming it. Paid or cancelled already: 409
    naming status."""
    batch = batch_by_number(number)
    in_batch = set(batch.items.values_list("beneficiary_id", flat=True))
    errors: dict[str, list[str]] = {}
    references: dict[int, str] = {}
    for i, ref in enumerate(payload.references):
        if ref.member_id not in in_batch:
            errors[f"references.{i}.member_id"] = [
                _("Member #%(pk)s is not paid in this batch.") % {"pk": ref.member_id}
            ]
        elif ref.member_id in references:
            errors[f"references.{i}.member_id"] = [_("This person is named twice.")]
        references[ref.member_id] = ref.reference.strip()
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], fields=errors)
    service.payout_batch_mark_paid(batch=batch, references=references, actor_id=request.user.pk)
    return _detail(number)


@router.post("/payouts/{number}/actions/cancel", response={200: PayoutBatchDetailOut, **ERRORS})
def payout_cancel(request: HttpRequest, number: str, payload: PayoutCancelIn) -> dict[str, Any]:
    """Not paid after all: every amount goes back to its payable balance. Paid or cancelled
    already: 409 naming status."""
    service.payout_batch_cancel(
        batch=batch_by_number(number), reason=payload.reason, actor_id=request.user.pk
    )
    return _detail(number)


def _account(payee: Distributor | None, *, reveal: bool) -> str:
    if payee is None:
        return ""
    if reveal:
        try:
            return crypto.decrypt(payee.payee_account_encrypted)
        except ValueError:
            pass  # written under another data key: the masked form is all there is
    return payee.payee_account_masked


def payout_workbook(batch: PayoutBatch, *, reveal: bool) -> bytes:
    """The batch as one sheet for the bank or WeChat transfer: amounts in yuan."""
    items = _items(batch)
    payees = _payees(batch.community_id, [item.beneficiary_id for item in items])
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = batch.number
    sheet.append(SHEET_COLUMNS)
    for item in items:
        payee = payees.get(item.beneficiary_id)
        name = payee.payee_name if payee else ""
        sheet.append(
            (
                batch.number,
                item.beneficiary_id,
                item.beneficiary.display_name,
                name if reveal else masked_name(name),
                _account(payee, reveal=reveal),
                Decimal(item.amount_minor) / 100,
            )
        )
        sheet.cell(row=sheet.max_row, column=len(SHEET_COLUMNS)).number_format = "0.00"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@router.get(
    "/payouts/{number}/export",
    response=ERRORS,
    openapi_extra={
        "responses": {
            200: {
                "description": "The batch as an Excel workbook (.xlsx).",
                "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def payout_export(request: HttpRequest, number: str) -> HttpResponse:
    """The batch as an Excel sheet for the transfers: batch number, member, payee name and
    account, amount in yuan. Names and accounts are whole for operators with the
    personal-data permission (each look recorded), masked for everyone else."""
    batch = batch_by_number(number)
    reveal = members.can_see_personal_data(request.user)
    content = payout_workbook(batch, reveal=reveal)
    if reveal:
        payees = _payees(
            batch.community_id, list(batch.items.values_list("beneficiary_id", flat=True))
        )
        for payee in payees.values():
            member_personal_data_revealed(
                member=payee.member, actor_id=request.user.pk, what="payout_payee"
            )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="payout-{batch.number}.xlsx"'
    return response
