"""The demo hub's group chat and health: twelve weeks of messages in every group, as a WeChat
bridge would have sent them, then the rollups, the health warnings and the member-value fit.

Most groups chat steadily, their KOLs most of all; the English circle's open group (英语角·公开群)
fades over the last two weeks while advertisers move in, so the health page has a dying group
to show, with its reasons.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from quanzi.analytics.calendar import local_day
from quanzi.analytics.models import MessageSource
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.services.health import health_evaluate
from quanzi.analytics.services.messages import IncomingMessage, messages_ingest
from quanzi.analytics.services.value import NotEnoughBuyers, value_fit
from quanzi.communities.models import Community, GroupMembership, KolSeat, SeatStatus

WEEKS = 12
DYING = "英语角·公开群"
CHATTER = (
    "早上好！",
    "今天的打卡完成了",
    "请问这个怎么用？",
    "谢谢群主分享",
    "收到，学习了",
    "明天几点开始？",
    "我也想报名",
    "太实用了",
    "有没有人一起？",
    "好的，马上看",
    "这周的团什么时候开？",
    "已下单，等发货",
    "昨天的直播有回放吗？",
    "赞！",
)
KOL_TALK = ("今天给大家分享一个小技巧", "答疑时间到，有问题尽管问", "本周作业点评来了")
ADS = (
    "兼职日赚300，加我微信 wxid_job{n} 私聊",
    "扫码领券，限时特价 https://t.cn/A{n}",
    "代购正品，低价包邮，+v {n}",
)


def analytics_load(rng: random.Random, now: datetime) -> int:
    """Chat in every demo group, then what the analytics jobs would have computed by now;
    returns the number of messages."""
    total = 0
    start = now - timedelta(weeks=WEEKS)
    for community in Community.objects.filter(
        slug__in=["english-circle", "seafood-fruit", "slim-circle"]
    ):
        batch: list[IncomingMessage] = []
        for group in community.groups.filter(archived_at__isnull=True).order_by("pk"):
            people = list(
                GroupMembership.objects.filter(group=group, status=SeatStatus.ACTIVE)
                .order_by("pk")
                .values_list("member_id", "joined_at")
            )
            if not people:
                continue
            kols = list(KolSeat.objects.filter(group=group).values_list("member_id", flat=True))
            talkers = [m for m, _ in people[: max(3, len(people) // 3)]]
            dying = group.name == DYING
            for day in range(WEEKS * 7):
                base = start + timedelta(days=day)
                fading = dying and day >= (WEEKS - 2) * 7
                volume = max(1, len(talkers) // (8 if fading else 2))
                last = ""
                for n in range(rng.randint(volume // 2, volume)):
                    speaker = rng.choice(talkers[:3] if fading else talkers)
                    sent = base + timedelta(hours=rng.uniform(7, 23))
                    reply = last if (last and rng.random() < 0.3 and not fading) else ""
                    batch.append(
                        IncomingMessage(
                            group=str(group.pk),
                            sent_at=sent,
                            sender_id=f"wxid_demo{speaker}",
                            member_id=speaker,
                            text=rng.choice(CHATTER),
                            reply_to=reply,
                            message_id=f"demo-{group.pk}-{day}-{n}",
                        )
                    )
                    last = f"wxid_demo{speaker}"
                if kols and not fading:
                    kol = rng.choice(kols)
                    batch.append(
                        IncomingMessage(
                            group=str(group.pk),
                            sent_at=base + timedelta(hours=20),
                            sender_id=f"wxid_demo{kol}",
                            member_id=kol,
                            text=rng.choice(KOL_TALK),
                            message_id=f"demo-{group.pk}-{day}-kol",
                        )
                    )
                for a in range(rng.randint(2, 4) if fading else int(rng.random() < 0.05)):
                    batch.append(
                        IncomingMessage(
                            group=str(group.pk),
                            sent_at=base + timedelta(hours=rng.uniform(9, 22)),
                            sender_id=f"wxid_ad{a}",
                            sender_name=f"推广{a}号",
                            text=rng.choice(ADS).format(n=day),
                            kind="text",
                            message_id=f"demo-{group.pk}-{day}-ad{a}",
                        )
                    )
        report = messages_ingest(community=community, messages=batch, source=MessageSource.IMPORT)
        total += report.created
    rollup_refresh(settle=timedelta(0))
    for community in Community.objects.filter(
        slug__in=["english-circle", "seafood-fruit", "slim-circle"]
    ):
        health_evaluate(community=community)
        try:
            # Two fits, eight weeks apart, as the weekly job would have left them: members whose
            # chance of still buying fell in between show as "valuable but slipping".
            value_fit(community=community, unit="week", until=local_day(now - timedelta(weeks=8)))
            value_fit(community=community, unit="week")
        except NotEnoughBuyers:
            continue
    return total
