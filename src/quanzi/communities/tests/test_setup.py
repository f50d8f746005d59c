"""Communities, groups and the five membership plans, each checked against its kind's rules."""

from __future__ import annotations

from typing import Any

import pytest

from quanzi.communities.models import Community, Group, MembershipPlan, PlanKind, Tier
from quanzi.communities.services.errors import CommunityError
from quanzi.communities.services.setup import (
    community_create,
    group_create,
    kol_seat_assign,
    plan_create,
)
from quanzi.communities.tests.factories import community, group, member, plan, state
from quanzi.core.errors import Conflict
from quanzi.core.models import Activity, ActivityKind

pytestmark = pytest.mark.django_db


def test_a_community_is_created_with_its_kind_and_vertical() -> None:
    # When
    made = community_create(
        slug="english-circle", name=" English circle ", kind="charisma", vertical="education"
    )

    # Then
    assert (made.slug, made.name, made.kind, made.vertical, made.currency) == (
        "english-circle",
        "English circle",
        "charisma",
        "education",
        "CNY",
    )
    assert Activity.objects.filter(
        kind=ActivityKind.OPERATOR, community_id=made.pk, data__action="community_created"
    ).exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "-dash"}, "slug"),
        ({"kind": "pyramid"}, "kind"),
        ({"vertical": "casino"}, "vertical"),
        ({"currency": "XXX"}, "currency"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_community_input_is_refused(kwargs: dict[str, Any], field: str) -> None:
    # Given
    before = Community.objects.count()

    # When
    with pytest.raises(CommunityError) as refused:
        community_create(**{"slug": "ok", "name": "ok", "kind": "product", **kwargs})

    # Then
    assert list(refused.value.fields) == [field]
    assert Community.objects.count() == before


def test_a_second_community_with_the_same_slug_is_a_conflict() -> None:
    # Given
    community("seafood")

    # When / Then
    with pytest.raises(Conflict) as refused:
        community("seafood")
    assert refused.value.fields == {"slug": ["A community with slug 'seafood' exists already."]}
    assert Community.objects.filter(slug="seafood").count() == 1


def test_a_group_has_a_tier_and_a_capacity_of_500_by_default() -> None:
    # When
    made = group(community(), name="Core fans", tier=Tier.CORE)

    # Then
    assert (made.tier, made.capacity, made.archived_at) == ("core", 500, None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tier": "vip"}, "tier"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 100_001}, "capacity"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_group_input_is_refused(kwargs: dict[str, Any], field: str) -> None:
    # Given
    home = community()
    before = Group.objects.count()

    # When
    with pytest.raises(CommunityError) as refused:
        group_create(community=home, **{"name": "g", **kwargs})

    # Then
    assert list(refused.value.fields) == [field]
    assert Group.objects.count() == before


def test_a_group_cannot_require_another_communitys_plan() -> None:
    # Given
    home, elsewhere = community(), community()
    foreign = plan(elsewhere)

    # When / Then
    with pytest.raises(CommunityError) as refused:
        group_create(community=home, name="junior", required_plan=foreign)
    assert list(refused.value.fields) == ["required_plan"]
    assert Group.objects.count() == 0


# The five membership models (DESIGN.md, loop 4).


def test_an_annual_plan_lasts_a_year_unless_told_otherwise() -> None:
    # Given
    home = community()
    junior = group(home, tier=Tier.JUNIOR)

    # When
    annual = plan_create(
        community=home,
        name="Annual",
        kind=PlanKind.ANNUAL,
        price_minor=36_500,
        grace_days=3,
        groups=[junior],
        discount_percent=10,
        member_only_content=True,
    )

    # Then
    assert (annual.kind, annual.price_minor, annual.currency, annual.duration_days) == (
        "annual",
        36_500,
        "CNY",
        365,
    )
    assert (annual.grace_days, annual.reminder_days, annual.discount_percent) == (3, 7, 10)
    assert list(annual.groups.all()) == [junior]
    assert annual.member_only_content is True
    assert plan(home, PlanKind.ANNUAL, duration_days=90).duration_days == 90


def test_a_lifetime_plan_has_a_price_and_no_term() -> None:
    made = plan(kind=PlanKind.LIFETIME)
    assert (made.price_minor, made.duration_days) == (99_900, None)


def test_a_free_plan_has_neither_price_nor_term() -> None:
    made = plan(kind=PlanKind.FREE)
    assert (made.price_minor, made.duration_days) == (0, None)


def test_a_product_grant_plan_names_its_product_for_a_year_or_for_life() -> None:
    year = plan(kind=PlanKind.PRODUCT_GRANT, product_id=42, duration_days=365)
    life = plan(kind=PlanKind.PRODUCT_GRANT, product_id=43)
    assert (year.product_id, year.price_minor, year.duration_days) == (42, 0, 365)
    assert (life.product_id, life.duration_days) == (43, None)


def test_a_fee_goods_plan_returns_goods_worth_the_fee() -> None:
    exact = plan(kind=PlanKind.FEE_GOODS, price_minor=29_900)
    more = plan(kind=PlanKind.FEE_GOODS, price_minor=29_900, goods_value_minor=35_000)
    assert (exact.goods_value_minor, exact.duration_days, exact.goods_description) == (
        29_900,
        365,
        "2 boxes of slimming tea",
    )
    assert more.goods_value_minor == 35_000


def test_only_a_product_grant_plan_keeps_a_product() -> None:
    # A product id given to another kind is not stored: only product_grant plans are granted by it.
    assert plan(kind=PlanKind.ANNUAL, product_id=9).product_id is None


@pytest.mark.parametrize(
    ("kind", "kwargs", "field"),
    [
        ("monthly", {}, "kind"),
        ("", {}, "kind"),
        (PlanKind.ANNUAL, {"price_minor": -1}, "price_minor"),
        (PlanKind.ANNUAL, {"price_minor": 0}, "price_minor"),
        (PlanKind.ANNUAL, {"duration_days": 0}, "duration_days"),
        (PlanKind.ANNUAL, {"duration_days": -30}, "duration_days"),
        (PlanKind.ANNUAL, {"duration_days": 3661}, "duration_days"),
        (PlanKind.ANNUAL, {"grace_days": -1}, "grace_days"),
        (PlanKind.ANNUAL, {"reminder_days": -1}, "reminder_days"),
        (PlanKind.ANNUAL, {"discount_percent": 101}, "discount_percent"),
        (PlanKind.LIFETIME, {"price_minor": 0}, "price_minor"),
        (PlanKind.LIFETIME, {"duration_days": 365}, "duration_days"),
        (PlanKind.FREE, {"price_minor": 100}, "price_minor"),
        (PlanKind.FREE, {"duration_days": 30}, "duration_days"),
        (PlanKind.PRODUCT_GRANT, {"product_id": None}, "product_id"),
        (PlanKind.PRODUCT_GRANT, {"price_minor": 100}, "price_minor"),
        (PlanKind.PRODUCT_GRANT, {"duration_days": 0}, "duration_days"),
        (PlanKind.FEE_GOODS, {"price_minor": 0}, "price_minor"),
        (PlanKind.FEE_GOODS, {"goods_description": "  "}, "goods_description"),
        (PlanKind.FEE_GOODS, {"goods_value_minor": 29_899}, "goods_value_minor"),
        (PlanKind.FEE_GOODS, {"goods_value_minor": 0}, "goods_value_minor"),
    ],
)
def test_each_invalid_plan_is_refused_and_nothing_saved(
    kind: str, kwargs: dict[str, Any], field: str
) -> None:
    # Given
    home = community()
    defaults: dict[str, Any] = {
        PlanKind.ANNUAL: {"price_minor": 36_500},
        PlanKind.LIFETIME: {"price_minor": 99_900},
        PlanKind.PRODUCT_GRANT: {"product_id": 7},
        PlanKind.FEE_GOODS: {"price_minor": 29_900, "goods_description": "tea"},
    }.get(kind, {})
    before = state()

    # When
    with pytest.raises(CommunityError) as refused:
        plan_create(community=home, name="p", kind=kind, **{**defaults, **kwargs})

    # Then
    assert refused.value.code == "community_invalid"
    assert list(refused.value.fields) == [field]
    assert MembershipPlan.objects.count() == 0
    assert state() == before


def test_a_plan_grants_groups_of_its_own_community_only() -> None:
    # Given
    home, elsewhere = community(), community()
    mine, theirs = group(home), group(elsewhere)

    # When
    with pytest.raises(CommunityError) as refused:
        plan(home, groups=[mine, theirs])

    # Then
    assert refused.value.fields == {"groups": ["A plan grants groups of its own community only."]}
    assert MembershipPlan.objects.count() == 0


def test_two_plans_of_one_name_in_a_community_conflict() -> None:
    # Given
    home = community()
    plan(home, name="Annual")

    # When / Then
    with pytest.raises(Conflict):
        plan(home, name="Annual")
    assert MembershipPlan.objects.filter(community=home).count() == 1


def test_a_kol_seat_is_assigned_once() -> None:
    # Given
    core = group(tier=Tier.CORE)
    teacher = member("teacher")

    # When
    first = kol_seat_assign(group=core, member=teacher, title="Grammar")
    again = kol_seat_assign(group=core, member=teacher, title="Other")

    # Then
    assert (again.pk, again.title) == (first.pk, "Grammar")
    assert Activity.objects.filter(data__action="kol_seat_assigned").count() == 1
