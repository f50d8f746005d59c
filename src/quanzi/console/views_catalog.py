"""Console pages for a community's catalog: products and their specs with stock, shipping
templates and group-buy drops. Reads through the catalog selectors (and a few small queries),
writes through the catalog services; every refusal is shown next to the field it names.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.catalog import selectors as catalog
from quanzi.catalog.models import Drop, Product, ProductKind, Sku
from quanzi.catalog.services.drops import drop_create
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec, shipping_template_create
from quanzi.catalog.services.stock import stock_adjust
from quanzi.communities import selectors as communities
from quanzi.communities.models import Community
from quanzi.console.commerce import actor, choose_community, commerce_context, community_or_404
from quanzi.console.feedback import form_error
from quanzi.console.forms_commerce import (
    PRODUCT_FIELDS_BY_KIND,
    DropForm,
    ProductForm,
    ShippingRuleFormSet,
    ShippingTemplateForm,
    SkuForm,
    StockAdjustForm,
    format_options,
    kinds_using,
)
from quanzi.console.views import operator_required
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity, ActivityKind
from quanzi.orders.services.drops import drop_buyers

PRODUCT_ALIASES = {"price_minor": "price"}
DROP_ALIASES = {"price_minor": "price", "community": "product"}
MAX_DROPS = 60

T = TypeVar("T")


def pick(items: list[T], pk: int | None) -> T | None:
    """The item with primary key ``pk`` among the form's choices (``None`` for none)."""
    if pk is None:
        return None
    return next((item for item in items if getattr(item, "pk", None) == pk), None)


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, failed: bool = False
) -> HttpResponse:
    return render(request, template, context, status=422 if failed else 200)


def _catalog(community: Community, tab: str) -> dict[str, Any]:
    return {
        **commerce_context(community, section="catalog", url_name="console:catalog"),
        "tab": tab,
    }


# --- Products ----------------------------------------------------------------------------------


@require_GET
@operator_required
def catalog_home(request: HttpRequest) -> HttpResponse:
    return choose_community(request, section="catalog", url_name="console:catalog")


