"""Random sequences of membership operations and jobs keep the membership rules.

Members start, pay (sometimes a notification a little late), see their payment applied again,
pay the wrong amount, cancel; time passes; the reminder, expiry and clean-up jobs run in any
order. Whatever happens: status moves only along ``TRANSITIONS``, an end never moves earlier,
one live membership per member and plan, and a paid group seats only members whose membership
is live or within its grace period.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
from django.db.models import Count, Max
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from quanzi.communities.models import (
    GroupMembership,
    Membership,
    MembershipStatus,
    MembershipTerm,
    SeatStatus,
    Tier,
)
from quanzi.communities.services.errors import CommunityError, TransitionRefused
from quanzi.communities.services.memberships import (
    TRANSITIONS,
    membership_cancel,
    membership_pay,
    membership_start,
    memberships_cleanup,
    memberships_expire,
    memberships_remind,
)
from quanzi.communities.tests.factories import community, group, member, plan, state
from quanzi.core.models import Activity, ActivityKind

S = MembershipStatus
LIVE = [S.ACTIVE, S.EXPIRING]
TERM = timedelta(days=30)
GRACE = timedelta(days=3)
PEOPLE = 2
_refs = itertools.count(1)
who = st.integers(min_value=0, max_value=PEOPLE - 1)


class MembershipMachine(RuleBasedStateMachine):
    clock: ClassVar[Any] = None  # the frozen clock; the test sets it

    @initialize()
    def open_a_circle(self) -> None:
        # Runs share one test transaction and one clock that only moves forward; a fresh
        # community, plan and members keep each run's invariants to its own rows.
        self.clock.advance(timedelta(days=1))
        home = community()
        self.plan = plan(home, duration_days=30, grace_days=3, reminder_days=7)
        # One seat for two people, so seats also wait and get promoted.
        self.group = group(home, tier=Tier.JUNIOR, capacity=1, required_plan=self.plan)
        self.plan.groups.add(self.group)
        self.people = [member() for _ in range(PEOPLE)]
        self.seen: dict[int, tuple[str, datetime | None]] = {}
        self.applied: list[tuple[int, str, int]] = []

    def _current(self, index: int) -> Membership | None:
        return (
            Membership.objects.filter(member=self.people[index], plan=self.plan)
            .exclude(status=S.CANCELLED)
            .order_by("-created_at", "-pk")
            .first()
        )

    @rule(index=who)
    def start(self, index: int) -> None:
        membership = membership_start(member=self.people[index], plan=self.plan, now=self.clock())
        assert membership.status != S.CANCELLED

    @rule(index=who, late_hours=st.integers(min_value=0, max_value=2))
    def pay(self, index: int, late_hours: int) -> None:
        membership = self._current(index) or membership_start(
            member=self.people[index], plan=self.plan, now=self.clock()
        )
        old_end = membership.ends_at
        paid_at = self.clock() - timedelta(hours=late_hours)
        ref = f"machine-{next(_refs)}"
        term = membership_pay(
            membership=membership,
            amount_minor=self.plan.price_minor,
            payment_ref=ref,
            paid_at=paid_at,
        )
        # Paid before the end: continues from it; paid after: starts at the payment.
        start = max(paid_at, old_end) if old_end is not None else paid_at
        membership.refresh_from_db()
        assert (term.starts_at, term.ends_at) == (start, start + TERM)
        assert (membership.status, membership.ends_at) == (S.ACTIVE, start + TERM)
        self.applied.append((membership.pk, ref, term.pk))

    @rule(index=who, again=st.booleans())
    def pay_the_wrong_amount_or_a_payment_already_applied(self, index: int, again: bool) -> None:
        membership = self._current(index)
        if membership is None:
            return
        before = state()
        if again and self.applied:
            # A payment notification delivered twice grants one term.
            membership_id, ref, term_id = self.applied[-1]
            term = membership_pay(
                membership=Membership.objects.get(pk=membership_id),
                amount_minor=self.plan.price_minor,
                payment_ref=ref,
            )
            assert term.pk == term_id
        else:
            with pytest.raises(CommunityError):
                membership_pay(
                    membership=membership,
                    amount_minor=self.plan.price_minor - 1,
                    payment_ref=f"machine-{next(_refs)}",
                )
        assert state() == before

    @rule(index=who)
    def cancel(self, index: int) -> None:
        membership = self._current(index)
        if membership is None:
            return
        if membership.status == S.PENDING:
            assert membership_cancel(membership=membership).status == S.CANCELLED
            return
        before = state()
        with pytest.raises(TransitionRefused):
            membership_cancel(membership=membership)
        assert state() == before

    @rule(days=st.integers(min_value=0, max_value=40), hours=st.integers(min_value=0, max_value=23))
    def time_passes(self, days: int, hours: int) -> None:
        self.clock.advance(timedelta(days=days, hours=hours))

    @rule(jobs=st.lists(st.sampled_from(["remind", "expire", "clean_up"]), min_size=1))
    def jobs_run(self, jobs: list[str]) -> None:
        now = self.clock()
        for job in jobs:
            if job == "remind":
                memberships_remind(now=now)
            elif job == "expire":
                memberships_expire(now=now)
            else:
                memberships_cleanup(now=now)
                self._seats_only_for_live_or_grace(now)

    def _seats_only_for_live_or_grace(self, now: datetime) -> None:
        """Right after the clean-up, a seat in the paid group means a live membership, or an
        expired one still in its grace period."""
        for seat in GroupMembership.objects.filter(group=self.group, status=SeatStatus.ACTIVE):
            index = next(i for i, p in enumerate(self.people) if p.pk == seat.member_id)
            membership = self._current(index)
            assert membership is not None
            assert membership.ends_at is not None
            assert membership.status in LIVE or membership.ends_at + GRACE > now, (
                membership.status,
                membership.ends_at,
                now,
            )

    @invariant()
    def status_moves_only_along_the_transitions_and_ends_never_move_earlier(self) -> None:
        mine = list(Membership.objects.filter(plan=self.plan))
        for membership in mine:
            before = self.seen.get(membership.pk)
            if before is not None:
                status, end = before
                assert membership.status == status or membership.status in TRANSITIONS[status]
                if end is not None:
                    assert membership.ends_at is not None
                    assert membership.ends_at >= end
            self.seen[membership.pk] = (membership.status, membership.ends_at)
        for data in Activity.objects.filter(
            kind=ActivityKind.MEMBERSHIP, object_id__in=[str(m.pk) for m in mine]
        ).values_list("data", flat=True):
            if data.get("from"):
                assert data["to"] in TRANSITIONS[data["from"]], data

    @invariant()
    def one_live_membership_per_member_and_plan(self) -> None:
        counts = (
            Membership.objects.filter(plan=self.plan, status__in=[S.PENDING, *LIVE])
            .values("member")
            .annotate(n=Count("pk"))
            .values_list("n", flat=True)
        )
        assert all(n == 1 for n in counts)

    @invariant()
    def a_membership_ends_with_its_last_term(self) -> None:
        for membership in Membership.objects.filter(plan=self.plan).annotate(
            term_count=Count("terms"), last_end=Max("terms__ends_at")
        ):
            if membership.status in (S.PENDING, S.CANCELLED):
                assert membership.term_count == 0
            else:
                assert membership.term_count >= 1
                assert membership.ends_at == membership.last_end

    @invariant()
    def a_live_membership_holds_a_seat_or_a_place_in_the_queue(self) -> None:
        for membership in Membership.objects.filter(plan=self.plan, status__in=LIVE):
            assert GroupMembership.objects.filter(
                group=self.group,
                member_id=membership.member_id,
                status__in=[SeatStatus.ACTIVE, SeatStatus.WAITING],
            ).exists()
        seated = GroupMembership.objects.filter(group=self.group, status=SeatStatus.ACTIVE)
        assert seated.count() <= self.group.capacity
        assert MembershipTerm.objects.filter(membership__plan=self.plan).count() == len(
            {ref for _, ref, _ in self.applied}
        )


@pytest.mark.django_db
def test_random_membership_histories_keep_the_rules(frozen_clock: Any) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    MembershipMachine.clock = frozen_clock
    try:
        run_state_machine_as_test(
            MembershipMachine,
            settings=settings(
                max_examples=25,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
                database=None,
            ),
        )
    finally:
        MembershipMachine.clock = None
    # The machine paid for something at all (a run of refusals would prove little).
    assert MembershipTerm.objects.count() > 0
