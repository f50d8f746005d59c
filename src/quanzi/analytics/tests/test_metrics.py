"""Each metric on a small community whose right answer is worked out by hand in the test.

Data goes in through the services a real hub uses (seats through ``group_join``, facts through
``activity_record``), the rollup job folds it in, and the selectors are asked."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from quanzi.analytics import rollups
from quanzi.analytics.models import (
    ChatMessage,
    ChatSender,
    MessageKind,
    RollupPending,
    RollupState,
)
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.selectors.metrics import (
    Period,
    Scope,
    cohorts,
    daily,
    funnel,
    kpis,
    lifecycle,
    overlap,
    rfm,
)
from quanzi.communities.models import Community, Group, KolSeat
from quanzi.communities.services.joining import group_join, group_leave
from quanzi.communities.tests.factories import community, group, paid, plan
from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.members.models import Member
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db

# A Monday, long enough ago that nothing in these tests is in the future.
MONDAY = date(2026, 3, 2)


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def seat(chat: Group, *people: Member, day: date = MONDAY) -> None:
    for person in people:
        group_join(group=chat, member=person, check_gate=False, now=at(day, 9))


def act(kind: str, who: Member, where: Group, day: date, **kwargs: Any) -> None:
    activity_record(
        kind=kind,
        occurred_at=at(day),
        member_id=who.pk,
        community_id=where.community_id,
        group_id=where.pk,
        **kwargs,
    )


def pay(who: Member, circle: Community, day: date, order: str, yuan: int = 100) -> None:
    activity_record(
        kind=ActivityKind.PAY,
        occurred_at=at(day, 15),
        member_id=who.pk,
        community_id=circle.pk,
        amount=Money(yuan * 100, "CNY"),
        object_type="product",
        object_id="1",
        data={"order": order},
    )


def say(
    chat: Group,
    who: Member | None,
    day: date,
    *,
    ad: bool = False,
    kol: bool = False,
    operator: bool = False,
    n: int = 0,
) -> None:
    sender, _ = ChatSender.objects.get_or_create(
        community_id=chat.community_id,
        external_id=f"wxid_{who.pk if who else 'stranger'}",
        defaults={
            "member": who,
            "first_seen_at": at(day),
            "last_seen_at": at(day),
        },
    )
    message = ChatMessage.objects.create(
        community_id=chat.community_id,
        group=chat,
        sender=sender,
        member_id=who.pk if who else None,
        fingerprint=f"{sender.pk}-{day}-{n}-{ad}-{kol}",
        sent_at=at(day, 10 + n % 10),
        kind=MessageKind.LINK if ad else MessageKind.TEXT,
        text="加我领券 https://t.cn/x" if ad else "大家好",
        is_promotion=ad,
        from_kol=kol,
        from_operator=operator,
        source="api",
    )
    if who is not None:
        activity_record(
            kind=ActivityKind.MESSAGE,
            occurred_at=message.sent_at,
            member_id=who.pk,
            community_id=chat.community_id,
            group_id=chat.pk,
            object_type="chat_message",
            object_id=message.pk,
        )


@pytest.fixture
def now(frozen_clock: Any) -> Any:
    frozen_clock.set(at(MONDAY + timedelta(days=70)))
    return frozen_clock


WEEK = Period(MONDAY, MONDAY + timedelta(days=7))


def test_strangeness_three_of_five_never_interacted(now: Any) -> None:
    chat = group()
    a, b, c, d, e = (member() for _ in range(5))
    seat(chat, a, b, c, d, e)
    # a replies to b: both interacted. c, d, e only talk (or say nothing): strangers.
    act(ActivityKind.REPLY, a, chat, MONDAY + timedelta(days=1), target_member_id=b.pk)
    act(ActivityKind.MESSAGE, c, chat, MONDAY + timedelta(days=2))
    act(ActivityKind.MESSAGE, d, chat, MONDAY + timedelta(days=3))
    rollup_refresh()

    figures = kpis(Scope(chat.community_id, chat.pk), WEEK)

    assert figures.members == 5
    assert figures.strangers == 3
    assert figures.strangeness_rate == pytest.approx(3 / 5)


def test_overlap_two_groups_sharing_two_of_six(now: Any) -> None:
    circle = community()
    first, second = group(circle), group(circle)
    people = [member() for _ in range(6)]
    seat(first, *people[:4])  # 0 1 2 3
    seat(second, *people[2:])  # 2 3 4 5 → shared: 2 and 3; distinct: 6
    rollup_refresh()

    exact = overlap(circle.pk, [first.pk, second.pk], MONDAY)
    whole = overlap(circle.pk, None, MONDAY)

    for figures in (exact, whole):
        assert figures.distinct_members == 6
        assert figures.members_in_two_or_more == 2
        assert figures.rate == pytest.approx(1 / 3)
    assert exact.jaccard[0][1] == pytest.approx(2 / 6)
    assert exact.jaccard[1][0] == pytest.approx(2 / 6)
    assert whole.jaccard[0][1] == pytest.approx(2 / 6)


def test_payment_and_repurchase_rates(now: Any) -> None:
    chat = group()
    circle = chat.community
    people = [member() for _ in range(5)]
    seat(chat, *people)
    outsider = member()  # buys but has no seat: not in the population
    pay(people[0], circle, MONDAY + timedelta(days=1), "A1")
    pay(people[0], circle, MONDAY + timedelta(days=2), "A2")
    pay(people[1], circle, MONDAY + timedelta(days=1), "B1")
    pay(people[2], circle, MONDAY - timedelta(days=3), "C0")  # before the period
    pay(outsider, circle, MONDAY + timedelta(days=1), "X1")
    rollup_refresh()

    figures = kpis(Scope(circle.pk), WEEK)

    # Payers among the 5 members: people 0 and 1 → 2/5; with two orders: person 0 → 1/2.
    assert figures.members == 5
    assert figures.payers == 2
    assert figures.payment_rate == pytest.approx(2 / 5)
    assert figures.repurchase_rate == pytest.approx(1 / 2)
    # Revenue counts every paid order in the community that week, the outsider's too.
    assert figures.orders == 4
    assert figures.revenue_minor == 4 * 100_00


def test_an_order_of_several_lines_is_one_paid_order(now: Any) -> None:
    chat = group()
    buyer = member()
    seat(chat, buyer)
    pay(buyer, chat.community, MONDAY + timedelta(days=1), "N1", yuan=30)
    pay(buyer, chat.community, MONDAY + timedelta(days=1), "N1", yuan=20)  # a second line
    rollup_refresh()

    figures = kpis(Scope(chat.community_id), WEEK)

    assert figures.orders == 1
    assert figures.revenue_minor == 50_00
    assert figures.repurchase_rate == 0


def test_a_past_week_keeps_its_figures_after_later_activity(now: Any) -> None:
    chat = group()
    circle = chat.community
    a, b, c, d = (member() for _ in range(4))
    seat(chat, a, b, c, d)
    # In the week: a replies to b; c pays two orders on one day, d one order.
    act(ActivityKind.REPLY, a, chat, MONDAY + timedelta(days=1), target_member_id=b.pk)
    pay(c, circle, MONDAY + timedelta(days=2), "C1")
    pay(c, circle, MONDAY + timedelta(days=2), "C2")
    pay(d, circle, MONDAY + timedelta(days=3), "D1")
    rollup_refresh()
    # A month later everyone is busy: each member's last interaction and order move on.
    later = MONDAY + timedelta(days=30)
    act(ActivityKind.REPLY, a, chat, later, target_member_id=c.pk)
    act(ActivityKind.LIKE, b, chat, later, target_member_id=d.pk)
    pay(c, circle, later, "C3")
    pay(d, circle, later, "D2")
    pay(a, circle, later, "A1")
    rollup_refresh()

    scope = Scope(circle.pk, chat.pk)
    this_year = kpis(scope, WEEK)  # the week began 70 days ago: read from the day bits
    # c and d interacted only after the week: strangers in it. c and d paid in it; c twice.
    assert this_year.members == 4
    assert this_year.strangers == 2
    assert this_year.payers == 2
    assert this_year.repeat_payers == 1
    assert this_year.repurchase_rate == pytest.approx(1 / 2)
    # The same week seen more than a year on, beyond the bits' reach: counted from the
    # week's member-days and orders, to the same figures.
    now.set(at(MONDAY + timedelta(days=400)))
    assert kpis(scope, WEEK) == this_year


def test_activity_rate_counts_the_last_seven_days(now: Any) -> None:
    chat = group()
    people = [member() for _ in range(4)]
    seat(chat, *people)
    last_day = MONDAY + timedelta(days=6)
    act(ActivityKind.MESSAGE, people[0], chat, last_day)
    act(ActivityKind.VOTE, people[1], chat, MONDAY)  # 6 days before the end: inside
    act(ActivityKind.CHECK_IN, people[2], chat, MONDAY - timedelta(days=1))  # outside
    act(ActivityKind.VIEW, people[3], chat, last_day)  # a view is not engagement
    rollup_refresh()

    figures = kpis(Scope(chat.community_id, chat.pk), WEEK)

    assert figures.engaged_7d == 2
    assert figures.activity_rate == pytest.approx(2 / 4)


def test_a_quiet_group_s_days_carry_on_to_today(frozen_clock: Any) -> None:
    # A member posts on Wednesday; nothing happens after. The next runs, days later, still carry
    # the group's days on: the post counts in the 7-day activity until the next Wednesday.
    wednesday = MONDAY + timedelta(days=2)
    frozen_clock.set(at(wednesday, 18))
    chat = group()
    people = [member() for _ in range(4)]
    seat(chat, *people)
    act(ActivityKind.MESSAGE, people[0], chat, wednesday)
    rollup_refresh()
    scopes = [Scope(chat.community_id), Scope(chat.community_id, chat.pk)]

    def tiles(today: date) -> list[tuple[int, float | None, int]]:
        frozen_clock.set(at(today, 18))
        rollup_refresh()
        period = Period(today - timedelta(days=29), today + timedelta(days=1))
        return [
            (k.engaged_7d, k.activity_rate, k.members)
            for k in (kpis(scope, period) for scope in scopes)
        ]

    assert tiles(wednesday + timedelta(days=2)) == [(1, 1 / 4, 4)] * 2
    line = daily(scopes[1], Period(wednesday, wednesday + timedelta(days=3)))
    assert [(p.members, p.engaged_7d) for p in line] == [(4, 1), (4, 1), (4, 1)]
    assert tiles(wednesday + timedelta(days=6)) == [(1, 1 / 4, 4)] * 2
    assert tiles(wednesday + timedelta(days=7)) == [(0, 0.0, 4)] * 2
    # The weeks since are cohort cells too: the cohort kept none of its members in week 1.
    rows = cohorts(scopes[1], Period(MONDAY, MONDAY + timedelta(days=7)), weeks=3)
    assert rows[0].size == 4
    assert rows[0].retention[:2] == [1.0, 0.0]


def test_renewal_rate(now: Any) -> None:
    circle = community()
    annual = plan(circle)
    start = at(MONDAY - timedelta(days=365))
    stays, goes = member(), member()
    kept = paid(stays, annual, at=start)
    paid(goes, annual, at=start)
    # One renews 10 days after the end of the year, the other never does.
    from quanzi.communities.services.memberships import membership_pay

    term = kept.terms.order_by("-ends_at").first()
    assert term is not None
    assert term.ends_at is not None
    membership_pay(
        membership=kept,
        amount_minor=annual.price_minor,
        payment_ref="renew-1",
        paid_at=term.ends_at + timedelta(days=10),
    )
    rollup_refresh()
    year_end = local(term.ends_at)

    figures = kpis(
        Scope(circle.pk), Period(year_end - timedelta(days=3), year_end + timedelta(days=3))
    )

    assert figures.renewals_due == 2
    assert figures.renewed == 1
    assert figures.renewal_rate == pytest.approx(1 / 2)


def local(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def test_ad_ratio_and_kol_share(now: Any) -> None:
    chat = group()
    kol, fan = member(), member()
    seat(chat, kol, fan)
    KolSeat.objects.create(group=chat, member=kol)
    day = MONDAY + timedelta(days=2)
    for n in range(3):
        say(chat, kol, day, kol=True, n=n)  # 3 by the KOL
    for n in range(3, 6):
        say(chat, fan, day, n=n)  # 3 ordinary
    say(chat, None, day, ad=True, n=6)  # an ad from a stranger
    say(chat, fan, day, ad=True, n=7)  # an ad from a member
    say(chat, None, day, ad=True, operator=True, n=8)  # the operator's own promotion
    rollup_refresh()

    figures = kpis(Scope(chat.community_id, chat.pk), WEEK)

    # 9 messages: ads not from operators 2 → 2/9; KOL 3 → 3/9.
    assert figures.messages == 9
    assert figures.ad_ratio == pytest.approx(2 / 9)
    assert figures.kol_share == pytest.approx(3 / 9)


def test_funnel_is_nested(now: Any) -> None:
    chat = group()
    circle = chat.community
    visitors = [member() for _ in range(4)]
    for person in visitors:
        activity_record(
            kind=ActivityKind.VISIT,
            occurred_at=at(MONDAY),
            member_id=person.pk,
            community_id=circle.pk,
        )
    direct = member()  # joins without a tracked visit
    seat(chat, visitors[0], visitors[1], visitors[2], direct, day=MONDAY + timedelta(days=1))
    pay(visitors[0], circle, MONDAY + timedelta(days=2), "F1")
    pay(visitors[0], circle, MONDAY + timedelta(days=3), "F2")
    pay(visitors[1], circle, MONDAY + timedelta(days=2), "F3")
    pay(direct, circle, MONDAY + timedelta(days=2), "F4")
    pay(visitors[3], circle, MONDAY + timedelta(days=2), "F5")  # paid, never joined
    activity_record(
        kind=ActivityKind.REFERRAL,
        occurred_at=at(MONDAY + timedelta(days=4)),
        member_id=member().pk,
        target_member_id=visitors[0].pk,
        community_id=circle.pk,
        data={"action": "referred"},
    )
    rollup_refresh()

    steps = {s.key: s for s in funnel(Scope(circle.pk), WEEK)}

    assert steps["visit"].members == 4
    assert steps["join"].members == 4  # 3 visitors + 1 direct
    assert steps["join"].conversion == pytest.approx(3 / 4)  # of 4 visitors, 3 joined
    assert steps["first_payment"].members == 3  # v0, v1, direct (v3 never joined)
    assert steps["first_payment"].conversion == pytest.approx(3 / 4)
    assert steps["repurchase"].members == 1
    assert steps["repurchase"].conversion == pytest.approx(1 / 3)
    assert steps["referral"].members == 1
    assert steps["referral"].conversion == pytest.approx(1.0)


def test_weekly_cohorts_with_retention(now: Any) -> None:
    chat = group()
    early = [member() for _ in range(4)]
    late = [member() for _ in range(2)]
    seat(chat, *early, day=MONDAY)
    seat(chat, *late, day=MONDAY + timedelta(days=8))
    # Week 1 after joining: 2 of the 4 early members act; week 2: 1.
    act(ActivityKind.MESSAGE, early[0], chat, MONDAY + timedelta(days=8))
    act(ActivityKind.POST, early[1], chat, MONDAY + timedelta(days=9))
    act(ActivityKind.MESSAGE, early[0], chat, MONDAY + timedelta(days=15))
    act(ActivityKind.MESSAGE, early[0], chat, MONDAY + timedelta(days=16))  # same week, once
    act(ActivityKind.LIKE, late[0], chat, MONDAY + timedelta(days=15), target_member_id=late[1].pk)
    rollup_refresh()

    rows = cohorts(
        Scope(chat.community_id, chat.pk), Period(MONDAY, MONDAY + timedelta(days=14)), weeks=3
    )

    assert [(r.week, r.size) for r in rows] == [(MONDAY, 4), (MONDAY + timedelta(days=7), 2)]
    # The join is activity: week 0 is everyone.
    assert rows[0].retention == [1.0, 2 / 4, 1 / 4, 0.0]
    # Late cohort week 1: late[0] liked; late[1] only received the like.
    assert rows[1].retention == [1.0, 1 / 2, 0.0, 0.0]


def test_rfm_eight_segments(now: Any) -> None:
    chat = group()
    circle = chat.community
    loyal, new_big, lapsed, small = (member() for _ in range(4))
    seat(chat, loyal, new_big, lapsed, small)
    end = MONDAY + timedelta(days=60)
    for i in range(4):
        pay(loyal, circle, end - timedelta(days=i * 3), f"L{i}", yuan=100)  # R↑ F↑ M↑ (400)
    pay(new_big, circle, end - timedelta(days=1), "N0", yuan=500)  # R↑ F↓ M↑ (500)
    pay(lapsed, circle, MONDAY, "P0", yuan=50)  # R↓ F↓ M↓
    pay(lapsed, circle, MONDAY + timedelta(days=1), "P1", yuan=50)
    pay(small, circle, end, "S0", yuan=10)  # R↑ F↓ M↓
    rollup_refresh()
    # Means: orders (4+1+2+1)/4 = 2; revenue (400+500+100+10)/4 = 252.5 yuan.

    segments = {s.code: s.members for s in rfm(Scope(circle.pk), end)}

    assert segments["important_value"] == 1
    assert segments["important_develop"] == 1
    assert segments["general_keep"] == 1  # lapsed: 2 orders ≥ mean 2, low spend, long ago
    assert segments["general_develop"] == 1
    assert sum(segments.values()) == 4


def test_lifecycle_distribution_counts_members_by_stage(now: Any) -> None:
    chat = group()
    people = [member() for _ in range(3)]
    seat(chat, *people)
    Member.objects.filter(pk__in=[people[0].pk, people[1].pk]).update(stage="customer")
    Member.objects.filter(pk=people[2].pk).update(stage="fan")
    rollup_refresh()

    stages = {s.stage: s.members for s in lifecycle(Scope(chat.community_id, chat.pk), MONDAY)}

    assert stages["customer"] == 2
    assert stages["fan"] == 1
    assert stages["iron_fan"] == 0


def test_daily_members_follow_joins_and_leaves(now: Any) -> None:
    chat = group()
    people = [member() for _ in range(3)]
    seat(chat, *people, day=MONDAY)
    group_leave(group=chat, member=people[0], now=at(MONDAY + timedelta(days=2)))
    rollup_refresh()

    points = daily(Scope(chat.community_id, chat.pk), WEEK)

    assert [p.members for p in points] == [3, 3, 2, 2, 2, 2, 2]
    assert points[0].joins == 3
    assert points[2].leaves == 1
    assert kpis(Scope(chat.community_id, chat.pk), WEEK).members == 2


def test_refreshing_twice_counts_nothing_twice(now: Any) -> None:
    chat = group()
    a, b = member(), member()
    seat(chat, a, b)
    pay(a, chat.community, MONDAY + timedelta(days=1), "T1")
    act(ActivityKind.REPLY, a, chat, MONDAY + timedelta(days=1), target_member_id=b.pk)
    rollup_refresh()
    before = kpis(Scope(chat.community_id, chat.pk), WEEK)

    again = rollup_refresh()

    assert again.activities == 0
    assert kpis(Scope(chat.community_id, chat.pk), WEEK) == before


def test_a_run_stopped_after_folding_leaves_its_recompute_to_the_next(
    now: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = group()
    a, b, c = member(), member(), member()
    seat(chat, a, b, c)
    pay(a, chat.community, MONDAY + timedelta(days=1), "S1")
    act(ActivityKind.MESSAGE, a, chat, MONDAY + timedelta(days=6))

    def stop(*args: Any) -> int:
        raise RuntimeError("the worker was stopped")

    monkeypatch.setattr(rollups, "_scope_days", stop)
    with pytest.raises(RuntimeError):
        rollup_refresh()
    monkeypatch.undo()
    assert RollupState.objects.get().last_activity_id > 0  # the rows are folded ...
    stale = kpis(Scope(chat.community_id, chat.pk), WEEK)
    assert (stale.engaged_7d, stale.orders) == (0, 0)  # ... the days are not

    again = rollup_refresh()

    assert again.activities == 0
    assert again.scopes == 2  # the community and the group, left by the stopped run
    figures = kpis(Scope(chat.community_id, chat.pk), WEEK)
    assert (figures.members, figures.engaged_7d, figures.payers, figures.orders) == (3, 1, 1, 1)
    assert not RollupPending.objects.exists()


def test_a_payment_that_names_no_order_is_an_order_of_its_own(now: Any) -> None:
    chat = group()
    buyer = member()
    seat(chat, buyer)
    for n in range(2):
        activity_record(
            kind=ActivityKind.PAY,
            occurred_at=at(MONDAY + timedelta(days=1 + n)),
            member_id=buyer.pk,
            community_id=chat.community_id,
            amount=Money(3000, "CNY"),
            object_type="product",
            object_id="7",
        )
    rollup_refresh()

    figures = kpis(Scope(chat.community_id), WEEK)

    assert figures.orders == 2
    assert figures.repurchase_rate == 1.0
