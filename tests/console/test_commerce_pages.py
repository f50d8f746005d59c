"""The console's commerce pages (catalog, orders, shipping, after-sales), through Django's test
client. Data is made through the services; every action is checked for what it changed, and
every refusal for the message beside its field and for having changed nothing."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from quanzi.catalog.models import Drop, Product, ShippingRule, ShippingTemplate, Sku
from quanzi.catalog.services.drops import drop_create
from quanzi.catalog.services.products import product_update
from quanzi.catalog.tests.factories import template
from quanzi.communities.models import Community, Group, MembershipPlan
from quanzi.communities.services.setup import community_create
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity
from quanzi.members.models import Member
from quanzi.orders.models import AfterSale, AfterSaleStatus, Order, OrderStatus, Shipment
from quanzi.orders.services.aftersales import after_sale_add_evidence, after_sale_open
from quanzi.orders.services.checkout import LineIn, order_create
from quanzi.orders.services.fulfilment import order_ship
from quanzi.orders.tests.factories import ADDRESS, goods, order, paid_order, pay, virtual
from quanzi.payments.models import Payment, PaymentStatus

# A 1x1 PNG, enough to be an image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e1c1d2a30000000049454e44ae426082"
)


@pytest.fixture
def en(client: Any) -> Any:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def staff(signed_in: Any, en: Any) -> Any:
    """A signed-in operator with every permission, reading English."""
    return signed_in


@pytest.fixture
def sku(circle: Community) -> Sku:
    return goods(circle, stock=10, price_minor=5_000)


@pytest.fixture
def placed(sku: Sku, person: Member) -> Order:
    return order(sku, person, quantity=2)


@pytest.fixture
def paid(sku: Sku, person: Member) -> Order:
    return paid_order(sku, person, quantity=2)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _catalog_state() -> tuple[Any, ...]:
    return (
        list(Product.objects.order_by("pk").values_list("pk", "name", "price_minor", "active")),
        list(Sku.objects.order_by("pk").values_list("pk", "options_key", "stock", "reserved")),
        ShippingTemplate.objects.count(),
        ShippingRule.objects.count(),
        list(Drop.objects.order_by("pk").values_list("pk", "stock")),
    )


def _order_state(placed: Order) -> tuple[Any, ...]:
    fresh = Order.objects.get(pk=placed.pk)
    return (
        fresh.status,
        fresh.paid_at,
        fresh.refunded_minor,
        Payment.objects.filter(reference=fresh.number, status=PaymentStatus.SUCCEEDED).count(),
        Shipment.objects.filter(order=fresh).count(),
        AfterSale.objects.filter(order=fresh).count(),
        list(Sku.objects.order_by("pk").values_list("stock", "reserved")),
    )


# --- access ------------------------------------------------------------------------------------


def _pages(community: Community, sku: Sku, placed: Order) -> list[str]:
    slug = community.slug
    return [
        "/console/catalog/",
        f"/console/catalog/{slug}/",
        f"/console/catalog/{slug}/products/new/",
        f"/console/catalog/{slug}/products/{sku.product_id}/",
        f"/console/catalog/{slug}/shipping-templates/",
        f"/console/catalog/{slug}/drops/",
        "/console/orders/",
        f"/console/orders/{slug}/",
        f"/console/orders/{slug}/{placed.number}/",
        "/console/shipping/",
        f"/console/shipping/{slug}/",
        "/console/after-sales/",
        f"/console/after-sales/{slug}/",
        f"/console/after-sales/{slug}/?tab=closed",
    ]


def test_anonymous_is_sent_to_login(
    client: Any, circle: Community, sku: Sku, placed: Order
) -> None:
    for url in _pages(circle, sku, placed):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/console/login/?next="), url


@pytest.mark.parametrize(
    "action",
    [
        "catalog/english/products/new/",
        "catalog/english/shipping-templates/",
        "catalog/english/drops/",
        "orders/english/{number}/cancel/",
        "orders/english/{number}/confirm-transfer/",
        "orders/english/{number}/ship/",
        "orders/english/{number}/refund/",
        "orders/english/{number}/reveal/",
        "shipping/english/export/",
    ],
)
def test_anonymous_cannot_post_actions(client: Any, placed: Order, action: str) -> None:
    before = _order_state(placed), _catalog_state(), Activity.objects.count()

    response = client.post("/console/" + action.format(number=placed.number), {"amount": "100"})

    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")
    assert (_order_state(placed), _catalog_state(), Activity.objects.count()) == before


def test_operator_sees_every_page_in_every_language(
    signed_in: Any, circle: Community, sku: Sku, placed: Order
) -> None:
    for language in ("zh-hans", "en", "ko"):
        for url in _pages(circle, sku, placed):
            response = signed_in.get(url, HTTP_ACCEPT_LANGUAGE=language, follow=True)
            assert response.status_code == 200, (language, url)
            assert 'action="/console/logout/"' in response.content.decode(), url


def test_nav_lists_the_commerce_pages(staff: Any, circle: Community) -> None:
    body = staff.get("/console/").content.decode()

    for href, label in [
        ("/console/catalog/", "Catalog"),
        ("/console/orders/", "Orders"),
        ("/console/shipping/", "Shipping"),
        ("/console/after-sales/", "After-sales"),
    ]:
        assert f'href="{href}"' in body
        assert label in body


def test_section_home_opens_the_only_community(staff: Any, circle: Community) -> None:
    response = staff.get("/console/orders/")

    assert response.status_code == 302
    assert response["Location"] == "/console/orders/english/"


def test_section_home_offers_a_choice_then_remembers_it(staff: Any, circle: Community) -> None:
    community_create(slug="seafood", name="海鲜水果圈", kind="product", vertical="food")

    choice = staff.get("/console/shipping/")
    staff.get("/console/catalog/seafood/")
    remembered = staff.get("/console/after-sales/")

    assert choice.status_code == 200
    body = choice.content.decode()
    assert 'href="/console/shipping/english/"' in body
    assert 'href="/console/shipping/seafood/"' in body
    assert remembered["Location"] == "/console/after-sales/seafood/"
    # Every commerce page offers a switch to the other community.
    page = staff.get("/console/orders/seafood/").content.decode()
    assert 'href="/console/orders/english/"' in page


def test_unknown_community_order_or_product_is_404(
    staff: Any, circle: Community, placed: Order
) -> None:
    other = community_create(slug="seafood", name="海鲜水果圈", kind="product", vertical="food")

    assert staff.get("/console/orders/nope/").status_code == 404
    assert staff.get(f"/console/orders/{other.slug}/{placed.number}/").status_code == 404
    assert staff.get("/console/catalog/english/products/999999/").status_code == 404
    assert staff.get("/console/after-sales/english/999999/approve/").status_code == 405


# --- catalog: products -------------------------------------------------------------------------


def test_product_list_shows_kind_price_stock_and_sale_status(
    staff: Any, circle: Community, sku: Sku
) -> None:
    course = virtual(circle)
    Sku.objects.filter(pk=sku.pk).update(reserved=3)

    body = staff.get("/console/catalog/english/").content.decode()
    only_courses = staff.get("/console/catalog/english/?kind=course").content.decode()

    assert sku.product.name in body
    assert "Physical goods" in body
    assert "¥50.00" in body
    assert "2斤" in body
    assert "+3 held" in body
    assert course.name in body
    assert "On sale" in body
    assert course.name in only_courses
    assert sku.product.name not in only_courses


def test_create_a_course(staff: Any, circle: Community, junior: Group) -> None:
    response = staff.post(
        "/console/catalog/english/products/new/",
        {
            "name": "30 天发音训练营",
            "kind": "course",
            "price": "199",
            "category": "课程",
            "per_member_limit": "1",
            "grants_group": str(junior.pk),
            "active": "on",
            # Fields of another kind, left filled in, are ignored.
            "weight_grams": "500",
            "packaging": "box",
        },
    )

    product = Product.objects.get(name="30 天发音训练营")
    assert response.status_code == 302
    assert response["Location"] == f"/console/catalog/english/products/{product.pk}/"
    assert (product.kind, product.price_minor, product.active) == ("course", 19_900, True)
    assert (product.grants_group_id, product.per_member_limit, product.category) == (
        junior.pk,
        1,
        "课程",
    )
    assert (product.weight_grams, product.packaging) == (None, "")


def test_create_physical_goods_starts_off_sale(staff: Any, circle: Community) -> None:
    shipping = template(circle, name="顺丰冷链")

    response = staff.post(
        "/console/catalog/english/products/new/",
        {
            "name": "舟山带鱼",
            "kind": "physical",
            "price": "88.00",
            "weight_grams": "1000",
            "packaging": "泡沫箱加冰袋",
            "cold_chain": "on",
            "cold_chain_note": "-18°C",
            "shipping_template": str(shipping.pk),
            "active": "on",
        },
    )

    product = Product.objects.get(name="舟山带鱼")
    assert response.status_code == 302
    assert product.active is False
    assert (product.cold_chain, product.shipping_template_id, product.weight_grams) == (
        True,
        shipping.pk,
        1_000,
    )
    page = staff.get(response["Location"]).content.decode()
    assert "Add a spec with its stock below" in page


def test_membership_product_needs_its_plan(staff: Any, annual: MembershipPlan) -> None:
    before = _catalog_state()

    response = staff.post(
        "/console/catalog/english/products/new/",
        {"name": "年卡", "kind": "membership", "price": "365"},
    )

    assert response.status_code == 422
    assert response.context["form"].errors["plan"] == [
        "A membership product names the plan it grants."
    ]
    assert _catalog_state() == before

    made = staff.post(
        "/console/catalog/english/products/new/",
        {"name": "年卡", "kind": "membership", "price": "365", "plan": str(annual.pk)},
    )
    assert made.status_code == 302
    assert Product.objects.get(name="年卡").plan_id == annual.pk


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("price", {"name": "A", "kind": "course", "price": "12,5"}),
        ("price", {"name": "A", "kind": "course", "price": "-3"}),
        ("name", {"name": "", "kind": "course", "price": "1"}),
        ("kind", {"name": "A", "kind": "pyramid", "price": "1"}),
        (
            "per_member_limit",
            {"name": "A", "kind": "course", "price": "1", "per_member_limit": "0"},
        ),
    ],
)
def test_bad_product_input_writes_nothing(
    staff: Any, circle: Community, field: str, data: dict[str, str]
) -> None:
    before = _catalog_state()

    response = staff.post("/console/catalog/english/products/new/", data)

    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert _catalog_state() == before


def test_edit_a_product(staff: Any, circle: Community, sku: Sku) -> None:
    url = f"/console/catalog/english/products/{sku.product_id}/"
    page = staff.get(url).content.decode()

    response = staff.post(
        url,
        {
            "name": "舟山带鱼（大）",
            "price": "99.00",
            "weight_grams": "1500",
            "active": "on",
            "cold_chain": "on",
            "category": "海鲜",
        },
    )

    product = Product.objects.get(pk=sku.product_id)
    assert 'value="50.00"' in page
    assert response.status_code == 302
    assert (product.name, product.price_minor, product.weight_grams) == (
        "舟山带鱼（大）",
        9_900,
        1_500,
    )
    assert (product.cold_chain, product.category, product.active) == (True, "海鲜", True)
    assert product.shipping_template_id is None  # the form left it empty


def test_physical_goods_without_a_spec_cannot_go_on_sale(staff: Any, circle: Community) -> None:
    staff.post(
        "/console/catalog/english/products/new/",
        {"name": "带鱼", "kind": "physical", "price": "10"},
    )
    product = Product.objects.get(name="带鱼")
    before = _catalog_state()

    response = staff.post(
        f"/console/catalog/english/products/{product.pk}/",
        {"name": "带鱼", "price": "10", "active": "on"},
    )

    assert response.status_code == 422
    assert response.context["form"].errors["active"] == [
        "Physical goods go on sale once they have a SKU (a spec to sell)."
    ]
    assert _catalog_state() == before


def test_cold_chain_note_needs_the_cold_chain(staff: Any, sku: Sku) -> None:
    before = _catalog_state()

    response = staff.post(
        f"/console/catalog/english/products/{sku.product_id}/",
        {"name": "x", "price": "10", "cold_chain_note": "-18°C"},
    )

    assert response.status_code == 422
    assert "cold_chain_note" in response.context["form"].errors
    assert _catalog_state() == before


# --- catalog: specs and stock ------------------------------------------------------------------


def test_add_a_spec(staff: Any, sku: Sku) -> None:
    url = f"/console/catalog/english/products/{sku.product_id}/skus/"

    response = staff.post(url, {"options": "规格：5斤; 产地=舟山", "price": "180", "stock": "4"})

    added = Sku.objects.exclude(pk=sku.pk).get(product_id=sku.product_id)
    assert response.status_code == 302
    assert (added.options, added.price_minor, added.stock) == (
        {"规格": "5斤", "产地": "舟山"},
        18_000,
        4,
    )


@pytest.mark.parametrize(
    ("field", "data", "message"),
    [
        (
            "options",
            {"options": "规格: 2斤", "stock": "1"},
            "This product has a SKU with these options already.",
        ),
        ("options", {"options": "just words", "stock": "1"}, None),
        ("stock", {"options": "规格: 9斤", "stock": "-1"}, None),
        ("price", {"options": "规格: 9斤", "stock": "1", "price": "abc"}, None),
    ],
)
def test_bad_spec_input_writes_nothing(
    staff: Any, sku: Sku, field: str, data: dict[str, str], message: str | None
) -> None:
    before = _catalog_state()

    response = staff.post(f"/console/catalog/english/products/{sku.product_id}/skus/", data)

    assert response.status_code == 422
    assert not response.context["form"].is_bound
    errors = response.context["sku_form"].errors
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert _catalog_state() == before


def test_adjust_stock(staff: Any, sku: Sku, operator: Any) -> None:
    url = f"/console/catalog/english/skus/{sku.pk}/stock/"

    added = staff.post(url, {f"sku{sku.pk}-delta": "20", f"sku{sku.pk}-reason": "新到一批"})
    removed = staff.post(url, {f"sku{sku.pk}-delta": "-5", f"sku{sku.pk}-reason": "破损"})

    assert added.status_code == removed.status_code == 302
    assert Sku.objects.get(pk=sku.pk).stock == 25
    logged = Activity.objects.filter(data__action="stock_adjusted").order_by("pk")
    assert [(a.data["delta"], a.data["reason"], a.actor_id) for a in logged] == [
        (20, "新到一批", operator.pk),
        (-5, "破损", operator.pk),
    ]
    page = staff.get(f"/console/catalog/english/products/{sku.product_id}/").content.decode()
    assert "破损" in page
    assert "now 25" in page


@pytest.mark.parametrize(
    ("field", "delta", "reason", "message"),
    [
        ("delta", "-11", "盘点", "Only units in stock can be removed; fewer than 11 are left."),
        ("delta", "0", "盘点", "Add or remove at least one unit."),
        ("delta", "lots", "盘点", None),
        ("reason", "5", "", None),
    ],
)
def test_bad_stock_adjustment_changes_nothing(
    staff: Any, sku: Sku, field: str, delta: str, reason: str, message: str | None
) -> None:
    before = _catalog_state(), Activity.objects.count()

    response = staff.post(
        f"/console/catalog/english/skus/{sku.pk}/stock/",
        {f"sku{sku.pk}-delta": delta, f"sku{sku.pk}-reason": reason},
    )

    assert response.status_code == 422
    assert not response.context["form"].is_bound  # the details form is not the one posted
    form = next(r["form"] for r in response.context["rows"] if r["sku"].pk == sku.pk)
    assert field in form.errors
    if message:
        assert form.errors[field] == [message]
        assert message in response.content.decode()
    assert (_catalog_state(), Activity.objects.count()) == before


def test_stock_of_another_community_is_404(staff: Any, circle: Community) -> None:
    elsewhere = goods(community_create(slug="x", name="X", kind="product", vertical="food"))

    response = staff.post(
        f"/console/catalog/english/skus/{elsewhere.pk}/stock/",
        {f"sku{elsewhere.pk}-delta": "5", f"sku{elsewhere.pk}-reason": "r"},
    )

    assert response.status_code == 404
    assert Sku.objects.get(pk=elsewhere.pk).stock == 10


# --- catalog: shipping templates ---------------------------------------------------------------


def _rules(*rows: tuple[str, str, str, str]) -> dict[str, str]:
    data = {
        "rules-TOTAL_FORMS": "4",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "20",
    }
    for n, (regions, first, additional, free) in enumerate(rows):
        data.update(
            {
                f"rules-{n}-regions": regions,
                f"rules-{n}-first_fee": first,
                f"rules-{n}-additional_fee": additional,
                f"rules-{n}-free_over": free,
            }
        )
    return data


def test_create_a_shipping_template(staff: Any, circle: Community) -> None:
    response = staff.post(
        "/console/catalog/english/shipping-templates/",
        {
            "name": "顺丰冷链",
            **_rules(("浙江, 上海、江苏", "12", "5", "199"), ("*", "20", "8", "")),
        },
    )

    made = ShippingTemplate.objects.get(name="顺丰冷链")
    assert response.status_code == 302
    assert [
        (r.regions, r.first_fee_minor, r.additional_fee_minor, r.free_over_minor)
        for r in made.rules.all()
    ] == [(["浙江", "上海", "江苏"], 1_200, 500, 19_900), (["*"], 2_000, 800, None)]
    page = staff.get("/console/catalog/english/shipping-templates/").content.decode()
    assert "顺丰冷链" in page
    assert "Everywhere else" in page
    assert "¥199.00" in page


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        ({"name": "T", **_rules()}, None, "A shipping template has at least one rule."),
        (
            {"name": "T", **_rules(("浙江", "1", "1", ""), ("浙江, 上海", "2", "2", ""))},
            None,
            "浙江 is in two rules; each region has one fee.",
        ),
        ({"name": "Existing", **_rules(("*", "1", "1", ""))}, "name", None),
        ({"name": "", **_rules(("*", "1", "1", ""))}, "name", None),
    ],
)
def test_bad_shipping_template_writes_nothing(
    staff: Any, circle: Community, data: dict[str, str], where: str | None, message: str | None
) -> None:
    template(circle, name="Existing")
    before = _catalog_state()

    response = staff.post("/console/catalog/english/shipping-templates/", data)

    assert response.status_code == 422
    form = response.context["form"]
    if where:
        assert where in form.errors
    else:
        assert form.non_field_errors() == [message]
    assert _catalog_state() == before


def test_a_rule_row_without_its_fee_is_a_field_error(staff: Any, circle: Community) -> None:
    before = _catalog_state()

    response = staff.post(
        "/console/catalog/english/shipping-templates/",
        {"name": "T", **_rules(("浙江", "", "", ""))},
    )

    assert response.status_code == 422
    assert "first_fee" in response.context["rules"].forms[0].errors
    assert _catalog_state() == before


# --- catalog: drops ----------------------------------------------------------------------------


def _drop_data(sku: Sku, **overrides: str) -> dict[str, str]:
    start = timezone.localtime() - timedelta(minutes=1)
    data = {
        "product": str(sku.product_id),
        "sku": str(sku.pk),
        "title": "周五海鲜团",
        "price": "39.9",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "units": "6",
        "per_member_limit": "2",
        "min_buyers": "3",
    }
    data.update(overrides)
    return data


def test_create_a_drop_and_see_it_sell(staff: Any, sku: Sku, person: Member) -> None:
    response = staff.post("/console/catalog/english/drops/", _drop_data(sku))

    drop = Drop.objects.get()
    assert response.status_code == 302
    assert (drop.price_minor, drop.units, drop.stock, drop.min_buyers) == (3_990, 6, 6, 3)
    assert Sku.objects.get(pk=sku.pk).stock == 4  # set aside from the spec

    bought = order_create(
        member=person,
        community=sku.product.community,
        lines=[LineIn(product_id=sku.product_id, quantity=2)],
        drop_id=drop.pk,
        address=ADDRESS,
    )
    pay(bought)
    order(sku, quantity=1, drop_id=drop.pk)  # held, not paid
    page = staff.get("/console/catalog/english/drops/").content.decode()
    assert "周五海鲜团" in page
    assert "<strong>2</strong> / 6" in page  # sold of units
    assert "2 buyers short" in page


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("units", {"units": "11"}),
        ("ends_at", {"ends_at": "2001-01-01T10:00", "starts_at": "2001-01-01T09:00"}),
        ("min_buyers", {"min_buyers": "7"}),
        ("price", {"price": "free"}),
        ("title", {"title": ""}),
    ],
)
def test_bad_drop_input_writes_nothing(
    staff: Any, sku: Sku, field: str, overrides: dict[str, str]
) -> None:
    before = _catalog_state()

    response = staff.post("/console/catalog/english/drops/", _drop_data(sku, **overrides))

    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert _catalog_state() == before


# --- orders: list ------------------------------------------------------------------------------


def test_orders_list_kpis_and_filters(
    staff: Any, circle: Community, sku: Sku, person: Member, frozen_clock: Any
) -> None:
    old = timezone.now() - timedelta(days=3)
    frozen_clock.set(old)
    earlier = paid_order(sku, person)
    frozen_clock.set(timezone.now())
    waiting = order(sku, person)
    shipped = paid_order(sku, person)
    order_ship(order=shipped, carrier="顺丰速运", tracking_no="SF100")
    to_ship = paid_order(sku, person)

    page = staff.get("/console/orders/english/")
    pending = staff.get("/console/orders/english/?status=pending").content.decode()
    by_number = staff.get(f"/console/orders/english/?number={shipped.number[-6:]}").content.decode()
    today = timezone.localdate().isoformat()
    dated = staff.get(
        f"/console/orders/english/?date_from={today}&date_to={today}"
    ).content.decode()

    assert page.status_code == 200
    kpis = page.context["kpis"]
    # Paid and not shipped: the one from three days ago and today's.
    assert (kpis["today"], kpis["pending"], kpis["to_ship"], kpis["after_sales"]) == (3, 1, 2, 0)
    assert kpis["paid_today"] == "¥120.00"  # two paid today, ¥50.00 and ¥10.00 shipping each
    body = page.content.decode()
    for placed in (earlier, waiting, shipped, to_ship):
        assert placed.number in body
    assert "SF100" in body
    assert waiting.number in pending
    assert shipped.number not in pending
    assert shipped.number in by_number
    assert to_ship.number not in by_number
    assert earlier.number not in dated
    assert waiting.number in dated


def test_orders_filter_by_drop_and_bad_dates(staff: Any, sku: Sku, person: Member) -> None:
    now = timezone.now()
    drop = drop_create(
        product=sku.product,
        title="团",
        price_minor=1_000,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        units=3,
    )
    in_drop = order(sku, person, drop_id=drop.pk)
    plain = order(sku, person)

    filtered = staff.get(f"/console/orders/english/?drop={drop.pk}").content.decode()
    bad = staff.get("/console/orders/english/?date_from=2030-01-02&date_to=2030-01-01")

    assert in_drop.number in filtered
    assert plain.number not in filtered
    assert bad.status_code == 200
    assert "The end date is before the start date." in bad.content.decode()


def test_orders_are_paginated(staff: Any, circle: Community, person: Member) -> None:
    course = virtual(circle)
    for _ in range(27):
        order_create(member=person, community=circle, lines=[LineIn(product_id=course.pk)])

    first = staff.get("/console/orders/english/")
    second = staff.get("/console/orders/english/?page=2")

    assert len(first.context["rows"]) == 25
    assert len(second.context["rows"]) == 2
    assert 'rel="next"' in first.content.decode()


def test_htmx_filter_gets_the_page_with_the_results(staff: Any, placed: Order) -> None:
    response = staff.get("/console/orders/english/?status=pending", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'id="order-results"' in response.content.decode()


# --- orders: one order, masked address ----------------------------------------------------------


def test_order_page_masks_the_address(staff: Any, placed: Order) -> None:
    body = staff.get(f"/console/orders/english/{placed.number}/").content.decode()

    assert "王**" in body
    assert "138****8000" in body
    assert "浙江" in body
    assert "舟山市定海区****" in body
    assert "王小明" in body  # the member's display name, not the recipient's
    assert "13800138000" not in body
    assert "海港路" not in body
    assert f'action="/console/orders/english/{placed.number}/reveal/"' in body
    for text in ("2斤", "¥100.00", "Awaiting payment"):
        assert text in body


def test_reveal_shows_the_address_once_and_records_who_looked(
    staff: Any, operator: Any, placed: Order
) -> None:
    response = staff.post(f"/console/orders/english/{placed.number}/reveal/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "舟山市定海区海港路 8 号" in body
    assert "13800138000" in body
    logged = Activity.objects.get(data__action="personal_data_revealed")
    assert (logged.member_id, logged.actor_id, logged.data["what"]) == (
        placed.member_id,
        operator.pk,
        "order_address",
    )
    assert "海港路" not in staff.get(f"/console/orders/english/{placed.number}/").content.decode()


def test_reveal_is_refused_without_the_permission(plain_operator: Any, placed: Order) -> None:
    page = plain_operator.get(f"/console/orders/english/{placed.number}/").content.decode()
    before = Activity.objects.count()

    response = plain_operator.post(f"/console/orders/english/{placed.number}/reveal/")

    assert f'action="/console/orders/english/{placed.number}/reveal/"' not in page
    assert response.status_code == 403
    assert "海港路" not in response.content.decode()
    assert "13800138000" not in response.content.decode()
    assert Activity.objects.count() == before


# --- orders: actions ---------------------------------------------------------------------------


def test_confirm_a_transfer(staff: Any, operator: Any, placed: Order) -> None:
    url = f"/console/orders/english/{placed.number}/confirm-transfer/"
    before = _order_state(placed)

    wrong = staff.post(url, {"amount": "99.99", "note": "尾号 1234"})

    assert placed.total_minor == 11_500  # 2 × ¥50.00 and ¥15.00 shipping
    assert wrong.status_code == 422
    assert wrong.context["confirm_form"].errors["amount"] == [
        "¥99.99 arrived; this payment is for ¥115.00."
    ]
    assert _order_state(placed)[:4] == before[:4]

    right = staff.post(url, {"amount": "115", "note": "尾号 1234"})

    paid = Order.objects.get(pk=placed.pk)
    payment = Payment.objects.get(reference=placed.number)
    assert right.status_code == 302
    assert paid.status == OrderStatus.PAID
    assert (payment.status, payment.confirmed_by_id, payment.transaction_id) == (
        "succeeded",
        operator.pk,
        "manual:尾号 1234",
    )
    page = staff.get(right["Location"]).content.decode()
    assert "Paid, to ship" in page
    assert 'id="confirm-form"' not in page
    assert 'id="ship-form"' in page


def test_confirm_needs_an_amount(staff: Any, placed: Order) -> None:
    before = _order_state(placed)

    response = staff.post(f"/console/orders/english/{placed.number}/confirm-transfer/", {})

    assert response.status_code == 422
    assert "amount" in response.context["confirm_form"].errors
    assert _order_state(placed) == before


def test_cancel_an_unpaid_order(staff: Any, sku: Sku, placed: Order) -> None:
    response = staff.post(
        f"/console/orders/english/{placed.number}/cancel/", {"reason": "买家要求取消"}
    )

    cancelled = Order.objects.get(pk=placed.pk)
    assert response.status_code == 302
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "买家要求取消")
    assert Sku.objects.get(pk=sku.pk).stock == 10


def test_a_paid_order_cannot_be_cancelled(staff: Any, paid: Order) -> None:
    before = _order_state(paid)

    response = staff.post(f"/console/orders/english/{paid.number}/cancel/", {"reason": "x"})

    assert response.status_code == 422
    assert response.context["cancel_form"].non_field_errors() == [
        "Only an order awaiting payment can be cancelled; this one is Paid, to ship."
    ]
    assert _order_state(paid) == before


def test_ship_mark_delivered(staff: Any, operator: Any, paid: Order) -> None:
    url = f"/console/orders/english/{paid.number}/"

    response = staff.post(
        url + "ship/", {"carrier": "other", "carrier_other": "德邦", "tracking_no": "DB-123"}
    )

    shipment = Shipment.objects.get(order=paid)
    assert response.status_code == 302
    assert (shipment.carrier, shipment.tracking_no, shipment.shipped_by_id) == (
        "德邦",
        "DB-123",
        operator.pk,
    )
    page = staff.get(url).content.decode()
    assert "Shipped" in page
    assert "DB-123" in page

    delivered = staff.post(url + "delivered/")
    assert delivered.status_code == 302
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.DELIVERED
    again = staff.post(url + "delivered/", follow=True)
    assert "This order is Delivered." in again.content.decode()


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("tracking_no", {"carrier": "顺丰速运", "tracking_no": "SF 12/34"}),
        ("tracking_no", {"carrier": "顺丰速运", "tracking_no": ""}),
        ("carrier_other", {"carrier": "other", "carrier_other": "", "tracking_no": "A1"}),
        ("carrier", {"carrier": "Pigeon", "tracking_no": "A1"}),
    ],
)
def test_bad_shipping_input_changes_nothing(
    staff: Any, paid: Order, field: str, data: dict[str, str]
) -> None:
    before = _order_state(paid)

    response = staff.post(f"/console/orders/english/{paid.number}/ship/", data)

    assert response.status_code == 422
    assert field in response.context["ship_form"].errors
    assert _order_state(paid) == before


def test_an_unpaid_order_does_not_ship(staff: Any, placed: Order) -> None:
    before = _order_state(placed)

    response = staff.post(
        f"/console/orders/english/{placed.number}/ship/",
        {"carrier": "顺丰速运", "tracking_no": "SF1"},
    )

    assert response.status_code == 422
    assert response.context["ship_form"].non_field_errors() == ["This order is Awaiting payment."]
    assert _order_state(placed) == before


def test_open_an_operator_refund(staff: Any, operator: Any, paid: Order) -> None:
    line = paid.lines.get()

    response = staff.post(
        f"/console/orders/english/{paid.number}/refund/",
        {
            "kind": "refund_only",
            "amount": "50",
            "reason": "少发一件",
            "line": str(line.pk),
            "quantity": "1",
        },
    )

    case = AfterSale.objects.get()
    assert response.status_code == 302
    assert (case.amount_minor, case.opened_by, case.line_id, case.quantity, case.status) == (
        5_000,
        "operator",
        line.pk,
        1,
        "requested",
    )
    page = staff.get(f"/console/orders/english/{paid.number}/").content.decode()
    assert case.refund_no in page
    assert "Awaiting decision" in page


@pytest.mark.parametrize(
    ("field", "data", "message"),
    [
        (
            "amount",
            {"kind": "refund_only", "amount": "115.01", "reason": "x"},
            "At most ¥115.00 of this order is left to refund.",
        ),
        (
            "kind",
            {"kind": "return_refund", "amount": "10", "reason": "x"},
            "Nothing was shipped yet: ask for a refund only.",
        ),
        ("reason", {"kind": "refund_only", "amount": "10", "reason": ""}, None),
    ],
)
def test_bad_refund_input_writes_nothing(
    staff: Any, paid: Order, field: str, data: dict[str, str], message: str | None
) -> None:
    before = _order_state(paid)

    response = staff.post(f"/console/orders/english/{paid.number}/refund/", data)

    assert response.status_code == 422
    errors = response.context["refund_form"].errors
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert _order_state(paid) == before


# --- shipping ----------------------------------------------------------------------------------


def test_pick_list_and_to_ship(staff: Any, circle: Community, person: Member) -> None:
    cold = goods(circle, stock=10, cold_chain=True)
    first = paid_order(cold, person, quantity=2)
    second = paid_order(cold, person, quantity=3)
    waiting = order(cold, person)

    response = staff.get("/console/shipping/english/")

    pick = response.context["pick_rows"]
    assert [
        (r["row"].name, r["spec"], r["row"].units, r["row"].orders, r["row"].cold_chain)
        for r in pick
    ] == [(cold.product.name, "规格: 2斤", 5, 2, True)]
    numbers = [r["order"].number for r in response.context["ship_rows"]]
    assert numbers == [first.number, second.number]
    assert waiting.number not in response.content.decode()
    assert "Cold chain" in response.content.decode()


def test_ship_from_the_list(staff: Any, paid: Order) -> None:
    prefix = f"o{paid.pk}"

    bad = staff.post(
        f"/console/shipping/english/{paid.number}/ship/",
        {f"{prefix}-carrier": "顺丰速运", f"{prefix}-tracking_no": "no way!"},
    )
    good = staff.post(
        f"/console/shipping/english/{paid.number}/ship/",
        {f"{prefix}-carrier": "顺丰速运", f"{prefix}-tracking_no": "SF1234567890"},
    )

    assert bad.status_code == 422
    row = next(r for r in bad.context["ship_rows"] if r["order"].pk == paid.pk)
    assert row["form"].errors["tracking_no"] == [
        "A tracking number is letters and digits (at most 50)."
    ]
    assert good.status_code == 302
    assert good["Location"] == "/console/shipping/english/"
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.SHIPPED
    assert staff.get("/console/shipping/english/").context["ship_rows"] == []


def test_an_open_refund_request_holds_the_order_back(staff: Any, paid: Order) -> None:
    after_sale_open(order=paid, kind="refund_only", amount_minor=1_000, reason="不要了")

    page = staff.get("/console/shipping/english/").content.decode()
    order_page = staff.get(f"/console/orders/english/{paid.number}/").content.decode()

    assert paid.number not in page
    assert "A refund request is open on this order" in order_page


def _workbook(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(response.content))


def test_export_is_masked_by_default(staff: Any, paid: Order) -> None:
    before = Activity.objects.count()

    response = staff.post("/console/shipping/english/export/")

    book = _workbook(response)
    pick, ship = book.worksheets
    assert [c.value for c in pick[1]] == ["Product", "Spec", "Units", "Orders", "Cold chain"]
    assert [c.value for c in pick[2]][1:4] == ["规格: 2斤", 2, 1]
    row = [c.value for c in ship[2]]
    assert row[0] == paid.number
    assert row[4:8] == ["王**", "138****8000", "浙江", "舟山市定海区****"]
    assert Activity.objects.count() == before


def test_export_with_addresses_records_the_look(staff: Any, operator: Any, paid: Order) -> None:
    response = staff.post("/console/shipping/english/export/", {"addresses": "on"})

    row = [c.value for c in _workbook(response).worksheets[1][2]]
    assert row[4:8] == ["王小明", "13800138000", "浙江", "舟山市定海区海港路 8 号"]
    logged = Activity.objects.get(data__action="personal_data_revealed")
    assert (logged.member_id, logged.actor_id, logged.data["what"]) == (
        paid.member_id,
        operator.pk,
        "shipping_export",
    )


def test_export_with_addresses_needs_the_permission(plain_operator: Any, paid: Order) -> None:
    before = Activity.objects.count()

    response = plain_operator.post("/console/shipping/english/export/", {"addresses": "on"})

    assert response.status_code == 302
    assert response["Location"] == "/console/shipping/english/"
    assert Activity.objects.count() == before


# --- after-sales -------------------------------------------------------------------------------


@pytest.fixture
def shipped(paid: Order) -> Order:
    return order_ship(order=paid, carrier="顺丰速运", tracking_no="SF1")


@pytest.fixture
def case(shipped: Order, media: Path) -> AfterSale:
    opened = after_sale_open(
        order=shipped, kind="refund_only", amount_minor=3_000, reason="到货化冻了"
    )
    after_sale_add_evidence(
        case=opened,
        kind="photo",
        note="开箱照片",
        file=SimpleUploadedFile("box.png", PNG, content_type="image/png"),
    )
    return opened


def test_queue_shows_open_cases_with_evidence(staff: Any, case: AfterSale) -> None:
    response = staff.get("/console/after-sales/english/")

    body = response.content.decode()
    evidence = case.evidence.get()
    assert case.refund_no in body
    assert "到货化冻了" in body
    assert "¥30.00" in body
    assert f'src="/console/after-sales/evidence/{evidence.pk}/"' in body
    assert "/media/" not in body
    assert "开箱照片" in body


def test_evidence_is_served_to_operators_only(client: Any, staff: Any, case: AfterSale) -> None:
    evidence = case.evidence.get()
    url = f"/console/after-sales/evidence/{evidence.pk}/"

    shown = staff.get(url)
    staff.logout()
    anonymous = client.get(url)

    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert shown.content == PNG
    assert "sandbox" in shown["Content-Security-Policy"]
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/console/login/")


def test_evidence_that_is_not_an_image_is_refused_whatever_its_label(
    shipped: Order, media: Path
) -> None:
    opened = after_sale_open(order=shipped, kind="refund_only", amount_minor=100, reason="x")

    with pytest.raises(ApplicationError) as refused:
        after_sale_add_evidence(
            case=opened,
            kind="photo",
            file=SimpleUploadedFile(
                "x.html", b"<script>alert(1)</script>", content_type="image/png"
            ),
        )

    assert refused.value.fields == {"file": [refused.value.message]}
    assert not opened.evidence.exists()


def test_evidence_is_stored_under_our_name_and_its_real_type(
    staff: Any, shipped: Order, media: Path
) -> None:
    opened = after_sale_open(order=shipped, kind="refund_only", amount_minor=100, reason="x")
    evidence = after_sale_add_evidence(
        case=opened,
        kind="photo",
        file=SimpleUploadedFile("x.html", PNG, content_type="text/html"),
    )

    response = staff.get(f"/console/after-sales/evidence/{evidence.pk}/")

    assert evidence.file.name.endswith(".png")
    assert "x.html" not in evidence.file.name
    assert response["Content-Type"] == "image/png"


def test_approve_refunds_at_once(
    staff: Any, operator: Any, case: AfterSale, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            f"/console/after-sales/english/{case.pk}/approve/",
            {f"a{case.pk}-restock": "no", f"a{case.pk}-note": "抱歉"},
        )

    decided = AfterSale.objects.get(pk=case.pk)
    assert response.status_code == 302
    assert (decided.status, decided.decided_by_id, decided.decision_note, decided.restock) == (
        AfterSaleStatus.REFUNDED,
        operator.pk,
        "抱歉",
        False,
    )
    assert Order.objects.get(pk=case.order_id).refunded_minor == 3_000
    closed = staff.get("/console/after-sales/english/?tab=closed").content.decode()
    assert case.refund_no in closed
    assert case.refund_no not in staff.get("/console/after-sales/english/").content.decode()


def test_reject_needs_a_reason(staff: Any, case: AfterSale) -> None:
    url = f"/console/after-sales/english/{case.pk}/reject/"

    empty = staff.post(url, {f"r{case.pk}-note": "  "})

    assert empty.status_code == 422
    row = next(r for r in empty.context["rows"] if r["case"].pk == case.pk)
    assert "note" in row["forms"]["reject"].errors
    assert AfterSale.objects.get(pk=case.pk).status == AfterSaleStatus.REQUESTED

    refused = staff.post(url, {f"r{case.pk}-note": "照片显示包装完好"})

    decided = AfterSale.objects.get(pk=case.pk)
    assert refused.status_code == 302
    assert (decided.status, decided.decision_note) == ("rejected", "照片显示包装完好")


def test_a_decided_case_cannot_be_decided_again(
    staff: Any, case: AfterSale, django_capture_on_commit_callbacks: Any
) -> None:
    staff.post(f"/console/after-sales/english/{case.pk}/reject/", {f"r{case.pk}-note": "no"})

    response = staff.post(f"/console/after-sales/english/{case.pk}/approve/", {})

    assert response.status_code == 422
    assert "This case is already Rejected." in response.content.decode()
    row = next(
        r
        for r in staff.get("/console/after-sales/english/?tab=closed").context["rows"]
        if r["case"].pk == case.pk
    )
    assert row["case"].status == "rejected"
    assert Order.objects.get(pk=case.order_id).refunded_minor == 0


def test_return_then_refund_with_restock(
    staff: Any, sku: Sku, shipped: Order, django_capture_on_commit_callbacks: Any
) -> None:
    opened = after_sale_open(
        order=shipped, kind="return_refund", amount_minor=shipped.total_minor, reason="不新鲜"
    )
    stock_before = Sku.objects.get(pk=sku.pk).stock

    approved = staff.post(f"/console/after-sales/english/{opened.pk}/approve/", {})
    waiting = staff.get("/console/after-sales/english/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        returned = staff.post(
            f"/console/after-sales/english/{opened.pk}/returned/",
            {f"m{opened.pk}-restock": "yes"},
        )

    assert approved.status_code == returned.status_code == 302
    assert "Goods received: refund" in waiting
    assert AfterSale.objects.get(pk=opened.pk).status == AfterSaleStatus.REFUNDED
    assert Order.objects.get(pk=shipped.pk).status == OrderStatus.REFUNDED
    assert Sku.objects.get(pk=sku.pk).stock == stock_before + 2


def test_a_case_of_another_community_is_404(staff: Any, case: AfterSale) -> None:
    community_create(slug="seafood", name="海鲜水果圈", kind="product", vertical="food")

    response = staff.post(
        f"/console/after-sales/seafood/{case.pk}/reject/", {f"r{case.pk}-note": "no"}
    )

    assert response.status_code == 404
    assert AfterSale.objects.get(pk=case.pk).status == AfterSaleStatus.REQUESTED


def test_order_page_lists_payments_cases_and_activity(
    staff: Any, case: AfterSale, operator: Any
) -> None:
    body = staff.get(f"/console/orders/english/{case.order.number}/").content.decode()

    assert f"{case.order.number}-1" in body  # the payment's number
    assert "Offline transfer" in body
    assert case.refund_no in body
    for label in ("Order placed", "Paid", "Shipped", "Refund requested"):
        assert label in body


def test_physical_product_goes_on_sale_once_it_has_a_spec(staff: Any, circle: Community) -> None:
    staff.post(
        "/console/catalog/english/products/new/",
        {"name": "带鱼", "kind": "physical", "price": "10"},
    )
    product = Product.objects.get(name="带鱼")
    staff.post(
        f"/console/catalog/english/products/{product.pk}/skus/",
        {"options": "规格: 2斤", "stock": "5"},
    )

    response = staff.post(
        f"/console/catalog/english/products/{product.pk}/",
        {"name": "带鱼", "price": "10", "active": "on"},
    )

    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).active is True
    product_update(product=product, active=False)


def test_without_a_community_the_pages_say_to_create_one(staff: Any) -> None:
    response = staff.get("/console/catalog/")

    assert response.status_code == 200
    assert "Create a community first" in response.content.decode()
    assert 'href="/console/communities/"' in response.content.decode()


def test_missing_evidence_is_404(staff: Any, case: AfterSale, media: Path) -> None:
    evidence = case.evidence.get()
    (media / evidence.file.name).unlink()

    assert staff.get(f"/console/after-sales/evidence/{evidence.pk}/").status_code == 404
    assert staff.get("/console/after-sales/evidence/999999/").status_code == 404
