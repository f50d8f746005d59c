"""API v1: Commission rules: percentage or fixed, by product, category and role, one or two
levels and never a third."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.catalog.api._common import community_by_id, product_by_id
from quanzi.core.errors import NotFound
from quanzi.distribution.api._common import BIGINT, In, fields_as_sent, matching, one_of
from quanzi.distribution.models import CommissionKind, CommissionRule, DistributorRole
from quanzi.distribution.services import rules as service

router = Router(tags=["commission rules"])

AS_SENT = {"community": "community_id", "product": "product_id"}


class CommissionRuleOut(Schema):
    id: int
    community_id: int
    level: int = Field(description="1: the direct referrer; 2: the one above. Never more.")
    kind: str = Field(description=one_of(CommissionKind.values))
    percent_bp: int = Field(description="percent: basis points of the amount paid (1 % = 100).")
    fixed_minor: int = Field(description="fixed: fen per unit sold.")
    role: str = Field(description="'' for every role, else " + one_of(DistributorRole.values))
    product_id: int | None
    category: str
    active: bool
    created_at: datetime
    created_by_id: int | None


class CommissionRulePage(Schema):
    items: list[CommissionRuleOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class CommissionRuleFilters(In):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    active: bool | None = Field(None, description="null: active and inactive alike.")


class CommissionRuleIn(In):
    community_id: int = Field(ge=1, le=BIGINT)
    level: int = Field(1, description="1 or 2; a third level is refused (422 naming level).")
    kind: str = Field(description=one_of(CommissionKind.values))
    percent_bp: int = Field(
        0, description="percent: 1-10000 basis points (0.01 %-100 %); over 100 % is refused."
    )
    fixed_minor: int = Field(0, le=BIGINT, description="fixed: at least 1 fen per unit.")
    role: str = Field("", description="'' for every role, else " + one_of(DistributorRole.values))
    product_id: int | None = Field(None, ge=1, le=BIGINT, description="Only this product.")
    category: str = Field("", description="Only this category, up to 50 characters.")


def rule_out(rule: CommissionRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "community_id": rule.community_id,
        "level": rule.level,
        "kind": rule.kind,
        "percent_bp": rule.percent_bp,
        "fixed_minor": rule.fixed_minor,
        "role": rule.role,
        "product_id": rule.product_id,
        "category": rule.category,
        "active": rule.active,
        "created_at": rule.created_at,
        "created_by_id": rule.created_by_id,
    }


def _rule(rule_id: int) -> CommissionRule:
    rule = CommissionRule.objects.filter(pk=rule_id).first() if 1 <= rule_id <= BIGINT else None
    if rule is None:
        raise NotFound(_("No commission rule #%(pk)s.") % {"pk": rule_id}, field="rule_id")
    return rule


@router.get("/commission-rules", response={200: CommissionRulePage, **ERRORS})
def commission_rule_list(
    request: HttpRequest, filters: Query[CommissionRuleFilters], page: Query[Page.Input]
) -> dict[str, Any]:
    """Rules by community, level, then age. The most specific active rule for a line wins:
    product, then category, then the whole community; a rule for the role before one for
    every role."""
    qs = CommissionRule.objects.order_by("community_id", "level", "pk")
    qs = matching(qs, community_id=filters.community_id, active=filters.active)
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [rule_out(rule) for rule in paged["items"]]
    return paged


@router.post("/commission-rules", response={201: CommissionRuleOut, **ERRORS})
def commission_rule_create(
    request: HttpRequest, payload: CommissionRuleIn
) -> Status[dict[str, Any]]:
    """Add a rule. Refused with 422 naming the field, nothing created: a third level
    (level), a percentage over 100 % or of nothing (percent_bp), a fixed amount under 1 fen
    (fixed_minor), both kinds at once, a product of another community (product_id)."""
    community = community_by_id(payload.community_id)
    product = product_by_id(payload.product_id) if payload.product_id is not None else None
    with fields_as_sent(**AS_SENT):
        rule = service.commission_rule_create(
            community=community,
            kind=payload.kind,
            percent_bp=payload.percent_bp,
            fixed_minor=payload.fixed_minor,
            level=payload.level,
            role=payload.role,
            product=product,
            category=payload.category,
            actor_id=request.user.pk,
        )
    return Status(201, rule_out(rule))


@router.get("/commission-rules/{rule_id}", response={200: CommissionRuleOut, **ERRORS})
def commission_rule_get(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return rule_out(_rule(rule_id))


@router.post(
    "/commission-rules/{rule_id}/actions/deactivate", response={200: CommissionRuleOut, **ERRORS}
)
def commission_rule_deactivate(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    """Stop a rule paying on sales from now on; commission already accrued under it stays.
    Deactivating an inactive rule changes nothing."""
    rule = service.commission_rule_deactivate(rule=_rule(rule_id), actor_id=request.user.pk)
    return rule_out(rule)
