"""Fixtures for the console page tests: an operator, and a small circle made through services."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from quanzi.communities.models import Community, Group, MembershipPlan
from quanzi.communities.services.setup import community_create, group_create, plan_create
from quanzi.members.models import IdentityKind, Member
from quanzi.members.services import IdentityIn, member_identify

PHONE = "13800138000"


@pytest.fixture
def signed_in(client: Any, operator: Any) -> Any:
    """An operator with every permission (``operator_create`` makes a superuser)."""
    client.force_login(operator)
    return client


@pytest.fixture
def plain_operator(client: Any, db: None) -> Any:
    """Staff, but without the personal-data permission."""
    user = get_user_model().objects.create_user(
        username="helper", password="a-Long-enough-pass-42", is_staff=True
    )
    client.force_login(user)
    return client


@pytest.fixture
def person(db: None) -> Member:
    member, _ = member_identify(
        display_name="王小明",
        identities=[
            IdentityIn(IdentityKind.PHONE, PHONE),
            IdentityIn(IdentityKind.EMAIL, "xiaoming@example.com"),
        ],
        source_channel="douyin",
    )
    return member


@pytest.fixture
def circle(db: None) -> Community:
    return community_create(
        slug="english", name="晨读英语圈", kind="resource", vertical="education"
    )


@pytest.fixture
def junior(circle: Community) -> Group:
    return group_create(community=circle, name="会员群", tier="junior", capacity=2)


@pytest.fixture
def annual(circle: Community, junior: Group) -> MembershipPlan:
    return plan_create(
        community=circle, name="年费会员", kind="annual", price_minor=36_500, groups=[junior]
    )
