from __future__ import annotations

import pytest

from quanzi.communities.models import Community, Group, MembershipPlan
from quanzi.communities.services.setup import community_create, group_create, plan_create


@pytest.fixture
def circle(db: None) -> Community:
    return community_create(slug="seafood", name="海鲜水果圈", kind="product", vertical="food")


@pytest.fixture
def open_group(circle: Community) -> Group:
    return group_create(
        community=circle,
        name="吃货交流群",
        capacity=1,
        rules="不发广告",
        welcome_template="欢迎 {name}!",
    )


@pytest.fixture
def free_plan(circle: Community, open_group: Group) -> MembershipPlan:
    return plan_create(community=circle, name="免费会员", kind="free", groups=[open_group])


@pytest.fixture
def goods_plan(circle: Community) -> MembershipPlan:
    return plan_create(
        community=circle,
        name="代餐会员",
        kind="fee_goods",
        price_minor=29_900,
        goods_description="两盒代餐奶昔",
    )
