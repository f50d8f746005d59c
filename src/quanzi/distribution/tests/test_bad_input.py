"""Bad input is refused clearly, by field, and nothing is written; and the database itself
refuses a third level or more than 100 % should any caller skip the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from quanzi.communities.tests.factories import community
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity
from quanzi.distribution.models import (
    Commission,
    CommissionRule,
    DistributionSettings,
)
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.distribution.services.settings import distribution_settings_update
from quanzi.distribution.tests.factories import approved, percent, shared
from quanzi.distribution.tests.kit import postings
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db


def written() -> tuple[int, int, int]:
    return CommissionRule.objects.count(), Activity.objects.count(), postings()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "percent", "percent_bp": 500, "level": 3}, "level"),
        ({"kind": "fixed", "fixed_minor": 500, "level": 3}, "level"),
        ({"kind": "percent", "percent_bp": 500, "level": True}, "level"),
        ({"kind": "percent", "percent_bp": 10_001}, "percent_bp"),
        ({"kind": "percent", "percent_bp": 10_001, "level": 2}, "percent_bp"),
        ({"kind": "percent", "percent_bp": 12.5}, "percent_bp"),
        ({"kind": "fixed", "fixed_minor": "500"}, "fixed_minor"),
    ],
)
def test_a_third_level_or_more_than_100_percent_is_refused_and_nothing_is_created(
    kwargs: Any, field: str
) -> None:
    # Given: a community with one valid rule
    home = community()
    percent(home, 1_000)
    before = written()

    # When
    with pytest.raises(ApplicationError) as refused:
        commission_rule_create(community=home, **kwargs)

    # Then: a 422 naming the field; no rule, no activity, no posting
    assert refused.value.status == 422
    assert field in refused.value.fields, refused.value.fields
    assert written() == before


def test_exactly_100_percent_at_the_second_level_is_allowed() -> None:
    rule = commission_rule_create(community=community(), kind="percent", percent_bp=10_000, level=2)
    assert (rule.level, rule.percent_bp) == (2, 10_000)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"kind": "percent", "percent_bp": 100, "level": 3}, "commission_at_most_two_levels"),
        ({"kind": "percent", "percent_bp": 100, "level": 0}, "commission_at_most_two_levels"),
        ({"kind": "percent", "percent_bp": 10_001}, "commission_at_most_100_percent"),
        ({"kind": "fixed", "fixed_minor": -1}, "commission_fixed_not_negative"),
        ({"kind": "fixed", "fixed_minor": 100, "percent_bp": 100}, "commission_one_kind"),
    ],
)
def test_the_database_refuses_a_bad_rule_whatever_the_caller(
    fields: dict[str, Any], constraint: str
) -> None:
    home = community()
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        CommissionRule.objects.create(community=home, created_at=clock.now(), **fields)
    # SQLite and PostgreSQL both name the violated constraint
    assert constraint in str(refused.value), refused.value
    assert not CommissionRule.objects.exists()


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"level": 3}, "commission_row_at_most_two_levels"),
        ({"amount_minor": 0}, "commission_amount_positive"),
        ({"reversed_minor": 600, "clawed_minor": 500}, "commission_never_takes_back_more"),
        ({"reversed_minor": -1}, "commission_never_takes_back_more"),
    ],
)
def test_the_database_refuses_a_commission_row_beyond_the_rules(
    frozen_clock: Any, changes: dict[str, Any], constraint: str
) -> None:
    # Given: a real 10.00 commission
    home = community()
    sharer = member()
    approved(home, sharer)
    percent(home, 1_000)
    shared(goods(home, price_minor=10_000), sharer, member())
    row = Commission.objects.get()

    # When: someone writes it behind the services' back
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Commission.objects.filter(pk=row.pk).update(**changes)

    # Then
    assert constraint in str(refused.value), refused.value
    fresh = Commission.objects.get()
    assert (fresh.level, fresh.amount_minor, fresh.reversed_minor, fresh.clawed_minor) == (
        1,
        1_000,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"attribution_days": 0}, "attribution_days"),
        ({"attribution_days": 91}, "attribution_days"),
        ({"binding_days": 366}, "binding_days"),
        ({"return_window_days": -1}, "return_window_days"),
        ({"min_payout_minor": 0}, "min_payout_minor"),
        ({"second_level": "yes"}, "second_level"),
        ({"third_level": True}, "third_level"),
        ({"attribution_days": True}, "attribution_days"),
    ],
)
def test_settings_out_of_range_are_refused_and_nothing_is_saved(
    changes: dict[str, Any], field: str
) -> None:
    home = community()
    activities = Activity.objects.count()
    with pytest.raises(ApplicationError) as refused:
        distribution_settings_update(community=home, **changes)
    assert field in refused.value.fields, refused.value.fields
    assert not DistributionSettings.objects.exists()
    assert Activity.objects.count() == activities
