"""Distributors apply, are approved, rejected or suspended, each decision with its reason; and
commission rules never reach a third level or pay more than the sale."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from quanzi.catalog.tests.factories import product
from quanzi.communities.tests.factories import community, group
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity
from quanzi.distribution.models import CommissionRule, Distributor, DistributorStatus
from quanzi.distribution.services.distributors import (
    distributor_apply,
    distributor_approve,
    distributor_reject,
    distributor_suspend,
)
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db


def _refused(call: Any, field: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as refused:
        call()
    assert field in refused.value.fields, refused.value.fields
    return refused.value


def test_a_member_applies_without_buying_anything_and_is_approved(operator: Any) -> None:
    # Given: a member who never bought anything
    home, who = community(), member()

    # When
    applied = distributor_apply(
        community=home, member=who, role="sharer", application="我常在朋友圈分享"
    )
    approved = distributor_approve(distributor=applied, actor_id=operator.pk)

    # Then
    assert approved.status == DistributorStatus.APPROVED
    assert approved.decided_by_id == operator.pk
    actions = list(
        Activity.objects.filter(object_type="distributor", object_id=str(applied.pk))
        .order_by("pk")
        .values_list("data__action", flat=True)
    )
    assert actions == ["applied", "approve"]


def test_a_group_leader_leads_a_group_of_the_same_community() -> None:
    home = community()
    leader = distributor_apply(
        community=home,
        member=member(),
        role="group_leader",
        group=group(home),
        pickup_point="海港小区 3 栋门卫室",
    )
    assert leader.group is not None
    assert leader.pickup_point == "海港小区 3 栋门卫室"

    _refused(
        lambda: distributor_apply(
            community=home, member=member(), role="group_leader", group=group(community())
        ),
        "group",
    )
    _refused(
        lambda: distributor_apply(
            community=home, member=member(), role="sharer", group=group(home)
        ),
        "group",
    )


def test_rejecting_and_suspending_need_a_reason_the_member_sees(operator: Any) -> None:
    home = community()
    applied = distributor_apply(community=home, member=member(), role="influencer")

    _refused(lambda: distributor_reject(distributor=applied, reason="  "), "reason")
    assert Distributor.objects.get(pk=applied.pk).status == DistributorStatus.APPLIED

    rejected = distributor_reject(
        distributor=applied, reason="内容与圈子无关", actor_id=operator.pk
    )
    assert (rejected.status, rejected.reason) == (DistributorStatus.REJECTED, "内容与圈子无关")

    # A rejected member may apply again; the same row, the history in the log
    again = distributor_apply(community=home, member=applied.member, role="influencer")
    assert (again.pk, again.status, again.reason) == (applied.pk, DistributorStatus.APPLIED, "")

    approved = distributor_approve(distributor=again)
    suspended = distributor_suspend(distributor=approved, reason="刷单", actor_id=operator.pk)
    assert (suspended.status, suspended.reason) == (DistributorStatus.SUSPENDED, "刷单")
    reinstated = distributor_approve(distributor=suspended, note="已核实")
    assert reinstated.status == DistributorStatus.APPROVED


def test_moves_that_make_no_sense_are_refused_and_change_nothing() -> None:
    home = community()
    applied = distributor_apply(community=home, member=member(), role="sharer")

    with pytest.raises(ApplicationError) as refused:
        distributor_suspend(distributor=applied, reason="x")
    assert refused.value.status == 409
    with pytest.raises(ApplicationError):
        distributor_apply(community=home, member=applied.member, role="sharer")
    assert Distributor.objects.get(pk=applied.pk).status == DistributorStatus.APPLIED
    assert Distributor.objects.count() == 1


def test_an_unknown_role_is_refused_by_field() -> None:
    _refused(lambda: distributor_apply(community=community(), member=member(), role="boss"), "role")
    assert not Distributor.objects.exists()


# Commission rules


def test_rules_pay_the_direct_referrer_and_at_most_the_one_above() -> None:
    home = community()
    direct = commission_rule_create(community=home, kind="percent", percent_bp=1_000)
    above = commission_rule_create(community=home, kind="percent", percent_bp=300, level=2)
    assert (direct.level, above.level) == (1, 2)

    before = CommissionRule.objects.count()
    error = _refused(
        lambda: commission_rule_create(community=home, kind="percent", percent_bp=100, level=3),
        "level",
    )
    assert error.status == 422
    assert CommissionRule.objects.count() == before


@given(level=st.integers(min_value=3, max_value=1_000))
@settings(max_examples=20, deadline=None)
def test_the_database_refuses_a_third_level_whatever_the_caller(level: int) -> None:
    home = community()
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionRule.objects.create(
            community=home,
            kind="percent",
            percent_bp=100,
            level=level,
            created_at="2026-01-01T00:00Z",
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "percent", "percent_bp": 10_001}, "percent_bp"),
        ({"kind": "percent", "percent_bp": 0}, "percent_bp"),
        ({"kind": "percent", "percent_bp": 500, "fixed_minor": 100}, "fixed_minor"),
        ({"kind": "fixed", "fixed_minor": 0}, "fixed_minor"),
        ({"kind": "fixed", "fixed_minor": -5}, "fixed_minor"),
        ({"kind": "fixed", "fixed_minor": 500, "percent_bp": 100}, "percent_bp"),
        ({"kind": "bonus", "percent_bp": 100}, "kind"),
        ({"kind": "percent", "percent_bp": 100, "role": "boss"}, "role"),
        ({"kind": "percent", "percent_bp": 100, "level": 0}, "level"),
    ],
)
def test_a_commission_over_100_percent_or_malformed_is_refused(kwargs: Any, field: str) -> None:
    _refused(lambda: commission_rule_create(community=community(), **kwargs), field)
    assert not CommissionRule.objects.exists()


def test_a_rule_names_a_product_of_its_own_community() -> None:
    home = community()
    rule = commission_rule_create(
        community=home, kind="fixed", fixed_minor=500, product=product(home), role="group_leader"
    )
    assert rule.product is not None
    _refused(
        lambda: commission_rule_create(
            community=home, kind="fixed", fixed_minor=500, product=product(community())
        ),
        "product",
    )
