"""API v1: Products, their SKUs and stock, and what a bundle holds."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, PatchIn
from quanzi.catalog import selectors
from quanzi.catalog.api._common import (
    BIGINT,
    INT,
    community_by_id,
    one_of,
    product_by_id,
    sku_by_id,
    template_by_id,
)
from quanzi.catalog.models import BundleItem, Product, ProductKind, Sku
from quanzi.catalog.services import products, stock
from quanzi.communities import selectors as communities
from quanzi.communities.models import Community, Group, MembershipPlan
from quanzi.core.errors import NotFound

router = Router(tags=["products"])


class BundleItemOut(Schema):
    id: int
    bundle_id: int
    component_id: int
    sku_id: int | None = Field(description="The spec whose stock a physical component draws.")
    quantity: int


class ProductOut(Schema):
    id: int
    community_id: int
    name: str
    kind: str
    description: str
    price_minor: int = Field(description="Price in minor units (fen).")
    currency: str
    active: bool = Field(description="On sale.")
    plan_id: int | None = Field(description="Membership products: the plan bought.")
    grants_group_id: int | None = Field(description="A group seat given at payment.")
    per_member_limit: int | None = Field(description="Units one member may buy; null: any.")
    category: str
    shipping_template_id: int | None
    weight_grams: int | None
    packaging: str
    cold_chain: bool
    cold_chain_note: str
    bundle_items: list[BundleItemOut] = Field(description="Bundles: the products they hold.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_bundle_items(obj: Product) -> list[BundleItem]:
        return list(obj.bundle_items.all())


class ProductFilters(Schema):
    community_id: int | None = Field(None, ge=1, le=BIGINT)
    kind: str | None = Field(None, description=one_of(ProductKind.values))
    active: bool | None = Field(None, description="true: on sale; false: off sale.")

    @field_validator("kind")
    @classmethod
    def known_kind(cls, value: str | None) -> str | None:
        if value is not None and value not in ProductKind.values:
            raise ValueError(f"unknown kind; use one of {', '.join(ProductKind.values)}")
        return value


class ProductCreateIn(Schema):
    community_id: int = Field(ge=1, le=BIGINT)
    name: str = Field(max_length=100)
    kind: str = Field(description=one_of(ProductKind.values))
    price_minor: int = Field(le=BIGINT, description="Price in minor units (fen).")
    description: str = Field("", max_length=5000)
    active: bool | None = Field(
        None,
        description="Virtual products go on sale at once, physical goods once they have a "
        "SKU (PATCH active=true then).",
    )
    plan_id: int | None = Field(None, ge=1, le=BIGINT, description="membership: the plan.")
    grants_group_id: int | None = Field(
        None, ge=1, le=BIGINT, description="Virtual products and bundles: a seat in this group."
    )
    per_member_limit: int | None = Field(None, le=INT, description="1 to 100,000 units.")
    category: str = Field("", max_length=50)
    shipping_template_id: int | None = Field(
        None, ge=1, le=BIGINT, description="Physical goods: how shipping is charged."
    )
    weight_grams: int | None = Field(None, le=INT, description="Physical goods.")
    packaging: str = Field("", max_length=200, description="Physical goods.")
    cold_chain: bool = Field(False, description="Physical goods shipped chilled.")
    cold_chain_note: str = Field("", max_length=200)


class ProductUpdateIn(PatchIn):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=5000)
    price_minor: int | None = Field(None, le=BIGINT)
    active: bool | None = None
    plan_id: int | None = Field(None, ge=1, le=BIGINT)
    grants_group_id: int | None = Field(None, ge=0, le=BIGINT, description="0: no group.")
    per_member_limit: int | None = Field(None, ge=0, le=INT, description="0: no limit.")
    category: str | None = Field(None, max_length=50)
    shipping_template_id: int | None = Field(None, ge=0, le=BIGINT, description="0: no template.")
    weight_grams: int | None = Field(None, le=INT)
    packaging: str | None = Field(None, max_length=200)
    cold_chain: bool | None = None
    cold_chain_note: str | None = Field(None, max_length=200)


class SkuOut(Schema):
    id: int
    product_id: int
    options: dict[str, str] = Field(description='Spec options, like {"规格": "2斤"}.')
    price_minor: int | None = Field(description="null: the product's price.")
    stock: int = Field(description="Units that can still be sold.")
    reserved: int = Field(description="Units held by orders awaiting payment.")
    created_at: datetime


class SkuCreateIn(Schema):
    options: dict[str, str] = Field(
        default_factory=dict, description='Up to 5 spec options, like {"规格": "2斤"}.'
    )
    price_minor: int | None = Field(None, le=BIGINT, description="null: the product's price.")
    stock: int = Field(0, le=INT, description="Opening stock, 0 to 10,000,000.")


class StockIn(Schema):
    delta: int = Field(
        ge=-INT, le=INT, description="Units added (positive) or removed (negative); not 0."
    )
    reason: str = Field(max_length=200, description="Why: goods arrived, spoiled, recount.")


class BundleItemIn(Schema):
    component_id: int = Field(ge=1, le=BIGINT, description="A product of the same community.")
    quantity: int = Field(1, le=INT, description="1 to 100.")
    sku_id: int | None = Field(
        None, ge=1, le=BIGINT, description="Physical components with several specs: which."
    )


def _products() -> QuerySet[Product]:
    return selectors.product_list().prefetch_related("bundle_items")


def _product(product_id: int) -> Product:
    product = _products().filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No product #%(pk)s.") % {"pk": product_id}, field="product_id")
    return product


def _plan(community: Community, plan_id: int) -> MembershipPlan:
    plan = communities.plan_list(community=community).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(
            _("%(community)s has no plan #%(pk)s.") % {"community": community.name, "pk": plan_id},
            field="plan_id",
        )
    return plan


def _group(community: Community, group_id: int) -> Group:
    group = communities.group_list(community=community).filter(pk=group_id).first()
    if group is None:
        raise NotFound(
            _("%(community)s has no open group #%(pk)s.")
            % {"community": community.name, "pk": group_id},
            field="grants_group_id",
        )
    return group


@router.get("/products", response={200: list[ProductOut], **ERRORS})
@paginate(Page)
def product_list(request: HttpRequest, filters: Query[ProductFilters]) -> Any:
    """Products by community and name."""
    qs = _products()
    if filters.community_id is not None:
        qs = qs.filter(community=community_by_id(filters.community_id))
    if filters.kind is not None:
        qs = qs.filter(kind=filters.kind)
    if filters.active is not None:
        qs = qs.filter(active=filters.active)
    return qs.order_by("community_id", "name", "pk")


@router.post("/products", response={201: ProductOut, **ERRORS})
def product_create(request: HttpRequest, payload: ProductCreateIn) -> Status[Product]:
    """Create a product of any kind: course, service, paid_collection, membership (with
    ``plan_id``), physical (off sale until it has a SKU), bundle. A broken rule is a 422
    naming the field."""
    community = community_by_id(payload.community_id)
    product = products.product_create(
        community=community,
        name=payload.name,
        kind=payload.kind,
        price_minor=payload.price_minor,
        description=payload.description,
        active=payload.active,
        plan=_plan(community, payload.plan_id) if payload.plan_id else None,
        weight_grams=payload.weight_grams,
        packaging=payload.packaging,
        cold_chain=payload.cold_chain,
        cold_chain_note=payload.cold_chain_note,
        grants_group=_group(community, payload.grants_group_id)
        if payload.grants_group_id
        else None,
        per_member_limit=payload.per_member_limit,
        category=payload.category,
        shipping_template=template_by_id(community, payload.shipping_template_id)
        if payload.shipping_template_id
        else None,
        actor_id=request.user.pk,
    )
    return Status(201, _product(product.pk))


@router.get("/products/{product_id}", response={200: ProductOut, **ERRORS})
def product_get(request: HttpRequest, product_id: int) -> Product:
    return _product(product_id)


@router.patch("/products/{product_id}", response={200: ProductOut, **ERRORS})
def product_update(request: HttpRequest, product_id: int, payload: ProductUpdateIn) -> Product:
    """Change the fields sent; the others stay. The kind and community never change. Put a
    product on or off sale with ``active``."""
    product = _product(product_id)
    changes: dict[str, Any] = payload.model_dump(
        exclude_unset=True,
        exclude={"plan_id", "grants_group_id", "per_member_limit", "shipping_template_id"},
    )
    sent = payload.model_fields_set
    community = product.community
    if "plan_id" in sent and payload.plan_id is not None:
        changes["plan"] = _plan(community, payload.plan_id)
    if "grants_group_id" in sent and payload.grants_group_id is not None:
        changes["grants_group"] = (
            _group(community, payload.grants_group_id) if payload.grants_group_id else None
        )
    if "per_member_limit" in sent and payload.per_member_limit is not None:
        changes["per_member_limit"] = payload.per_member_limit or None
    if "shipping_template_id" in sent and payload.shipping_template_id is not None:
        changes["shipping_template"] = (
            template_by_id(community, payload.shipping_template_id)
            if payload.shipping_template_id
            else None
        )
    products.product_update(product=product, actor_id=request.user.pk, **changes)
    return _product(product_id)


@router.get("/products/{product_id}/skus", response={200: list[SkuOut], **ERRORS})
@paginate(Page)
def sku_list(request: HttpRequest, product_id: int) -> Any:
    """The product's specs, oldest first, with their stock."""
    return selectors.product_skus(product_by_id(product_id))


