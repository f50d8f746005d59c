"""The demo hub's history: three circles from our users' world, 90 days of activity.

Deterministic (seeded), loaded once: running ``quanzi demo`` again keeps what is there. The
domain apps add their own demo steps (communities, members, products) as they arrive; this step
fills the activity log so that the overview has a real shape to show.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from tqdm import tqdm

from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind

DEMO_SOURCE = "demo"
DAYS = 90

# (community id, members, daily visit base, price in fen, channels)
CIRCLES = [
    (1, 320, 40, 36_500, ["xiaohongshu", "douyin", "wechat_channels"]),  # English-learning circle
    (2, 260, 55, 8_800, ["douyin", "taobao", "wechat"]),  # seafood and fruit circle
    (3, 180, 25, 19_900, ["xiaohongshu", "weibo", "wechat"]),  # slimming circle
]


def demo_load() -> int:
    """Write the demo history unless it is there already; returns the rows written."""
    if Activity.objects.filter(source=DEMO_SOURCE).exists():
        return 0
    rng = random.Random(20261124)  # noqa: S311  (demo data, not security)
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    written = 0
    joined: dict[int, list[int]] = {cid: [] for cid, *_ in CIRCLES}
    with transaction.atomic(), tqdm(total=DAYS, desc="Demo history", unit="day") as bar:
        for day in range(DAYS, 0, -1):
            start = today - timedelta(days=day)
            rows: list[Activity] = []
            for cid, size, visits, price, channels in CIRCLES:
                growth = 1 + (DAYS - day) / DAYS  # the circles grow over the quarter
                members = joined[cid]
                base_id = cid * 10_000

                def at(day_start: datetime = start) -> datetime:
                    return day_start + timedelta(seconds=rng.randint(8 * 3600, 23 * 3600))

                for _ in range(int(visits * growth * rng.uniform(0.7, 1.3))):
                    rows.append(_row(ActivityKind.VISIT, at(), cid, None, rng.choice(channels)))
                new = rng.randint(1, max(2, int(size / DAYS * growth * 1.5)))
                for _ in range(new):
                    if len(members) >= size:
                        break
                    member = base_id + len(members) + 1
                    members.append(member)
                    rows.append(_row(ActivityKind.JOIN, at(), cid, member, rng.choice(channels)))
                active = rng.sample(members, k=min(len(members), int(len(members) * 0.18)))
                for member in active:
                    for _ in range(rng.randint(1, 4)):
                        rows.append(_row(ActivityKind.MESSAGE, at(), cid, member, ""))
                for member in rng.sample(members, k=min(len(members), rng.randint(0, 6))):
                    paid = price + rng.choice([0, 0, 1_000, -1_000])
                    rows.append(_row(ActivityKind.PAY, at(), cid, member, "", paid))
            Activity.objects.bulk_create(rows, batch_size=2_000)
            written += len(rows)
            bar.update(1)
    return written


def _row(
    kind: str,
    when: datetime,
    community_id: int,
    member_id: int | None,
    channel: str,
    amount: int | None = None,
) -> Activity:
    return Activity(
        kind=kind,
        occurred_at=when,
        community_id=community_id,
        member_id=member_id,
        channel=channel,
        amount_minor=amount,
        currency="CNY" if amount is not None else "",
        source=DEMO_SOURCE,
    )
