"""The demo hub's shop: products, SKUs, shipping, a live group-buy and this week's orders.

Everything is made through the services the console and API call, so the demo's orders have
their stock reserved and sold, their payments in the ledger and their activity in the log.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from quanzi.catalog.models import Product, ProductKind, Sku
from quanzi.catalog.services.drops import drop_create
from quanzi.catalog.services.products import product_create, product_update, sku_create
from quanzi.catalog.services.shipping import RuleSpec, shipping_template_create
from quanzi.communities.models import Community, MembershipPlan
from quanzi.members.models import Member
from quanzi.orders.models import Order
from quanzi.orders.services.aftersales import after_sale_add_evidence, after_sale_open
from quanzi.orders.services.checkout import Address, LineIn, order_create
from quanzi.orders.services.fulfilment import CARRIERS, order_confirm_receipt, order_ship
from quanzi.orders.services.paying import order_pay_start
from quanzi.payments.services.payments import payment_confirm_manual

PROVINCES = ["浙江", "上海", "江苏", "北京", "广东", "山东", "四川", "湖北", "福建", "安徽"]
STREETS = ["人民路", "解放路", "中山路", "建设路", "滨江路", "文化路"]


def _physical(
    community: Community,
    name: str,
    price: int,
    specs: list[tuple[str, int | None, int]],
    **kwargs: object,
) -> tuple[Product, list[Sku]]:
    product = product_create(
        community=community,
        name=name,
        kind=ProductKind.PHYSICAL,
        price_minor=price,
        **kwargs,  # type: ignore[arg-type]
    )
    skus = [
        sku_create(product=product, options={"规格": spec}, price_minor=sku_price, stock=stock)
        for spec, sku_price, stock in specs
    ]
    product_update(product=product, active=True)
    return product, skus


def _address(rng: random.Random, member: Member) -> Address:
    return Address(
        name=member.display_name[:10],
        phone="1" + rng.choice("3589") + "".join(str(rng.randint(0, 9)) for _ in range(9)),
        region=rng.choice(PROVINCES),
        address=f"{rng.choice(STREETS)}{rng.randint(1, 300)}号{rng.randint(1, 30)}栋{rng.randint(101, 2602)}室",
    )


def _pay(order: Order) -> None:
    payment = order_pay_start(order=order)
    payment_confirm_manual(payment=payment, amount_minor=order.total_minor, note="demo")


def shop_load(rng: random.Random, now: datetime) -> int:
    """Catalog and orders for the demo circles; returns the number of orders placed."""
    seafood = Community.objects.get(slug="seafood-fruit")
    cold = shipping_template_create(
        community=seafood,
        name="冷链到家",
        rules=[
            RuleSpec(["上海", "江苏", "浙江", "安徽"], 800, 400, 19_900),
            RuleSpec(["*"], 1_500, 800, 29_900),
        ],
    )
    _fish, fish_skus = _physical(
        seafood,
        "舟山带鱼礼盒",
        16_800,
        [("2斤装", None, 80), ("4斤装", 31_800, 40)],
        weight_grams=1_200,
        packaging="泡沫箱 + 冰袋",
        cold_chain=True,
        cold_chain_note="顺丰冷链，48小时内送达，收到请立即冷冻",
        shipping_template=cold,
        category="海鲜",
    )
    crab, crab_skus = _physical(
        seafood,
        "鲜活梭子蟹 3斤",
        19_900,
        [("3斤 5-7只", None, 60)],
        weight_grams=1_600,
        packaging="泡沫箱 + 冰袋",
        cold_chain=True,
        cold_chain_note="活蟹发货，死蟹包赔",
        shipping_template=cold,
        category="海鲜",
        per_member_limit=5,
    )
    _cherry, cherry_skus = _physical(
        seafood,
        "烟台大樱桃 2斤",
        8_800,
        [("2斤 JJ级", None, 120), ("2斤 JJJ级", 11_800, 60)],
        weight_grams=1_100,
        packaging="礼盒",
        cold_chain=True,
        shipping_template=cold,
        category="水果",
    )
    _orange, orange_skus = _physical(
        seafood,
        "赣南脐橙 10斤",
        5_990,
        [("10斤 中果", None, 200)],
        weight_grams=5_200,
        packaging="纸箱",
        shipping_template=cold,
        category="水果",
    )
    drop = drop_create(
        product=crab,
        sku=crab_skus[0],
        title="周末梭子蟹团购 · 满10人成团",
        price_minor=15_900,
        starts_at=now - timedelta(hours=6),
        ends_at=now + timedelta(days=2),
        units=30,
        per_member_limit=2,
        min_buyers=10,
    )

    english = Community.objects.get(slug="english-circle")
    product_create(
        community=english, name="21天口语打卡营", kind=ProductKind.COURSE, price_minor=9_900
    )
    product_create(
        community=english, name="雅思口语精讲课", kind=ProductKind.COURSE, price_minor=39_900
    )
    annual = MembershipPlan.objects.get(community=english, name="年费会员")
    product_create(
        community=english,
        name="年费会员",
        kind=ProductKind.MEMBERSHIP,
        price_minor=annual.price_minor,
        plan=annual,
    )
    slim = Community.objects.get(slug="slim-circle")
    slim_template = shipping_template_create(
        community=slim, name="全国包邮", rules=[RuleSpec(["*"], 0, 0, None)]
    )
    _physical(
        slim,
        "代餐奶昔礼盒",
        19_900,
        [("14袋 可可味", None, 50), ("14袋 抹茶味", None, 50)],
        weight_grams=800,
        shipping_template=slim_template,
        category="代餐",
    )

    buyers = list(
        Member.objects.filter(group_seats__group__community=seafood).distinct().order_by("pk")[:40]
    )
    rng.shuffle(buyers)
    goods = [*fish_skus, *cherry_skus, *orange_skus]
    placed = 0
    for n, member in enumerate(buyers[:28]):
        sku = rng.choice(goods)
        order = order_create(
            member=member,
            community=seafood,
            lines=[
                LineIn(product_id=sku.product_id, sku_id=sku.pk, quantity=rng.choice([1, 1, 2]))
            ],
            address=_address(rng, member),
            channel=member.source_channel,
        )
        placed += 1
        if n % 7 == 6:
            continue  # awaiting payment
        _pay(order)
        if n % 3 == 0:
            continue  # to ship
        order = order_ship(
            order=order,
            carrier=rng.choice(CARRIERS[:3]),
            tracking_no=f"SF{rng.randint(10**11, 10**12 - 1)}",
        )
        if n % 2 == 0:
            order_confirm_receipt(order=order)
    for member in buyers[28:34]:  # the group-buy fills up
        order = order_create(
            member=member,
            community=seafood,
            lines=[LineIn(product_id=crab.pk, quantity=1)],
            drop_id=drop.pk,
            address=_address(rng, member),
        )
        _pay(order)
        placed += 1
    # A member whose crabs arrived dead asks for part of the money back, with a photo note.
    if len(buyers) > 34:
        order = order_create(
            member=buyers[34],
            community=seafood,
            lines=[LineIn(product_id=crab.pk, sku_id=crab_skus[0].pk, quantity=1)],
            address=_address(rng, buyers[34]),
        )
        _pay(order)
        order = order_ship(order=order, carrier="顺丰速运", tracking_no="SF1234567890123")
        case = after_sale_open(
            order=order,
            kind="refund_only",
            amount_minor=8_000,
            reason="收到时有三只蟹已经死了",
        )
        after_sale_add_evidence(
            case=case, kind="note", note="开箱视频已发客服微信：6只里3只不动了，冰袋已化。"
        )
        placed += 1
    return placed
