"""Products and SKUs: each kind's rules, and that a refusal changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from quanzi.catalog.models import Product, ProductKind, Sku
from quanzi.catalog.services.errors import CatalogError
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.tests.factories import community, plan, product, sku, state
from quanzi.core.errors import ApplicationError, Conflict
from quanzi.core.models import Activity, ActivityKind

pytestmark = pytest.mark.django_db


def test_a_course_goes_on_sale_at_once_and_leaves_an_activity() -> None:
    # Given
    home = community()

    # When
    made = product_create(
        community=home, name=" 30-day speaking course ", kind="course", price_minor=19_900
    )

    # Then
    assert (made.name, made.kind, made.price_minor, made.currency, made.active) == (
        "30-day speaking course",
        "course",
        19_900,
        "CNY",
        True,
    )
    assert list(
        Activity.objects.filter(kind=ActivityKind.OPERATOR, object_type="product").values_list(
            "community_id", "object_id", "data"
        )
    ) == [
        (
            home.pk,
            str(made.pk),
            {"action": "product_created", "kind": "course", "price_minor": 19_900},
        )
    ]


def test_physical_goods_start_off_sale_and_go_on_sale_once_they_have_a_sku() -> None:
    # Given: crabs, packed cold
    crabs = product(
        kind=ProductKind.PHYSICAL,
        weight_grams=2_000,
        packaging="foam box with ice packs",
        cold_chain=True,
        cold_chain_note="keep at 0-4 °C; delivered within 48 h",
    )
    assert crabs.active is False

    # When / Then: no SKU yet, refused and nothing changed
    before = state()
    with pytest.raises(CatalogError) as refused:
        product_update(product=crabs, active=True)
    assert refused.value.fields == {
        "active": ["Physical goods go on sale once they have a SKU (a spec to sell)."]
    }
    assert state() == before

    # When: a SKU, then on sale
    sku(crabs, options={"规格": "2斤"}, stock=10)
    updated = product_update(product=crabs, active=True)

    # Then
    assert updated.active is True
    assert Product.objects.get(pk=crabs.pk).active is True


def test_physical_goods_cannot_be_created_on_sale() -> None:
    home = community()
    before = state()
    with pytest.raises(CatalogError) as refused:
        product_create(
            community=home, name="Oranges", kind="physical", price_minor=6_000, active=True
        )
    assert list(refused.value.fields) == ["active"]
    assert state() == before


def test_a_membership_product_grants_a_plan_of_its_own_community() -> None:
    # Given
    home = community()
    own_plan = plan(home)

    # When
    made = product_create(
        community=home, name="Annual pass", kind="membership", price_minor=36_500, plan=own_plan
    )

    # Then
    assert made.plan_id == own_plan.pk


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"kind": "membership"}, "plan", "A membership product names the plan it grants."),
        ({"kind": "membership", "plan": "other"}, "plan", "The plan belongs to another community."),
        ({"kind": "course", "plan": "own"}, "plan", "Only a membership product grants a plan."),
        ({"kind": "course", "price_minor": -1}, "price_minor", "A price cannot be negative."),
        ({"kind": "course", "name": "  "}, "name", "Name is required."),
        ({"kind": "ebook"}, "kind", None),
        (
            {"kind": "course", "weight_grams": 500},
            "kind",
            "Weight, packaging and cold chain are for physical goods only.",
        ),
        (
            {"kind": "physical", "cold_chain_note": "keep cold"},
            "cold_chain_note",
            "A cold-chain note needs cold-chain shipping.",
        ),
        ({"kind": "physical", "weight_grams": 0}, "weight_grams", "A weight is 1 g to 1,000 kg."),
    ],
)
def test_invalid_products_are_refused_and_change_nothing(
    kwargs: dict[str, Any], field: str, message: str | None
) -> None:
    # Given
    home, elsewhere = community(), community()
    plans = {"own": plan(home), "other": plan(elsewhere)}
    if isinstance(kwargs.get("plan"), str):
        kwargs = {**kwargs, "plan": plans[kwargs["plan"]]}
    kwargs.setdefault("name", "Something")
    kwargs.setdefault("price_minor", 100)
    before = state()

    # When
    with pytest.raises(CatalogError) as refused:
        product_create(community=home, **kwargs)

    # Then
    assert list(refused.value.fields) == [field]
    assert refused.value.code == "catalog_invalid"
    if message:
        assert refused.value.message == message
    assert state() == before


def test_an_update_that_breaks_a_rule_is_refused_whole() -> None:
    # Given
    course = product(kind=ProductKind.COURSE, price_minor=9_900)
    before = state()

    # When: a valid name with an invalid price
    with pytest.raises(CatalogError) as refused:
        product_update(product=course, name="Renamed", price_minor=-100)

    # Then
    assert refused.value.fields == {"price_minor": ["A price cannot be negative."]}
    assert state() == before


def test_a_membership_product_cannot_lose_its_plan_or_take_another_communitys() -> None:
    pass_ = product(kind=ProductKind.MEMBERSHIP)
    foreign = plan(community())
    before = state()
    with pytest.raises(CatalogError):
        product_update(product=pass_, plan=None)
    with pytest.raises(CatalogError):
        product_update(product=pass_, plan=foreign)
    assert state() == before


def test_an_update_changes_only_what_is_given_and_records_the_fields() -> None:
    course = product(kind=ProductKind.COURSE, price_minor=9_900, description="old")
    updated = product_update(product=course, price_minor=0, active=False)
    assert (updated.price_minor, updated.active, updated.description) == (0, False, "old")
    last = Activity.objects.filter(object_type="product").order_by("pk").last()
    assert last is not None
    assert last.data == {"action": "product_updated", "fields": ["price_minor", "active"]}


def test_one_sku_per_combination_of_options_whatever_their_order() -> None:
    # Given
    goods = product(kind=ProductKind.PHYSICAL)
    first = sku_create(product=goods, options={"规格": "2斤", "产地": "舟山"}, stock=5)
    before = state()

    # When / Then
    with pytest.raises(Conflict) as refused:
        sku_create(product=goods, options={"产地": "舟山", "规格": "2斤"})
    assert list(refused.value.fields) == ["options"]
    assert state() == before
    assert (first.stock, first.reserved, first.price_minor) == (5, 0, None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stock": -1}, "stock"),
        ({"price_minor": -1}, "price_minor"),
        ({"options": {"规格": ""}}, "options"),
        ({"options": {"规格": 2}}, "options"),
    ],
)
def test_invalid_skus_are_refused_and_change_nothing(kwargs: dict[str, Any], field: str) -> None:
    goods = product(kind=ProductKind.PHYSICAL)
    before = state()
    with pytest.raises(ApplicationError) as refused:
        sku_create(product=goods, **kwargs)
    assert list(refused.value.fields) == [field]
    assert state() == before
    assert Sku.objects.count() == 0