@router.post("/products/{product_id}/skus", response={201: SkuOut, **ERRORS})
def sku_create(request: HttpRequest, product_id: int, payload: SkuCreateIn) -> Status[Sku]:
    """Add a spec with its opening stock. The same options twice: 409."""
    sku = products.sku_create(
        product=product_by_id(product_id),
        options=payload.options,
        price_minor=payload.price_minor,
        stock=payload.stock,
        actor_id=request.user.pk,
    )
    return Status(201, sku)


@router.post("/skus/{sku_id}/stock", response={200: SkuOut, **ERRORS})
def stock_adjust(request: HttpRequest, sku_id: int, payload: StockIn) -> Sku:
    """Add or remove units of sellable stock. Removing more than are in stock is refused
    whole (409 out_of_stock), never clamped; reserved units are not touched."""
    return stock.stock_adjust(
        sku=sku_by_id(sku_id),
        delta=payload.delta,
        reason=payload.reason,
        actor_id=request.user.pk,
    )


@router.post("/products/{product_id}/bundle-items", response={201: BundleItemOut, **ERRORS})
def bundle_item_add(
    request: HttpRequest, product_id: int, payload: BundleItemIn
) -> Status[BundleItem]:
    """Put a product in a bundle; a physical component names the spec whose stock the
    bundle's orders reserve (needed when it has several)."""
    bundle = product_by_id(product_id)
    component = product_by_id(payload.component_id, field="component_id")
    item = products.bundle_item_add(
        bundle=bundle,
        component=component,
        quantity=payload.quantity,
        sku=sku_by_id(payload.sku_id, product=component) if payload.sku_id else None,
        actor_id=request.user.pk,
    )
    return Status(201, item)
