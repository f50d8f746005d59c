"""Shipping fees by region, worked out by hand."""

from __future__ import annotations

import pytest

from quanzi.catalog.calculations import shipping_fee
from quanzi.catalog.models import ShippingRule, ShippingTemplate
from quanzi.catalog.services.errors import CatalogError, NoShipping
from quanzi.catalog.services.shipping import RuleSpec
from quanzi.catalog.tests.factories import community, state, template
from quanzi.core.money import Money

pytestmark = pytest.mark.django_db

JIANGZHEHU = RuleSpec(["浙江", "江苏", "上海"], 1_000, 500, free_over_minor=19_900)
REMOTE = RuleSpec(["新疆", "西藏"], 3_000, 2_000)
ELSEWHERE = RuleSpec(["*"], 1_500, 800, free_over_minor=29_900)


@pytest.fixture
def orchard() -> ShippingTemplate:
    return template(name="Orchard boxes", rules=[JIANGZHEHU, REMOTE, ELSEWHERE])


@pytest.mark.parametrize(
    ("region", "units", "goods", "fee"),
    [
        # Zhejiang: ¥10 the first box + ¥5 each further; free at ¥199.
        ("浙江", 1, 6_000, 1_000),
        ("浙江", 3, 18_000, 2_000),  # ¥10 + 2 × ¥5 = ¥20
        ("浙江", 4, 24_000, 0),  # ¥240 ≥ ¥199: free
        ("浙江", 3, 19_899, 2_000),  # a fen short of the threshold
        ("浙江", 3, 19_900, 0),  # at the threshold: free (满199包邮)
        ("新疆", 2, 100_000, 5_000),  # no threshold there: ¥30 + ¥20, however much is bought
        ("广东", 2, 12_000, 2_300),  # the * rule: ¥15 + ¥8
        ("广东", 5, 30_000, 0),
    ],
)
def test_fees_worked_by_hand(
    orchard: ShippingTemplate, region: str, units: int, goods: int, fee: int
) -> None:
    assert shipping_fee(orchard, region, units, goods) == Money(fee, "CNY")


def test_without_a_star_rule_an_unlisted_region_is_refused() -> None:
    local = template(rules=[JIANGZHEHU])
    with pytest.raises(NoShipping) as refused:
        shipping_fee(local, "广东", 1, 100)
    assert refused.value.code == "no_shipping"
    assert list(refused.value.fields) == ["region"]


def test_zero_units_are_refused(orchard: ShippingTemplate) -> None:
    with pytest.raises(CatalogError):
        shipping_fee(orchard, "浙江", 0, 0)


def test_a_template_keeps_its_rules_in_order() -> None:
    made = template(rules=[JIANGZHEHU, ELSEWHERE])
    assert list(
        ShippingRule.objects.filter(template=made).values_list(
            "regions", "first_fee_minor", "additional_fee_minor", "free_over_minor"
        )
    ) == [(["浙江", "江苏", "上海"], 1_000, 500, 19_900), (["*"], 1_500, 800, 29_900)]


@pytest.mark.parametrize(
    "rules",
    [
        [],
        [RuleSpec([], 100, 100)],
        [RuleSpec(["浙江"], 100, 100), RuleSpec(["浙江"], 200, 100)],
        [RuleSpec(["*", "浙江"], 100, 100)],
        [RuleSpec(["浙江"], -1, 100)],
        [RuleSpec(["浙江"], 100, 100, free_over_minor=-5)],
    ],
)
def test_invalid_templates_are_refused_and_change_nothing(rules: list[RuleSpec]) -> None:
    home = community()
    before = state()
    with pytest.raises(CatalogError):
        template(home, rules=rules)
    assert state() == before
