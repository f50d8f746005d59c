"""The demo hub: three circles from our users' world, with four months of history.

- 英语学习圈 (english-circle): an English teacher's annual membership (¥365/year); the paid
  group dissolves for those who do not renew.
- 海鲜水果圈 (seafood-fruit): a family's free circle with seafood and fruit sold inside.
- 轻体圈 (slim-circle): a slimming coach whose ¥199 fee comes back as a box of meal
  replacements of equal value.

Everything goes through the domain services (identities encrypted, joins gated and counted,
payments applied as terms), back-dated over the last 120 days; message traffic is bulk-written to
the activity log. Deterministic (seeded) and loaded once: running ``quanzi demo`` again keeps
what is there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from tqdm import tqdm

from quanzi.communities.models import Community, Group, MembershipPlan, PlanKind, Tier
from quanzi.communities.services.joining import group_join, invitation_consume, invitation_create
from quanzi.communities.services.memberships import (
    groups_archive_ended,
    membership_pay,
    membership_start,
    memberships_cleanup,
    memberships_expire,
    memberships_remind,
)
from quanzi.communities.services.setup import (
    community_create,
    group_create,
    kol_seat_assign,
    plan_create,
)
from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.demo_analytics import analytics_load
from quanzi.demo_distribution import distribution_load
from quanzi.demo_rewards import rewards_load, rewards_setup
from quanzi.demo_shop import shop_load
from quanzi.members.lifecycle import lifecycle_recompute
from quanzi.members.models import Member
from quanzi.members.services import IdentityIn, member_identify, member_update

DAYS = 120
SEED = 20261124

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "小晓子文静雅欣悦琪涵梓轩浩宇辰阳明亮伟芳娜敏丽强磊军洋勇艳杰娟涛超秀霞平刚桂英华玉兰萍红梅燕"
)
NICKS = ["", "", "", "妈妈", "老师", "同学", "姐", "哥", "🌸", "Amy", "Coco", "Lily", "Tom"]


@dataclass
class CircleSpec:
    slug: str
    name: str
    kind: str
    vertical: str
    description: str
    members: int
    channels: list[tuple[str, str]]  # (channel, content piece)
    groups: list[dict[str, object]]
    plan: dict[str, object]
    products: list[tuple[int, str, int]] = field(default_factory=list)  # (id, name, price fen)
    buy_rate: float = 0.0


CIRCLES = [
    CircleSpec(
        slug="english-circle",
        name="英语学习圈",
        kind="resource",
        vertical="education",
        description="十年英语老师带你每天开口说英语：打卡、答疑、每月一次线下英语角。",
        members=300,
        channels=[
            ("xiaohongshu", "每天5分钟口语打卡笔记"),
            ("douyin", "雅思口语7分是怎么练出来的"),
            ("wechat_channels", "直播回放：自然拼读"),
            ("bilibili", "语法长视频合集"),
        ],
        groups=[
            {"name": "英语角·公开群", "tier": Tier.OPEN, "capacity": 500},
            {"name": "年费会员群", "tier": Tier.JUNIOR, "capacity": 500, "gated": True},
            {"name": "核心口语群", "tier": Tier.CORE, "capacity": 40, "gated": True},
        ],
        plan={
            "name": "年费会员",
            "kind": PlanKind.ANNUAL,
            "price_minor": 36_500,
            "duration_days": 365,
            "grace_days": 7,
            "reminder_days": 14,
            "discount_percent": 10,
            "member_only_content": True,
        },
        products=[(2001, "21天口语打卡营", 9_900), (2002, "雅思口语精讲课", 39_900)],
        buy_rate=0.05,
    ),
    CircleSpec(
        slug="seafood-fruit",
        name="海鲜水果圈",
        kind="product",
        vertical="food",
        description="自家渔船和果园直发：每周海鲜团购、当季水果，冷链到家。",
        members=260,
        channels=[
            ("douyin", "凌晨四点出海捕捞"),
            ("taobao", "店铺老客户"),
            ("wechat", "老客户推荐"),
            ("xiaohongshu", "烟台大樱桃开箱"),
        ],
        groups=[
            {"name": "海鲜水果福利群", "tier": Tier.OPEN, "capacity": 500},
            {"name": "老客户群", "tier": Tier.JUNIOR, "capacity": 200},
        ],
        plan={"name": "免费会员", "kind": PlanKind.FREE},
        products=[
            (1001, "舟山带鱼礼盒", 16_800),
            (1002, "烟台大樱桃 2斤", 8_800),
            (1003, "鲜活梭子蟹 3斤", 19_900),
            (1004, "赣南脐橙 10斤", 5_990),
        ],
        buy_rate=0.12,
    ),
    CircleSpec(
        slug="slim-circle",
        name="轻体圈",
        kind="charisma",
        vertical="health",
        description="营养师教练陪你科学减脂：每日饮食打卡、每周直播答疑。",
        members=180,
        channels=[
            ("xiaohongshu", "30天减8斤食谱"),
            ("weibo", "教练直播预告"),
            ("douyin", "办公室5分钟燃脂操"),
        ],
        groups=[
            {"name": "轻体打卡群", "tier": Tier.JUNIOR, "capacity": 500, "gated": True},
            {"name": "轻体核心群", "tier": Tier.CORE, "capacity": 30, "gated": True},
        ],
        plan={
            "name": "轻体会员（会费返等值代餐）",
            "kind": PlanKind.FEE_GOODS,
            "price_minor": 19_900,
            "duration_days": 90,
            "reminder_days": 7,
            "goods_description": "代餐奶昔礼盒（14袋）",
            "goods_value_minor": 19_900,
            "discount_percent": 5,
        },
        products=[(3001, "代餐奶昔礼盒", 19_900)],
        buy_rate=0.04,
    ),
]


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
    return rng.choice(SURNAMES) + given + rng.choice(NICKS)


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        number = rng.choice(["138", "139", "136", "150", "158", "186", "188", "177"]) + "".join(
            str(rng.randint(0, 9)) for _ in range(8)
        )
        if number not in used:
            used.add(number)
            return number


def demo_loaded() -> bool:
    return Community.objects.filter(slug__in=[c.slug for c in CIRCLES]).exists()


def demo_load() -> int:
    """Load the demo hub unless it is there; returns the number of members created."""
    if demo_loaded():
        return 0
    rng = random.Random(SEED)  # noqa: S311  (demo data, not security)
    now = clock.now()
    start = now - timedelta(days=DAYS)
    used_phones: set[str] = set()
    created = 0
    total = sum(c.members for c in CIRCLES)
    with tqdm(total=total, desc="Demo hub", unit="member") as bar:
        for spec in CIRCLES:
            created += _load_circle(spec, rng, start, now, used_phones, bar)
    rewards_setup(now)
    shop_load(rng, now)
    distribution_load(rng, now)
    rewards_load(rng, now)
    _settle(now)
    analytics_load(rng, now)
    return created


def _load_circle(
    spec: CircleSpec,
    rng: random.Random,
    start: datetime,
    now: datetime,
    used_phones: set[str],
    bar: tqdm,  # type: ignore[type-arg]
) -> int:
    with transaction.atomic():
        community = community_create(
            slug=spec.slug,
            name=spec.name,
            kind=spec.kind,
            vertical=spec.vertical,
            description=spec.description,
        )
        groups: list[Group] = []
        for g in spec.groups:
            groups.append(
                group_create(
                    community=community,
                    name=str(g["name"]),
                    tier=str(g["tier"]),
                    capacity=int(str(g["capacity"])),
                    rules="1. 友善交流，不发广告；2. 每个人都可以分享有价值的内容；3. 有问题@群主。",
                    welcome_template="欢迎 {name} 加入「{group}」！这里是{community}，先看看群公告哦。",
                    intro_prompt="请用一句话介绍自己：你是谁、为什么来、想收获什么？",
                )
            )
        plan_fields = dict(spec.plan)
        # The plan grants its member group(s); the core group is by the owner's invitation.
        granted = [
            g for g in groups if g.tier == Tier.JUNIOR and plan_fields["kind"] != PlanKind.FREE
        ]
        plan = plan_create(
            community=community,
            groups=granted or groups[:1],
            **plan_fields,  # type: ignore[arg-type]
        )
        for member_group in granted:
            member_group.required_plan = plan
            member_group.save(update_fields=["required_plan"])
        invitations = [
            invitation_create(
                community=community,
                channel=channel,
                content=content,
                plan=plan,
                group=groups[0] if not spec.groups[0].get("gated") else None,
            )
            for channel, content in spec.channels
        ]

    members: list[Member] = []
    for i in range(spec.members):
        # Joins thin at first and grow through the quarter, as a circle does.
        day = int(DAYS * (1 - (1 - rng.random()) ** 0.6))
        joined = min(
            start + timedelta(days=day, hours=rng.randint(8, 22)), now - timedelta(hours=1)
        )
        invitation = rng.choice(invitations)
        with transaction.atomic():
            member, _is_new = member_identify(
                display_name=_name(rng),
                identities=[IdentityIn("phone", _phone(rng, used_phones))],
                source_channel=invitation.channel,
                source_content=invitation.content,
            )
            Member.objects.filter(pk=member.pk).update(created_at=joined)
            member.created_at = joined
            activity_record(
                kind=ActivityKind.VISIT,
                occurred_at=joined - timedelta(minutes=rng.randint(2, 600)),
                member_id=member.pk,
                community_id=community.pk,
                channel=invitation.channel,
                content=invitation.content,
                object_type="invitation",
                object_id=invitation.pk,
            )
            invitation_consume(invitation, now=joined)
            if not spec.groups[0].get("gated"):
                group_join(
                    group=groups[0],
                    member=member,
                    channel=invitation.channel,
                    invitation=invitation,
                    now=joined,
                )
            membership = membership_start(
                member=member,
                plan=plan,
                channel=invitation.channel,
                invitation=invitation,
                now=joined,
            )
            if plan.kind in (PlanKind.ANNUAL, PlanKind.FEE_GOODS) and rng.random() < 0.7:
                paid = joined + timedelta(minutes=rng.randint(5, 600))
                if plan.kind == PlanKind.ANNUAL and i % 6 == 0:
                    # Members from last year: some are due to renew now, some let it lapse.
                    paid = now - timedelta(days=rng.randint(330, 400))
                paid = min(paid, now - timedelta(minutes=1))
                membership_pay(
                    membership=membership,
                    amount_minor=plan.price_minor,
                    payment_ref=f"demo-{spec.slug}-{i}",
                    paid_at=paid,
                )
                renew_at = paid + timedelta(days=(plan.duration_days or 365) - rng.randint(-20, 10))
                if renew_at < now and rng.random() < 0.5:
                    membership_pay(
                        membership=membership,
                        amount_minor=plan.price_minor,
                        payment_ref=f"demo-{spec.slug}-{i}-renewal",
                        paid_at=renew_at,
                    )
            if rng.random() < 0.25:
                member_update(
                    member=member,
                    tags=rng.sample(
                        ["宝妈", "上班族", "学生", "老客户", "高意向", "团长候选"], k=2
                    ),
                )
        members.append(member)
        bar.update(1)

    _history(spec, community, groups, plan, members, rng, start, now)
    return len(members)


def _history(
    spec: CircleSpec,
    community: Community,
    groups: list[Group],
    plan: MembershipPlan,
    members: list[Member],
    rng: random.Random,
    start: datetime,
    now: datetime,
) -> None:
    """Messages, replies, purchases and referrals, back-dated, bulk-written to the log."""
    from quanzi.communities.models import GroupMembership, SeatStatus

    seats = list(
        GroupMembership.objects.filter(group__in=groups, status=SeatStatus.ACTIVE).values_list(
            "member_id", "group_id", "joined_at"
        )
    )
    talkers = {m.pk for m in rng.sample(members, k=len(members) // 3)}
    rows: list[Activity] = []
    for member_id, group_id, joined_at in seats:
        if joined_at is None:
            continue
        active = member_id in talkers
        days = max(1, (now - joined_at).days)
        for _ in range(rng.randint(4, 40) if active else rng.randint(0, 3)):
            when = joined_at + timedelta(days=rng.uniform(0, days))
            if when >= now:
                continue
            kind = rng.choices(
                [ActivityKind.MESSAGE, ActivityKind.REPLY, ActivityKind.LIKE, ActivityKind.POST],
                weights=[70, 18, 9, 3],
            )[0]
            target = (
                rng.choice(seats)[0] if kind in (ActivityKind.REPLY, ActivityKind.LIKE) else None
            )
            rows.append(
                Activity(
                    kind=kind,
                    occurred_at=when,
                    member_id=member_id,
                    target_member_id=target if target != member_id else None,
                    community_id=community.pk,
                    group_id=group_id,
                    source="demo",
                    data={"promotion": True} if rng.random() < 0.01 else {},
                )
            )
    for member in members:
        joined = member.created_at
        if rng.random() < 0.08:
            rows.append(
                Activity(
                    kind=ActivityKind.REFERRAL,
                    occurred_at=joined + (now - joined) * rng.random(),
                    member_id=member.pk,
                    community_id=community.pk,
                    source="demo",
                )
            )
        for _ in range(sum(rng.random() < spec.buy_rate * 4 for _ in range(3))):
            product_id, product_name, price = rng.choice(spec.products)
            when = joined + (now - joined) * rng.random()
            rows.append(
                Activity(
                    kind=ActivityKind.PAY,
                    occurred_at=when,
                    member_id=member.pk,
                    community_id=community.pk,
                    channel=member.source_channel,
                    amount_minor=price,
                    currency="CNY",
                    object_type="product",
                    object_id=str(product_id),
                    source="demo",
                    data={"product": product_name},
                )
            )
    Activity.objects.bulk_create(rows, batch_size=2_000)

    # The owner seats the most active talkers in the core group, two of them as KOLs; buyers
    # are welcomed into the old-customers group.
    core = [g for g in groups if g.tier == Tier.CORE]
    if core:
        for n, member in enumerate([m for m in members if m.pk in talkers][: core[0].capacity - 5]):
            when = member.created_at + timedelta(days=7)
            if when >= now:
                continue
            group_join(group=core[0], member=member, check_gate=False, channel="owner", now=when)
            if n < 2:
                kol_seat_assign(group=core[0], member=member, title="达人")
    buyers = {r.member_id for r in rows if r.kind == ActivityKind.PAY}
    if len(groups) > 1 and groups[1].tier == Tier.JUNIOR and groups[1].required_plan_id is None:
        for member in members:
            if member.pk in buyers:
                group_join(
                    group=groups[1], member=member, channel="owner", now=now - timedelta(days=1)
                )


def _settle(now: datetime) -> None:
    """What the scheduled jobs would have done by now."""
    memberships_remind(now=now)
    memberships_expire(now=now)
    memberships_cleanup(now=now)
    groups_archive_ended(now=now)
    lifecycle_recompute(Member.objects.values_list("pk", flat=True), now=now)
