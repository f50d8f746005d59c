"""API v1: products, SKUs, stock, bundles and shipping templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from quanzi.catalog.models import BundleItem, Product, ShippingTemplate, Sku
from quanzi.catalog.tests.factories import community, plan, product, sku, state, template
from quanzi.communities.models import Community
from quanzi.communities.tests.factories import group

pytestmark = pytest.mark.django_db

P = "/api/v1/products"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


def _patch(client: Client, token: str, path: str, body: Any) -> Any:
    return client.patch(
        path,
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def home() -> Community:
    return community()


@pytest.fixture
def shipping(home: Community) -> ShippingTemplate:
    return template(home)


# Products


def test_a_course_is_created_201_on_sale_and_read_back(api: Any, home: Community) -> None:
    response = api.post(
        P,
        {
            "community_id": home.pk,
            "name": "英语口语 30 天",
            "kind": "course",
            "price_minor": 19_900,
            "description": "每天 15 分钟",
            "category": "课程",
            "per_member_limit": 1,
        },
    )

    assert response.status_code == 201
    body = response.json()
    created = Product.objects.get()
    assert body == {
        "id": created.pk,
        "community_id": home.pk,
        "name": "英语口语 30 天",
        "kind": "course",
        "description": "每天 15 分钟",
        "price_minor": 19_900,
        "currency": "CNY",
        "active": True,
        "plan_id": None,
        "grants_group_id": None,
        "per_member_limit": 1,
        "category": "课程",
        "shipping_template_id": None,
        "weight_grams": None,
        "packaging": "",
        "cold_chain": False,
        "cold_chain_note": "",
        "bundle_items": [],
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert api.get(f"{P}/{created.pk}").json() == body


def test_physical_goods_go_on_sale_once_they_have_a_sku(
    api: Any, client: Client, api_token: str, home: Community, shipping: ShippingTemplate
) -> None:
    created = api.post(
        P,
        {
            "community_id": home.pk,
            "name": "舟山带鱼",
            "kind": "physical",
            "price_minor": 6_800,
            "weight_grams": 1_000,
            "cold_chain": True,
            "cold_chain_note": "顺丰冷运",
            "shipping_template_id": shipping.pk,
        },
    ).json()
    assert created["active"] is False

    too_soon = _patch(client, api_token, f"{P}/{created['id']}", {"active": True})
    assert too_soon.status_code == 422
    assert list(_error(too_soon)["fields"]) == ["active"]

    added = api.post(
        f"{P}/{created['id']}/skus", {"options": {"规格": "2斤"}, "stock": 20, "price_minor": 7_800}
    )
    assert added.status_code == 201
    spec = Sku.objects.get()
    assert added.json() == {
        "id": spec.pk,
        "product_id": created["id"],
        "options": {"规格": "2斤"},
        "price_minor": 7_800,
        "stock": 20,
        "reserved": 0,
        "created_at": added.json()["created_at"],
    }

    on_sale = _patch(client, api_token, f"{P}/{created['id']}", {"active": True})
    assert on_sale.status_code == 200
    assert on_sale.json()["active"] is True
    listed = api.get(f"{P}/{created['id']}/skus").json()
    assert listed["items"] == [added.json()]


def test_products_are_listed_by_community_kind_and_sale(api: Any, home: Community) -> None:
    course = product(home, name="A course")
    hidden = product(home, name="B hidden", active=False)
    goods = product(home, kind="physical", name="C goods", weight_grams=500)
    product(community(), name="elsewhere")

    def names(query: str) -> list[str]:
        response = api.get(f"{P}?{query}")
        assert response.status_code == 200, response.content
        return [p["name"] for p in response.json()["items"]]

    assert names(f"community_id={home.pk}") == [course.name, hidden.name, goods.name]
    assert names(f"community_id={home.pk}&active=true") == [course.name]
    assert names(f"community_id={home.pk}&kind=physical") == [goods.name]
    assert api.get(f"{P}?kind=weapon").status_code == 422
    missing = api.get(f"{P}?community_id=999999")
    assert (missing.status_code, list(_error(missing)["fields"])) == (404, ["community_id"])


def test_a_membership_product_names_its_plan(api: Any, home: Community) -> None:
    annual = plan(home)

    made = api.post(
        P,
        {
            "community_id": home.pk,
            "name": "年费会员",
            "kind": "membership",
            "price_minor": 36_500,
            "plan_id": annual.pk,
        },
    )
    without = api.post(
        P, {"community_id": home.pk, "name": "X", "kind": "membership", "price_minor": 1}
    )

    assert made.status_code == 201
    assert made.json()["plan_id"] == annual.pk
    assert without.status_code == 422
    assert list(_error(without)["fields"]) == ["plan"]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"kind": "weapon"}, 422, "catalog_invalid", "kind"),
        ({"price_minor": "cheap"}, 422, "invalid", "price_minor"),
        ({"price_minor": -1}, 422, "catalog_invalid", "price_minor"),
        ({"price_minor": 10**13}, 422, "catalog_invalid", "price_minor"),
        ({"price_minor": 10**30}, 422, "invalid", "price_minor"),
        ({"name": "  "}, 422, "catalog_invalid", "name"),
        ({"name": None}, 422, "invalid", "name"),
        ({"community_id": 999_999}, 404, "not_found", "community_id"),
        ({"plan_id": 999_999}, 404, "not_found", "plan_id"),
        ({"grants_group_id": 999_999}, 404, "not_found", "grants_group_id"),
        ({"shipping_template_id": 999_999}, 404, "not_found", "shipping_template_id"),
        ({"weight_grams": 500}, 422, "catalog_invalid", "kind"),
        ({"per_member_limit": 0}, 422, "catalog_invalid", "per_member_limit"),
    ],
)
def test_a_bad_product_is_refused_naming_the_field_and_changes_nothing(
    api: Any, home: Community, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    before = state()
    body = {"community_id": home.pk, "name": "课", "kind": "course", "price_minor": 100, **change}

    response = api.post(P, body)

    assert response.status_code == status
    assert (_error(response)["code"], list(_error(response)["fields"])) == (code, [field])
    assert state() == before


def test_a_replayed_product_create_makes_one_product(api: Any, home: Community) -> None:
    body = {"community_id": home.pk, "name": "课", "kind": "course", "price_minor": 100}

    first = api.post(P, body, headers={"Idempotency-Key": "p-1"})
    again = api.post(P, body, headers={"Idempotency-Key": "p-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Product.objects.count() == 1


def test_patch_changes_what_is_sent_and_0_clears_a_limit_or_group(
    client: Client, api_token: str, home: Community
) -> None:
    seats = group(home)
    course = product(home, per_member_limit=2)

    first = _patch(
        client,
        api_token,
        f"{P}/{course.pk}",
        {"name": "新名字", "grants_group_id": seats.pk, "price_minor": 500},
    )
    cleared = _patch(
        client, api_token, f"{P}/{course.pk}", {"per_member_limit": 0, "grants_group_id": 0}
    )

    assert first.status_code == 200
    assert {k: first.json()[k] for k in ("name", "grants_group_id", "price_minor")} == {
        "name": "新名字",
        "grants_group_id": seats.pk,
        "price_minor": 500,
    }
    assert first.json()["per_member_limit"] == 2
    assert cleared.status_code == 200
    assert (cleared.json()["per_member_limit"], cleared.json()["grants_group_id"]) == (None, None)
    assert cleared.json()["name"] == "新名字"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": None}, 422, "name"),
        ({"price_minor": -5}, 422, "price_minor"),
        ({"weight_grams": 100}, 422, "kind"),
        ({"shipping_template_id": 999_999}, 404, "shipping_template_id"),
        ('{"name": ', 400, None),
    ],
)
def test_a_bad_patch_is_refused_and_changes_nothing(
    client: Client, api_token: str, home: Community, body: Any, status: int, field: str | None
) -> None:
    course = product(home)
    before = state()

    response = _patch(client, api_token, f"{P}/{course.pk}", body)

    assert response.status_code == status
    if field:
        assert list(_error(response)["fields"]) == [field]
    assert state() == before


def test_an_unknown_product_is_404(client: Client, api: Any, api_token: str) -> None:
    for response in (
        api.get(f"{P}/999999"),
        _patch(client, api_token, f"{P}/999999", {"name": "x"}),
        api.get(f"{P}/999999/skus"),
        api.post(f"{P}/999999/skus", {"stock": 1}),
        api.post(f"{P}/999999/bundle-items", {"component_id": 1}),
    ):
        assert response.status_code == 404
        assert list(_error(response)["fields"]) == ["product_id"]


# SKUs and stock


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"options": {"规格": "1斤"}}, 409, "options"),
        ({"options": {"规格": ""}}, 422, "options"),
        ({"options": ["1斤"]}, 422, "options"),
        ({"stock": -1}, 422, "stock"),
        ({"stock": "lots"}, 422, "stock"),
        ({"price_minor": -1}, 422, "price_minor"),
    ],
)
def test_a_bad_sku_is_refused_naming_the_field(
    api: Any, home: Community, body: dict[str, Any], status: int, field: str
) -> None:
    goods = product(home, kind="physical")
    sku(goods, options={"规格": "1斤"})
    before = state()

    response = api.post(f"{P}/{goods.pk}/skus", body)

    assert response.status_code == status
    assert list(_error(response)["fields"]) == [field]
    assert state() == before


def test_stock_is_added_and_removed_but_never_below_zero(api: Any, home: Community) -> None:
    spec = sku(product(home, kind="physical"), stock=5)
    url = f"/api/v1/skus/{spec.pk}/stock"

    added = api.post(url, {"delta": 10, "reason": "到货"})
    removed = api.post(url, {"delta": -3, "reason": "坏了"})
    before = state()
    too_many = api.post(url, {"delta": -13, "reason": "盘点"})

    assert (added.status_code, added.json()["stock"]) == (200, 15)
    assert (removed.status_code, removed.json()["stock"]) == (200, 12)
    assert too_many.status_code == 409
    assert (_error(too_many)["code"], list(_error(too_many)["fields"])) == (
        "out_of_stock",
        ["delta"],
    )
    assert state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delta": 0, "reason": "x"}, "delta"),
        ({"delta": "ten", "reason": "x"}, "delta"),
        ({"delta": 10**20, "reason": "x"}, "delta"),
        ({"delta": 1, "reason": " "}, "reason"),
        ({"delta": 1}, "reason"),
    ],
)
def test_a_bad_stock_change_is_422(
    api: Any, home: Community, body: dict[str, Any], field: str
) -> None:
    spec = sku(product(home, kind="physical"), stock=5)
    before = state()

    response = api.post(f"/api/v1/skus/{spec.pk}/stock", body)

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    assert state() == before


def test_stock_of_an_unknown_sku_is_404(api: Any) -> None:
    response = api.post("/api/v1/skus/999999/stock", {"delta": 1, "reason": "x"})

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["sku_id"]


# Bundles


def test_a_bundle_holds_a_plan_product_and_goods(api: Any, home: Community) -> None:
    bundle = product(home, kind="bundle", name="会员礼盒")
    membership = product(home, kind="membership")
    goods = product(home, kind="physical")
    one, _two = sku(goods), sku(goods)

    first = api.post(f"{P}/{bundle.pk}/bundle-items", {"component_id": membership.pk})
    unclear = api.post(f"{P}/{bundle.pk}/bundle-items", {"component_id": goods.pk})
    second = api.post(
        f"{P}/{bundle.pk}/bundle-items",
        {"component_id": goods.pk, "sku_id": one.pk, "quantity": 2},
    )
    again = api.post(f"{P}/{bundle.pk}/bundle-items", {"component_id": goods.pk, "sku_id": one.pk})

    assert first.status_code == 201
    assert (unclear.status_code, list(_error(unclear)["fields"])) == (422, ["sku"])
    assert second.status_code == 201
    assert second.json() == {
        "id": second.json()["id"],
        "bundle_id": bundle.pk,
        "component_id": goods.pk,
        "sku_id": one.pk,
        "quantity": 2,
    }
    assert again.status_code == 409
    assert [i["component_id"] for i in api.get(f"{P}/{bundle.pk}").json()["bundle_items"]] == [
        membership.pk,
        goods.pk,
    ]
    assert BundleItem.objects.count() == 2


def test_a_virtual_product_is_put_in_a_bundle_once(api: Any, home: Community) -> None:
    bundle = product(home, kind="bundle")
    course = product(home)
    api.post(f"{P}/{bundle.pk}/bundle-items", {"component_id": course.pk})

    again = api.post(f"{P}/{bundle.pk}/bundle-items", {"component_id": course.pk})

    assert again.status_code == 409
    assert BundleItem.objects.count() == 1


@pytest.mark.parametrize(
    ("body_of", "status", "field"),
    [
        (lambda other, spec: {"component_id": 999_999}, 404, "component_id"),
        (lambda other, spec: {"component_id": other.pk, "sku_id": 999_999}, 404, "sku_id"),
        (lambda other, spec: {"component_id": other.pk, "sku_id": spec.pk}, 404, "sku_id"),
        (lambda other, spec: {"component_id": other.pk, "quantity": 0}, 422, "quantity"),
    ],
)
def test_a_bad_bundle_item_is_refused(
    api: Any, home: Community, body_of: Any, status: int, field: str
) -> None:
    bundle = product(home, kind="bundle")
    course = product(home)
    spec = sku(product(home, kind="physical"))

    response = api.post(f"{P}/{bundle.pk}/bundle-items", body_of(course, spec))

    assert response.status_code == status
    assert list(_error(response)["fields"]) == [field]
    assert BundleItem.objects.count() == 0


# Shipping templates


def test_a_shipping_template_is_created_with_its_rules_and_listed(
    api: Any, home: Community
) -> None:
    body = {
        "community_id": home.pk,
        "name": "江浙沪包邮",
        "rules": [
            {"regions": ["浙江", "江苏", "上海"], "first_fee_minor": 0},
            {
                "regions": ["*"],
                "first_fee_minor": 1_200,
                "additional_fee_minor": 600,
                "free_over_minor": 19_900,
            },
        ],
    }

    created = api.post("/api/v1/shipping-templates", body)
    duplicate = api.post("/api/v1/shipping-templates", body)

    assert created.status_code == 201
    made = ShippingTemplate.objects.get()
    rules = list(made.rules.order_by("pk"))
    assert created.json() == {
        "id": made.pk,
        "community_id": home.pk,
        "name": "江浙沪包邮",
        "currency": "CNY",
        "created_at": created.json()["created_at"],
        "rules": [
            {
                "id": rules[0].pk,
                "regions": ["浙江", "江苏", "上海"],
                "first_fee_minor": 0,
                "additional_fee_minor": 0,
                "free_over_minor": None,
            },
            {
                "id": rules[1].pk,
                "regions": ["*"],
                "first_fee_minor": 1_200,
                "additional_fee_minor": 600,
                "free_over_minor": 19_900,
            },
        ],
    }
    assert duplicate.status_code == 409
    listed = api.get(f"/api/v1/shipping-templates?community_id={home.pk}").json()
    assert listed["items"] == [created.json()]
    assert api.get("/api/v1/shipping-templates").status_code == 422


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([], "rules"),
        (
            [
                {"regions": ["浙江"], "first_fee_minor": 1},
                {"regions": ["浙江"], "first_fee_minor": 2},
            ],
            "rules",
        ),
        ([{"regions": ["*", "浙江"], "first_fee_minor": 1}], "rules"),
        ([{"regions": ["*"], "first_fee_minor": -1}], "first_fee_minor"),
        ([{"regions": ["*"], "first_fee_minor": "free"}], "rules.0.first_fee_minor"),
        ([{"regions": "*", "first_fee_minor": 1}], "rules.0.regions"),
    ],
)
def test_a_bad_shipping_template_is_refused_and_writes_nothing(
    api: Any, home: Community, rules: list[Any], field: str
) -> None:
    before = state()

    response = api.post(
        "/api/v1/shipping-templates", {"community_id": home.pk, "name": "T", "rules": rules}
    )

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    assert state() == before
