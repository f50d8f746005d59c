"""API v1: Group-buy drops (团购): a product at a drop price, for a limited time and stock.

Served by the orders API because a drop's buyers are counted from its paid orders.
"""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, AwareDatetime
from quanzi.catalog.api._common import community_by_id, product_by_id, sku_by_id
from quanzi.catalog.models import Drop, DropStatus
from quanzi.catalog.services import drops as catalog_drops
from quanzi.core import clock
from quanzi.core.errors import NotFound
from quanzi.orders.api._common import BIGINT, INT, one_of
from quanzi.orders.models import OrderStatus

router = Router(tags=["drops"])


class DropOut(Schema):
    id: int
    community_id: int
    product_id: int
    sku_id: int | None
    title: str
    price_minor: int
    currency: str
    starts_at: datetime
    ends_at: datetime
    status: str = Field(description=one_of(DropStatus.values))
    open: bool = Field(description="Live and between its start and its end: orders are taken.")
    units: int = Field(description="Units set aside for the drop.")
    stock: int = Field(description="Units left to order.")
    reserved: int = Field(description="Units held by orders awaiting payment.")
    sold: int = Field(description="Units paid for.")
    buyers: int = Field(description="Members with a paid order in the drop.")
    per_member_limit: int | None
    min_buyers: int | None = Field(description="Below this many buyers at the end: refunded.")
    settled_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_open(obj: Drop) -> bool:
        return obj.status == DropStatus.LIVE and obj.starts_at <= clock.now() < obj.ends_at


class DropFilters(Schema):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    product_id: int | None = Field(None, ge=1, le=BIGINT)
    status: str | None = Field(None, description=one_of(DropStatus.values))

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str | None) -> str | None:
        if value is not None and value not in DropStatus.values:
            raise ValueError(f"unknown status; use one of {', '.join(DropStatus.values)}")
        return value


class DropCreateIn(Schema):
    product_id: int = Field(ge=1, le=BIGINT)
    sku_id: int | None = Field(
        None, ge=1, le=BIGINT, description="Physical goods with several specs: the one sold."
    )
    title: str = Field(max_length=100)
    price_minor: int = Field(le=BIGINT, description="The drop price, in fen.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    units: int = Field(
        le=INT, description="Units for sale, set aside from the SKU's stock at once."
    )
    per_member_limit: int | None = Field(None, le=INT)
    min_buyers: int | None = Field(
        None, le=INT, description="Fewer paying buyers at the end: cancelled and refunded."
    )


def _drops() -> QuerySet[Drop]:
    # A buyer as orders.services.drops.drop_buyers counts one: a member with a paid order
    # that was not cancelled.
    return Drop.objects.annotate(
        buyers=Count(
            "orders__member",
            filter=Q(orders__paid_at__isnull=False) & ~Q(orders__status=OrderStatus.CANCELLED),
            distinct=True,
        )
    )


def _drop(drop_id: int) -> Drop:
    drop = _drops().filter(pk=drop_id).first()
    if drop is None:
        raise NotFound(_("No group-buy #%(pk)s.") % {"pk": drop_id}, field="drop_id")
    return drop


@router.get("/drops", response={200: list[DropOut], **ERRORS})
@paginate(Page)
def drop_list(request: HttpRequest, filters: Query[DropFilters]) -> Any:
    """Drops, the latest start first."""
    qs = _drops()
    if filters.community_id is not None:
        qs = qs.filter(community=community_by_id(filters.community_id))
    if filters.product_id is not None:
        qs = qs.filter(product_id=filters.product_id)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    return qs.order_by("-starts_at", "-pk")


@router.post("/drops", response={201: DropOut, **ERRORS})
def drop_create(request: HttpRequest, payload: DropCreateIn) -> Status[Drop]:
    """Open a drop. Physical goods set its units aside from the SKU's stock at once (fewer
    in stock: 409 out_of_stock); unsold units go back when the drop is settled."""
    product = product_by_id(payload.product_id)
    drop = catalog_drops.drop_create(
        product=product,
        title=payload.title,
        price_minor=payload.price_minor,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        units=payload.units,
        sku=sku_by_id(payload.sku_id, product=product) if payload.sku_id else None,
        per_member_limit=payload.per_member_limit,
        min_buyers=payload.min_buyers,
        actor_id=request.user.pk,
    )
    return Status(201, _drop(drop.pk))


@router.get("/drops/{drop_id}", response={200: DropOut, **ERRORS})
def drop_get(request: HttpRequest, drop_id: int) -> Drop:
    """One drop with its live stock, reserved and sold units, buyers and status."""
    return _drop(drop_id)
