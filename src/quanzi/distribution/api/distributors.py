"""API v1: Distributors: apply on a member's behalf, approve, reject, suspend; where payouts go.

Anyone in the circle may apply: nothing here asks for a purchase (DESIGN.md, Rules that protect
people). Every decision keeps who made it and why.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.catalog.api._common import community_by_id
from quanzi.communities.models import Group
from quanzi.core.errors import NotFound
from quanzi.distribution.api._common import (
    BIGINT,
    In,
    distributor_by_id,
    fields_as_sent,
    masked_name,
    matching,
    member_by_id,
    one_of,
)
from quanzi.distribution.models import Distributor, DistributorRole, DistributorStatus
from quanzi.distribution.services import distributors as service
from quanzi.distribution.services.payouts import distributor_set_payee

router = Router(tags=["distributors"])

AS_SENT = {"community": "community_id", "member": "member_id", "group": "group_id"}


class DistributorOut(Schema):
    id: int
    community_id: int
    member_id: int
    member_name: str
    role: str = Field(description=one_of(DistributorRole.values))
    status: str = Field(description=one_of(DistributorStatus.values))
    group_id: int | None = Field(description="A group leader's group.")
    pickup_point: str
    application: str = Field(description="What the member wrote when applying.")
    reason: str = Field(description="Why it was rejected or suspended; the member sees it.")
    applied_at: datetime
    decided_at: datetime | None
    decided_by_id: int | None
    payee_name: str = Field(description="The payee's name, masked (王**); '' until set.")
    payee_account_masked: str = Field(description="The bank card or WeChat account, masked.")


class DistributorPage(Schema):
    items: list[DistributorOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class DistributorFilters(In):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    member_id: int | None = Field(None, ge=1, le=BIGINT)
    status: str | None = Field(None, description=one_of(DistributorStatus.values))
    role: str | None = Field(None, description=one_of(DistributorRole.values))

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in DistributorStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(DistributorStatus.values)}")
        return value

    @field_validator("role")
    @classmethod
    def known_role(cls, value: str | None) -> str | None:
        if value is not None and value not in DistributorRole.values:
            raise ValueError(f"unknown role; use one of {', '.join(DistributorRole.values)}")
        return value


class ApplyIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    member_id: int = Field(ge=1, le=BIGINT)
    role: str = Field(description=one_of(DistributorRole.values))
    application: str = Field("", description="Why they apply, up to 500 characters.")
    group_id: int | None = Field(
        None, ge=1, le=BIGINT, description="group_leader only: the group they lead."
    )
    pickup_point: str = Field("", description="group_leader only: up to 200 characters.")


class DistributorApproveIn(In):
    note: str = Field("", description="Up to 500 characters.")


class DistributorReasonIn(In):
    reason: str = Field(description="Why, 1-500 characters; the member sees it.")


class PayeeIn(In):
    name: str = Field(description="The account holder's name, 1-50 characters.")
    account: str = Field(
        description="A bank card or WeChat account, 4-64 characters; stored encrypted."
    )


def distributor_out(distributor: Distributor) -> dict[str, Any]:
    return {
        "id": distributor.pk,
        "community_id": distributor.community_id,
        "member_id": distributor.member_id,
        "member_name": distributor.member.display_name,
        "role": distributor.role,
        "status": distributor.status,
        "group_id": distributor.group_id,
        "pickup_point": distributor.pickup_point,
        "application": distributor.application,
        "reason": distributor.reason,
        "applied_at": distributor.applied_at,
        "decided_at": distributor.decided_at,
        "decided_by_id": distributor.decided_by_id,
        "payee_name": masked_name(distributor.payee_name),
        "payee_account_masked": distributor.payee_account_masked,
    }


def _fresh(distributor_id: int) -> dict[str, Any]:
    return distributor_out(distributor_by_id(distributor_id))


@router.get("/distributors", response={200: DistributorPage, **ERRORS})
def distributor_list(
    request: HttpRequest, filters: Query[DistributorFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """Distributors, newest application first."""
    qs = Distributor.objects.select_related("member").order_by("-applied_at", "-pk")
    qs = matching(
        qs,
        community_id=filters.community_id,
        member_id=filters.member_id,
        status=filters.status,
        role=filters.role,
    )
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [distributor_out(d) for d in paged["items"]]
    return paged


@router.post("/distributors", response={201: DistributorOut, **ERRORS})
def distributor_apply(request: HttpRequest, payload: ApplyIn) -> Status[dict[str, Any]]:
    """Apply for a role on a member's behalf: group_leader (团长), influencer (达人) or sharer
    (分享员). Nobody has to buy anything to apply. Applying again while applied, approved or
    suspended: 409 naming role; a rejected member may apply again."""
    community = community_by_id(payload.community_id)
    member = member_by_id(payload.member_id)
    group = None
    if payload.group_id is not None:
        group = Group.objects.filter(pk=payload.group_id).first()
        if group is None:
            raise NotFound(_("No group #%(pk)s.") % {"pk": payload.group_id}, field="group_id")
    with fields_as_sent(**AS_SENT):
        distributor = service.distributor_apply(
            community=community,
            member=member,
            role=payload.role,
            application=payload.application,
            group=group,
            pickup_point=payload.pickup_point,
        )
    return Status(201, _fresh(distributor.pk))


@router.get("/distributors/{distributor_id}", response={200: DistributorOut, **ERRORS})
def distributor_get(request: HttpRequest, distributor_id: int) -> dict[str, Any]:
    return _fresh(distributor_id)


@router.post(
    "/distributors/{distributor_id}/actions/approve", response={200: DistributorOut, **ERRORS}
)
def distributor_approve(
    request: HttpRequest, distributor_id: int, payload: DistributorApproveIn
) -> dict[str, Any]:
    """Approve an application, or reinstate a suspended distributor. Any other state: 409
    naming status."""
    service.distributor_approve(
        distributor=distributor_by_id(distributor_id),
        actor_id=request.user.pk,
        note=payload.note,
    )
    return _fresh(distributor_id)


@router.post(
    "/distributors/{distributor_id}/actions/reject", response={200: DistributorOut, **ERRORS}
)
def distributor_reject(
    request: HttpRequest, distributor_id: int, payload: DistributorReasonIn
) -> dict[str, Any]:
    """Reject an application, saying why (422 naming reason without one)."""
    service.distributor_reject(
        distributor=distributor_by_id(distributor_id),
        reason=payload.reason,
        actor_id=request.user.pk,
    )
    return _fresh(distributor_id)


@router.post(
    "/distributors/{distributor_id}/actions/suspend", response={200: DistributorOut, **ERRORS}
)
def distributor_suspend(
    request: HttpRequest, distributor_id: int, payload: DistributorReasonIn
) -> dict[str, Any]:
    """Stop an approved distributor earning from now on, saying why; what they earned stays
    theirs."""
    service.distributor_suspend(
        distributor=distributor_by_id(distributor_id),
        reason=payload.reason,
        actor_id=request.user.pk,
    )
    return _fresh(distributor_id)


@router.post(
    "/distributors/{distributor_id}/actions/set-payee", response={200: DistributorOut, **ERRORS}
)
def distributor_payee_set(
    request: HttpRequest, distributor_id: int, payload: PayeeIn
) -> dict[str, Any]:
    """Where the distributor's payouts go. The account is stored encrypted and answered masked;
    the payout export shows it whole to operators allowed to see personal data."""
    distributor_set_payee(
        distributor=distributor_by_id(distributor_id),
        name=payload.name,
        account=payload.account,
        actor_id=request.user.pk,
    )
    return _fresh(distributor_id)
