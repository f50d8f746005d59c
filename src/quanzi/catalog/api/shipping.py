"""API v1: Shipping templates: fees by region."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.catalog import selectors
from quanzi.catalog.api._common import BIGINT, community_by_id, template_by_id
from quanzi.catalog.models import ShippingRule, ShippingTemplate
from quanzi.catalog.services import shipping
from quanzi.catalog.services.shipping import RuleSpec

router = Router(tags=["shipping"])


class RuleOut(Schema):
    id: int
    regions: list[str] = Field(description='Provinces, or ["*"] for everywhere else.')
    first_fee_minor: int
    additional_fee_minor: int
    free_over_minor: int | None = Field(description="Goods worth this much ship free.")


class ShippingTemplateOut(Schema):
    id: int
    community_id: int
    name: str
    currency: str
    rules: list[RuleOut]
    created_at: datetime

    @staticmethod
    def resolve_rules(obj: ShippingTemplate) -> list[ShippingRule]:
        return list(obj.rules.all())


class TemplateFilters(Schema):
    community_id: int = Field(ge=1, le=BIGINT)


class RuleIn(Schema):
    regions: list[str] = Field(
        max_length=50, description='Provinces as the addresses name them ("浙江"), or ["*"].'
    )
    first_fee_minor: int = Field(le=BIGINT, description="The fee for the first unit.")
    additional_fee_minor: int = Field(0, le=BIGINT, description="For each unit after it.")
    free_over_minor: int | None = Field(
        None, le=BIGINT, description="Goods worth at least this ship free (满N包邮)."
    )


class ShippingTemplateIn(Schema):
    community_id: int = Field(ge=1, le=BIGINT)
    name: str = Field(max_length=100)
    rules: list[RuleIn] = Field(description="1 to 50 rules; each region in one rule.")


@router.get("/shipping-templates", response={200: list[ShippingTemplateOut], **ERRORS})
@paginate(Page)
def shipping_template_list(request: HttpRequest, filters: Query[TemplateFilters]) -> Any:
    """A community's shipping templates, by name."""
    community = community_by_id(filters.community_id)
    return selectors.shipping_template_list(community=community).order_by("name", "pk")


@router.post("/shipping-templates", response={201: ShippingTemplateOut, **ERRORS})
def shipping_template_create(
    request: HttpRequest, payload: ShippingTemplateIn
) -> Status[ShippingTemplate]:
    """Create a template. A name in use in the community: 409."""
    community = community_by_id(payload.community_id)
    template = shipping.shipping_template_create(
        community=community,
        name=payload.name,
        rules=[
            RuleSpec(r.regions, r.first_fee_minor, r.additional_fee_minor, r.free_over_minor)
            for r in payload.rules
        ],
        actor_id=request.user.pk,
    )
    return Status(201, template_by_id(community, template.pk))
