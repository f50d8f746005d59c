"""Random sequences of shared sales, refunds, receipts, time passing, maturation and payouts
keep the commission books right.

Friends buy through sharers' links (one to three units; sometimes a sharer buys through their
own link, or the one who brought them does); orders are refunded in part or in full, before or
after the return window closes; goods arrive; time passes; the maturation job runs; payout
batches are made, paid or cancelled. The second level is on in some runs. After every step:
each ledger transaction sums to zero and each balance equals its entries; nothing is paid
beyond two levels, nor to the buyer; no commission is above its rule's share of what is still
paid for its line, nor below zero; and each person's pending, payable and payout balances are
exactly what their commissions and payouts say.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.test import TestCase
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.core.models import LedgerAccount
from quanzi.distribution.models import (
    Commission,
    CommissionKind,
    CommissionRule,
    CommissionStatus,
    MemberReferral,
    PayoutBatch,
    PayoutItem,
    PayoutStatus,
)
from quanzi.distribution.services.commissions import commissions_mature_due
from quanzi.distribution.services.payouts import (
    PayoutRequest,
    payout_batch_cancel,
    payout_batch_create,
    payout_batch_mark_paid,
)
from quanzi.distribution.services.rules import commission_rule_create
from quanzi.distribution.tests.factories import approved
from quanzi.distribution.tests.kit import books_balanced, terms, visit
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.models import Order, OrderLine, OrderStatus
from quanzi.orders.services.aftersales import (
    after_sale_approve,
    after_sale_open,
    refundable_minor,
)
from quanzi.orders.services.fulfilment import order_confirm_receipt, order_ship
from quanzi.orders.tests.factories import community, goods, order, pay

picks = st.integers(min_value=0, max_value=10_000)
PAID_ON = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)


def after_commit() -> Any:
    """Run what the service leaves for after its commit (refunds), as production does."""
    return TestCase.captureOnCommitCallbacks(execute=True)


class CommissionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.patch = pytest.MonkeyPatch()
        self.now: datetime = clock.now()
        self.patch.setattr(clock, "now", lambda: self.now)

    def teardown(self) -> None:
        self.patch.undo()

    @initialize(second_level=st.booleans(), bp=st.sampled_from([1, 333, 1_000, 10_000]))
    def open_the_shop(self, second_level: bool, bp: int) -> None:
        # Each run shares the test's transaction: a fresh community keeps runs apart.
        self.home = community()
        self.second_level = second_level
        if second_level:
            terms(self.home, second_level=True)
        self.skus = [
            goods(self.home, stock=500, price_minor=3_333),
            goods(self.home, stock=500, price_minor=10_000, category="海鲜"),
        ]
        # A brought B, B brought C: a chain of three, all approved distributors
        self.a, self.b, self.c = member(), member(), member()
        for who in (self.a, self.b, self.c):
            approved(self.home, who)
        visit(self.home, self.a, self.b)
        visit(self.home, self.b, self.c)
        self.friends = [member() for _ in range(3)]
        commission_rule_create(community=self.home, kind="percent", percent_bp=bp)
        commission_rule_create(
            community=self.home, kind="fixed", fixed_minor=1_500, category="海鲜"
        )
        commission_rule_create(community=self.home, kind="percent", percent_bp=300, level=2)
        commission_rule_create(
            community=self.home, kind="fixed", fixed_minor=20_000, level=2, category="海鲜"
        )

    # Helpers

    def people(self) -> list[Member]:
        return [self.a, self.b, self.c]

    def orders(self, *statuses: str) -> list[Order]:
        found = Order.objects.filter(community=self.home).order_by("pk")
        return list(found.filter(status__in=statuses) if statuses else found)

    def pick(self, pick: int, *statuses: str) -> Order | None:
        found = self.orders(*statuses)
        return found[pick % len(found)] if found else None

    def refused_or_done(self, call: Any) -> None:
        """A call that may be refused: then nothing was posted and no batch made."""
        before = self.snapshot()
        try:
            with after_commit():
                call()
        except ApplicationError:
            assert self.snapshot() == before

    def snapshot(self) -> tuple[Any, ...]:
        return (
            list(LedgerAccount.objects.order_by("pk").values_list("pk", "balance")),
            PayoutBatch.objects.count(),
            PayoutItem.objects.count(),
            list(Commission.objects.order_by("pk").values_list("pk", "status", "reversed_minor")),
        )

    # Sales and refunds

    @rule(
        sharer=st.integers(0, 2),
        buyer=st.integers(0, 4),
        sku=st.integers(0, 1),
        quantity=st.integers(1, 3),
        arrives=st.booleans(),
    )
    def a_shared_order_is_paid(
        self, sharer: int, buyer: int, sku: int, quantity: int, arrives: bool
    ) -> None:
        """Buyers 0-2 are friends; 3 is the sharer themself; 4 is whoever brought them. The
        goods may arrive at once (same-day delivery)."""
        who = self.people()[sharer]
        if buyer < 3:
            customer = self.friends[buyer]
        elif buyer == 3:
            customer = who
        else:
            customer = self.people()[max(sharer - 1, 0)]
        chosen = self.skus[sku]
        visit(self.home, who, customer, product=chosen.product)
        with after_commit():
            placed = order(chosen, customer, quantity)
            pay(placed)
        if arrives:
            order_confirm_receipt(order=order_ship(order=placed, carrier="顺丰", tracking_no="SF1"))

    @precondition(
        lambda self: Order.objects.filter(community=self.home, status__in=PAID_ON).exists()
    )
    @rule(pick=picks, percent=st.sampled_from([1, 30, 50, 99, 100]), matured=st.booleans())
    def money_is_given_back(self, pick: int, percent: int, matured: bool) -> None:
        """Part of an order's first line, or (100) all that is left of the order, is refunded;
        ``matured``: preferably an order whose commission has matured (a clawback)."""
        placed = None
        if matured:
            ids = Commission.objects.filter(
                community=self.home, status=CommissionStatus.MATURED, order__status__in=PAID_ON
            ).values_list("order_id", flat=True)
            found = list(Order.objects.filter(pk__in=ids).order_by("pk"))
            placed = found[pick % len(found)] if found else None
        placed = placed or self.pick(pick, *PAID_ON)
        if placed is None:
            return
        if percent == 100:
            amount, line_id = refundable_minor(placed), None
        else:
            line = placed.lines.order_by("pk").first()
            assert line is not None
            amount = max((line.total_minor - line.refunded_minor) * percent // 100, 1)
            line_id = line.pk
        if amount <= 0:
            return
        self.refused_or_done(
            lambda: after_sale_approve(
                case=after_sale_open(
                    order=placed,
                    kind="refund_only",
                    amount_minor=amount,
                    reason="不要了",
                    line_id=line_id,
                )
            )
        )

    @precondition(
        lambda self: Order.objects.filter(
            community=self.home, status__in=[OrderStatus.PAID, OrderStatus.SHIPPED]
        ).exists()
    )
    @rule(pick=picks)
    def goods_are_received(self, pick: int) -> None:
        placed = self.pick(pick, OrderStatus.PAID, OrderStatus.SHIPPED)
        if placed is None:
            return
        if placed.status == OrderStatus.PAID:
            placed = order_ship(order=placed, carrier="顺丰", tracking_no="SF1")
        order_confirm_receipt(order=placed)

    # Time and the job

    @rule(
        days=st.sampled_from([0, 1, 3, 7, 7]),
        seconds=st.sampled_from([-1, 0, 1]),
        job=st.booleans(),
    )
    def time_passes(self, days: int, seconds: int, job: bool) -> None:
        """Some days (often a return window's length, give or take a second) pass; the job
        may run at their end."""
        self.now += max(timedelta(days=days, seconds=seconds), timedelta(seconds=1))
        if job:
            commissions_mature_due()

    # Payouts

    def someone_is_payable(self) -> bool:
        return LedgerAccount.objects.filter(
            code__startswith=f"commission:{self.home.pk}:member:",
            code__endswith=":payable",
            balance__gt=0,
        ).exists()

    @precondition(lambda self: self.someone_is_payable())
    @rule(who=st.integers(-1, 2), amount=st.sampled_from([1, 100, 1_000, 100_000]))
    def a_payout_batch_is_made(self, who: int, amount: int) -> None:
        """Of everyone's payable balance (``who`` -1), or of one amount for one person."""
        if who < 0:
            self.refused_or_done(lambda: payout_batch_create(community=self.home))
            return
        member_id = self.people()[who].pk
        self.refused_or_done(
            lambda: payout_batch_create(
                community=self.home, items=[PayoutRequest(member_id, amount)]
            )
        )

    @precondition(
        lambda self: PayoutBatch.objects.filter(
            community=self.home, status=PayoutStatus.OPEN
        ).exists()
    )
    @rule(pick=picks, cancel=st.booleans())
    def a_batch_is_paid_or_cancelled(self, pick: int, cancel: bool) -> None:
        batches = list(
            PayoutBatch.objects.filter(community=self.home, status=PayoutStatus.OPEN).order_by("pk")
        )
        if not batches:
            return
        batch = batches[pick % len(batches)]
        if cancel:
            payout_batch_cancel(batch=batch, reason="退回重做")
        else:
            payout_batch_mark_paid(batch=batch)

    # What must always hold

    @invariant()
    def the_books_add_up(self) -> None:
        books_balanced()

    @invariant()
    def never_beyond_two_levels_nor_to_the_buyer(self) -> None:
        commissions = list(Commission.objects.filter(community=self.home))
        referrer = dict(
            MemberReferral.objects.filter(community=self.home).values_list(
                "member_id", "referrer_id"
            )
        )
        level_one = {c.order_id: c.beneficiary_id for c in commissions if c.level == 1}
        for c in commissions:
            assert c.level in (1, 2)
            assert c.beneficiary_id != c.buyer_id
            if c.level == 2:
                assert self.second_level
                # The one who brought the direct referrer, never anyone further up
                assert c.beneficiary_id == referrer[level_one[c.order_id]]
        # A is at the top of the chain: nobody ever pays A for C's sales
        c_orders = {c.order_id for c in commissions if c.beneficiary_id == self.c.pk}
        assert not any(
            c.beneficiary_id == self.a.pk and c.order_id in c_orders for c in commissions
        )

    @invariant()
    def never_above_the_configured_share_of_what_is_still_paid(self) -> None:
        rules = {r.pk: r for r in CommissionRule.objects.filter(community=self.home)}
        lines = {line.pk: line for line in OrderLine.objects.filter(order__community=self.home)}
        for c in Commission.objects.filter(community=self.home):
            rule_ = rules[c.rule_id]
            line = lines[c.line_id]
            still_paid = line.total_minor - line.refunded_minor
            net = c.amount_minor - c.reversed_minor - c.clawed_minor
            assert net >= 0
            if rule_.kind == CommissionKind.PERCENT:
                assert net * 10_000 <= rule_.percent_bp * still_paid
            else:
                cap = min(rule_.fixed_minor * line.quantity, line.total_minor)
                assert net * line.total_minor <= cap * still_paid

    @invariant()
    def balances_are_what_commissions_and_payouts_say(self) -> None:
        want: dict[str, int] = defaultdict(int)
        for c in Commission.objects.filter(community=self.home):
            prefix = f"commission:{self.home.pk}:member:{c.beneficiary_id}"
            if c.status == CommissionStatus.PENDING:
                want[f"{prefix}:pending"] += c.net_minor
            elif c.status == CommissionStatus.MATURED:
                want[f"{prefix}:payable"] += c.net_minor
            else:
                assert c.net_minor == 0
        items = PayoutItem.objects.filter(batch__community=self.home).values_list(
            "beneficiary_id", "amount_minor", "batch__status"
        )
        for beneficiary, amount, status in items:
            prefix = f"commission:{self.home.pk}:member:{beneficiary}"
            if status in (PayoutStatus.OPEN, PayoutStatus.PAID):
                want[f"{prefix}:payable"] -= amount
            if status == PayoutStatus.OPEN:
                want[f"{prefix}:payout"] += amount
        have = dict(
            LedgerAccount.objects.filter(
                code__startswith=f"commission:{self.home.pk}:member:"
            ).values_list("code", "balance")
        )
        for code in set(want) | set(have):
            assert have.get(code, 0) == want.get(code, 0), code
            if code.endswith((":pending", ":payout")):
                assert have.get(code, 0) >= 0, code
        paid = PayoutItem.objects.filter(
            batch__community=self.home, batch__status=PayoutStatus.PAID
        ).aggregate(s=Sum("amount_minor"))["s"]
        out = LedgerAccount.objects.filter(code=f"commission:{self.home.pk}:paid").first()
        assert (out.balance if out else 0) == (paid or 0)


@pytest.mark.django_db
def test_random_sales_refunds_and_payouts_keep_the_commission_books_right() -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        CommissionMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=35,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
            derandomize=True,
        ),
    )
    # The machine did earn, mature, claw back and pay something (refusals alone prove little)
    assert Commission.objects.filter(level=2).exists()
    assert Commission.objects.filter(status=CommissionStatus.MATURED).exists()
    assert Commission.objects.filter(reversed_minor__gt=0).exists()
    assert Commission.objects.filter(clawed_minor__gt=0).exists()
    assert PayoutBatch.objects.filter(status=PayoutStatus.PAID).exists()