@require_GET
@operator_required
def product_list(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    products = catalog.product_list(community=community).prefetch_related(
        Prefetch("skus", queryset=Sku.objects.order_by("pk"))
    )
    kind = request.GET.get("kind", "")
    if kind in ProductKind.values:
        products = products.filter(kind=kind)
    else:
        kind = ""
    rows = []
    for product in products.select_related("shipping_template", "grants_group"):
        skus = list(product.skus.all())
        rows.append(
            {
                "product": product,
                "skus": [(s, format_options(s.options)) for s in skus],
                "stock": sum(s.stock for s in skus),
                "physical": product.kind == ProductKind.PHYSICAL,
            }
        )
    context = {**_catalog(community, "products"), "rows": rows, "kind": kind, "kinds": ProductKind}
    return _render(request, "console/commerce/catalog_products.html", context)


def _product_form(
    request: HttpRequest,
    community: Community,
    product: Product | None = None,
    *,
    bound: bool = True,
) -> ProductForm:
    return ProductForm(
        request.POST if bound and request.method == "POST" else None,
        plans=list(communities.plan_list(community=community)),
        groups=list(communities.group_list(community=community)),
        templates=list(catalog.shipping_template_list(community=community)),
        currency=community.currency,
        product=product,
    )


def _kind_values(form: ProductForm, community: Community) -> dict[str, Any]:
    """The kind-specific keyword arguments of the product services, as objects."""
    data = form.cleaned_data
    used = PRODUCT_FIELDS_BY_KIND.get(form.product_kind, ())
    values: dict[str, Any] = {}
    if "plan" in used:
        values["plan"] = pick(list(communities.plan_list(community=community)), data["plan"])
    if "grants_group" in used:
        values["grants_group"] = pick(
            list(communities.group_list(community=community)), data["grants_group"]
        )
    if "shipping_template" in used:
        values["shipping_template"] = pick(
            list(catalog.shipping_template_list(community=community)), data["shipping_template"]
        )
        for name in ("weight_grams", "packaging", "cold_chain", "cold_chain_note"):
            values[name] = data[name]
    return values


@require_http_methods(["GET", "POST"])
@operator_required
def product_new(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    form = _product_form(request, community)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            product = product_create(
                community=community,
                name=data["name"],
                kind=data["kind"],
                price_minor=data["price"],
                description=data["description"],
                active=data["active"],
                per_member_limit=data["per_member_limit"],
                category=data["category"],
                actor_id=actor(request),
                **_kind_values(form, community),
            )
        except ApplicationError as exc:
            form_error(form, exc, PRODUCT_ALIASES)
        else:
            if product.kind == ProductKind.PHYSICAL:
                messages.success(
                    request,
                    _("“%(name)s” is created. Add a spec with its stock, then put it on sale.")
                    % {"name": product.name},
                )
            else:
                messages.success(request, _("“%(name)s” is created.") % {"name": product.name})
            return redirect("console:product", slug=community.slug, pk=product.pk)
    context = {
        **_catalog(community, "products"),
        "form": form,
        "kinds_of": {f: kinds_using(f) for f in ("plan", "grants_group", "weight_grams")},
        "on_sale_kinds": " ".join(k for k in ProductKind.values if k != ProductKind.PHYSICAL),
    }
    return _render(
        request, "console/commerce/catalog_product_new.html", context, failed=bool(form.errors)
    )


def _product_or_404(community: Community, pk: int) -> Product:
    product = (
        catalog.product_list(community=community)
        .select_related("shipping_template", "grants_group")
        .filter(pk=pk)
        .first()
    )
    if product is None:
        raise Http404("No such product in this community.")
    return product


def _stock_history(skus: list[Sku]) -> list[Activity]:
    """The latest stock changes of the product's specs, from the activity log."""
    if not skus:
        return []
    return list(
        Activity.objects.filter(
            kind=ActivityKind.OPERATOR,
            object_type="sku",
            object_id__in=[str(s.pk) for s in skus],
            data__action__in=["stock_adjusted", "restocked", "sku_created"],
        ).order_by("-occurred_at", "-id")[:12]
    )


def _product_page(
    request: HttpRequest,
    community: Community,
    product: Product,
    *,
    form: ProductForm | None = None,
    sku_form: SkuForm | None = None,
    adjust: tuple[int, StockAdjustForm] | None = None,
) -> HttpResponse:
    skus = list(catalog.product_skus(product))
    names = {s.pk: format_options(s.options) for s in skus}
    rows = []
    for sku in skus:
        if adjust is not None and adjust[0] == sku.pk:
            adjust_form = adjust[1]
        else:
            adjust_form = StockAdjustForm(prefix=f"sku{sku.pk}")
        rows.append({"sku": sku, "spec": names[sku.pk], "form": adjust_form})
    history = [(a, names.get(int(a.object_id), a.object_id)) for a in _stock_history(skus)]
    # Another form posted (a spec, a stock change): the details form shows the product as is.
    form = form or _product_form(request, community, product, bound=False)
    failed = bool(form.errors or (sku_form and sku_form.errors) or (adjust and adjust[1].errors))
    context = {
        **_catalog(community, "products"),
        "product": product,
        "form": form,
        "used": PRODUCT_FIELDS_BY_KIND.get(product.kind, ()),
        "physical": product.kind == ProductKind.PHYSICAL,
        "rows": rows,
        "sku_form": sku_form or SkuForm(currency=community.currency),
        "history": history,
        "drops": Drop.objects.filter(product=product).order_by("-starts_at")[:5],
    }
    return _render(request, "console/commerce/catalog_product.html", context, failed=failed)


@require_http_methods(["GET", "POST"])
@operator_required
def product_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = community_or_404(request, slug)
    product = _product_or_404(community, pk)
    if request.method == "GET":
        return _product_page(request, community, product)
    form = _product_form(request, community, product)
    if form.is_valid():
        data = form.cleaned_data
        try:
            product_update(
                product=product,
                name=data["name"],
                description=data["description"],
                price_minor=data["price"],
                active=data["active"],
                per_member_limit=data["per_member_limit"],
                category=data["category"],
                actor_id=actor(request),
                **_kind_values(form, community),
            )
        except ApplicationError as exc:
            form_error(form, exc, PRODUCT_ALIASES)
        else:
            messages.success(
                request, _("Changes to “%(name)s” are saved.") % {"name": data["name"]}
            )
            return redirect("console:product", slug=community.slug, pk=product.pk)
    return _product_page(request, community, product, form=form)


@require_POST
@operator_required
def sku_add(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = community_or_404(request, slug)
    product = _product_or_404(community, pk)
    form = SkuForm(request.POST, currency=community.currency)
    if form.is_valid():
        data = form.cleaned_data
        try:
            sku = sku_create(
                product=product,
                options=data["options"],
                price_minor=data["price"],
                stock=data["stock"],
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc, {"price_minor": "price"})
        else:
            messages.success(
                request,
                _("Spec %(spec)s added with %(n)s in stock.")
                % {"spec": format_options(sku.options) or _("(single)"), "n": sku.stock},
            )
            return redirect("console:product", slug=community.slug, pk=product.pk)
    return _product_page(request, community, product, sku_form=form)


@require_POST
@operator_required
def sku_stock(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    community = community_or_404(request, slug)
    sku = Sku.objects.filter(pk=pk, product__community=community).select_related("product").first()
    if sku is None:
        raise Http404("No such spec in this community.")
    product = _product_or_404(community, sku.product_id)
    form = StockAdjustForm(request.POST, prefix=f"sku{sku.pk}")
    if form.is_valid():
        try:
            changed = stock_adjust(
                sku=sku,
                delta=form.cleaned_data["delta"],
                reason=form.cleaned_data["reason"],
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("Stock of %(spec)s is now %(n)s.")
                % {"spec": format_options(changed.options) or product.name, "n": changed.stock},
            )
            return redirect("console:product", slug=community.slug, pk=product.pk)
    return _product_page(request, community, product, adjust=(sku.pk, form))


# --- Shipping templates ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@operator_required
def shipping_templates(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    posted = request.POST if request.method == "POST" else None
    form = ShippingTemplateForm(posted)
    rules = ShippingRuleFormSet(
        posted, prefix="rules", form_kwargs={"currency": community.currency}
    )
    if posted is not None and form.is_valid() and rules.is_valid():
        specs = [
            RuleSpec(
                regions=row["regions"],
                first_fee_minor=row["first_fee"],
                additional_fee_minor=row["additional_fee"] or 0,
                free_over_minor=row["free_over"],
            )
            for row in rules.cleaned_data
            if row and row.get("regions")
        ]
        try:
            template = shipping_template_create(
                community=community,
                name=form.cleaned_data["name"],
                rules=specs,
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request, _("Shipping template “%(name)s” is saved.") % {"name": template.name}
            )
            return redirect("console:shipping_templates", slug=community.slug)
    templates = list(
        catalog.shipping_template_list(community=community).prefetch_related("products")
    )
    context = {
        **_catalog(community, "templates"),
        "templates": templates,
        "form": form,
        "rules": rules,
    }
    failed = posted is not None and bool(form.errors or rules.total_error_count())
    return _render(request, "console/commerce/catalog_templates.html", context, failed=failed)


# --- Drops -------------------------------------------------------------------------------------


def _drop_rows(community: Community) -> list[dict[str, Any]]:
    drops = (
        Drop.objects.filter(community=community)
        .select_related("product", "sku")
        .order_by("-starts_at", "-pk")[:MAX_DROPS]
    )
    rows = []
    for drop in drops:
        buyers = drop_buyers(drop)
        rows.append(
            {
                "drop": drop,
                "spec": format_options(drop.sku.options) if drop.sku else "",
                "buyers": buyers,
                "sold_percent": round(drop.sold * 100 / drop.units) if drop.units else 0,
                "short_of_minimum": max((drop.min_buyers or 0) - buyers, 0),
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
@operator_required
def drops(request: HttpRequest, slug: str) -> HttpResponse:
    community = community_or_404(request, slug)
    products = [
        p for p in catalog.product_list(community=community) if p.kind != ProductKind.BUNDLE
    ]
    skus = list(
        Sku.objects.filter(product__community=community, product__kind=ProductKind.PHYSICAL)
        .select_related("product")
        .order_by("product__name", "pk")
    )
    form = DropForm(
        request.POST if request.method == "POST" else None,
        products=products,
        skus=skus,
        currency=community.currency,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        product = pick(products, data["product"])
        assert product is not None  # the form's choices are these products
        try:
            drop = drop_create(
                product=product,
                title=data["title"],
                price_minor=data["price"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                units=data["units"],
                sku=pick(skus, data["sku"]),
                per_member_limit=data["per_member_limit"],
                min_buyers=data["min_buyers"],
                actor_id=actor(request),
            )
        except ApplicationError as exc:
            form_error(form, exc, DROP_ALIASES)
        else:
            messages.success(
                request,
                _("Group-buy “%(title)s” is set up with %(n)s units.")
                % {"title": drop.title, "n": drop.units},
            )
            return redirect("console:drops", slug=community.slug)
    context = {
        **_catalog(community, "drops"),
        "rows": _drop_rows(community),
        "form": form,
        "can_create": bool(products),
    }
    return _render(
        request, "console/commerce/catalog_drops.html", context, failed=bool(form.errors)
    )
