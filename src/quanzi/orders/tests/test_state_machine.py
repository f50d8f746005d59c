"""Random sequences of shop work keep the books, the stock and every order consistent.

Members place orders, pay (on time, late, or with the wrong amount), cancel, let orders lapse;
the operator ships and delivers; members ask for partial or full refunds, with or without a
return, and the operator approves, rejects or receives the goods back. After every step: each
ledger transaction sums to zero and each balance equals its entries, every unit of stock is
somewhere, nothing is refunded beyond what was paid, and each order's status fits its money.
"""

from __future__ import annotations

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

from quanzi.catalog.models import Sku
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.orders.models import (
    OPEN_AFTER_SALE,
    AfterSale,
    AfterSaleStatus,
    Order,
    OrderStatus,
    PurchaseTally,
    StockHold,
)
from quanzi.orders.services.aftersales import (
    after_sale_approve,
    after_sale_mark_returned,
    after_sale_open,
    after_sale_reject,
    refundable_minor,
)
from quanzi.orders.services.checkout import LineIn, order_cancel, order_create, orders_expire
from quanzi.orders.services.fulfilment import (
    order_confirm_receipt,
    order_mark_delivered,
    order_ship,
)
from quanzi.orders.services.paying import order_pay_start
from quanzi.orders.tests.factories import (
    ADDRESS,
    books_balanced,
    buyer,
    community,
    goods,
    state,
    units,
    virtual,
)
from quanzi.payments.errors import AmountMismatch
from quanzi.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from quanzi.payments.services.payments import payment_confirm_manual

PAID_ON = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
picks = st.integers(min_value=0, max_value=10_000)


def having(*statuses: str) -> Any:
    """Only when the shop has an order in one of ``statuses``."""
    return precondition(
        lambda self: Order.objects.filter(community=self.home, status__in=statuses).exists()
    )


def having_cases(*statuses: str) -> Any:
    return precondition(
        lambda self: AfterSale.objects.filter(
            order__community=self.home, status__in=statuses
        ).exists()
    )


def after_commit() -> Any:
    """Run what the service leaves for after its commit (refunds), as production does."""
    return TestCase.captureOnCommitCallbacks(execute=True)


class CommerceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.patch = pytest.MonkeyPatch()
        self.now: datetime = clock.now()
        self.patch.setattr(clock, "now", lambda: self.now)

    def teardown(self) -> None:
        self.patch.undo()

    @initialize()
    def open_the_shop(self) -> None:
        # Each run shares the test's transaction: a fresh community keeps runs apart.
        self.home = community()
        self.skus = [
            goods(self.home, stock=6, price_minor=5_000, per_member_limit=4),
            goods(self.home, stock=3, price_minor=3_300),
        ]
        self.course = virtual(self.home, price_minor=9_900)
        self.initial = {sku.pk: units(sku) for sku in self.skus}
        self.members = [buyer() for _ in range(3)]

    # Helpers

    def orders(self) -> list[Order]:
        return list(
            Order.objects.filter(community=self.home).prefetch_related("lines").order_by("pk")
        )

    def pick_order(self, pick: int, *statuses: str) -> Order | None:
        found = [o for o in self.orders() if not statuses or o.status in statuses]
        return found[pick % len(found)] if found else None

    def cases(self, *statuses: str) -> list[AfterSale]:
        return list(
            AfterSale.objects.filter(order__community=self.home, status__in=statuses).order_by("pk")
        )

    def refused_without_change(self, call: Any) -> None:
        """A call that may be refused: then it changed nothing."""
        before = state()
        try:
            with after_commit():
                call()
        except ApplicationError:
            assert state() == before

    # Members

    @rule(
        who=st.integers(0, 2),
        sku=st.integers(0, 1),
        quantity=st.integers(1, 3),
        course=st.booleans(),
    )
    def place_an_order(self, who: int, sku: int, quantity: int, course: bool) -> None:
        chosen = self.skus[sku]
        lines = [LineIn(chosen.product_id, quantity, chosen.pk)]
        if course:
            lines.append(LineIn(self.course.pk))
        self.refused_without_change(
            lambda: order_create(
                member=self.members[who], community=self.home, lines=lines, address=ADDRESS
            )
        )

    @having(OrderStatus.PENDING)
    @rule(pick=picks)
    def start_paying(self, pick: int) -> None:
        placed = self.pick_order(pick, OrderStatus.PENDING)
        if placed is not None:
            self.refused_without_change(lambda: order_pay_start(order=placed))

    @precondition(
        lambda self: (
            Order.objects.filter(community=self.home, status=OrderStatus.PENDING).exists()
            or Payment.objects.filter(
                community_id=self.home.pk, status__in=[PaymentStatus.CREATED, PaymentStatus.CLOSED]
            ).exists()
        )
    )
    @rule(pick=picks, wrong=st.booleans())
    def a_transfer_arrives(self, pick: int, wrong: bool) -> None:
        """The operator confirms a transfer: for an order awaiting payment, or late, for one
        whose payment was started before it lapsed."""
        payment = self.pick_payment(pick)
        if payment is None:
            return
        if wrong:
            before = state()
            with pytest.raises(AmountMismatch):
                payment_confirm_manual(payment=payment, amount_minor=payment.amount_minor + 1)
            assert state() == before
            return
        with after_commit():
            payment_confirm_manual(payment=payment, amount_minor=payment.amount_minor)

    def pick_payment(self, pick: int) -> Payment | None:
        """An open (or closed, the order lapsed) payment; or one started for a pending order."""
        numbers = [o.number for o in self.orders()]
        payments: list[Payment | Order] = list(
            Payment.objects.filter(reference__in=numbers)
            .exclude(status=PaymentStatus.SUCCEEDED)
            .order_by("pk")
        )
        started = set(
            Payment.objects.filter(reference__in=numbers).values_list("reference", flat=True)
        )
        payments += [
            o for o in self.orders() if o.status == OrderStatus.PENDING and o.number not in started
        ]
        if not payments:
            return None
        chosen = payments[pick % len(payments)]
        if isinstance(chosen, Order):
            try:
                return order_pay_start(order=chosen)
            except ApplicationError:
                return None  # lapsed, the expiry job not yet run
        return chosen

    @having(OrderStatus.PENDING)
    @rule(pick=picks)
    def cancel(self, pick: int) -> None:
        placed = self.pick_order(pick, OrderStatus.PENDING)
        if placed is not None:
            self.refused_without_change(lambda: order_cancel(order=placed, reason="changed mind"))

    @rule(minutes=st.sampled_from([5, 31]))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        with after_commit():
            orders_expire()

    @having(*PAID_ON)
    @rule(
        pick=picks,
        percent=st.sampled_from([10, 50, 100]),
        ret=st.booleans(),
        units=st.sampled_from([0, 1, 3]),
        decide_now=st.booleans(),
    )
    def ask_for_money_back(
        self, pick: int, percent: int, ret: bool, units: int, decide_now: bool
    ) -> None:
        """A request for part or all of the money back, for the order or ``units`` of its first
        line, with or without a return; the operator may approve it at once."""
        placed = self.pick_order(pick, *PAID_ON)
        if placed is None:
            return
        amount = max(refundable_minor(placed) * percent // 100, 1)
        first = placed.lines.order_by("pk").first()
        extra: dict[str, Any] = {}
        if units and first is not None:
            extra = {"line_id": first.pk, "quantity": min(units, first.quantity)}
            amount = max(min(amount, first.total_minor - first.refunded_minor), 1)
        opened: list[AfterSale] = []
        self.refused_without_change(
            lambda: opened.append(
                after_sale_open(
                    order=placed,
                    kind="return_refund" if ret else "refund_only",
                    amount_minor=amount,
                    reason="not as described",
                    **extra,
                )
            )
        )
        if opened and decide_now:
            self.refused_without_change(lambda: after_sale_approve(case=opened[0]))

    @having(OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    @rule(pick=picks)
    def confirm_receipt(self, pick: int) -> None:
        placed = self.pick_order(pick, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
        if placed is not None:
            self.refused_without_change(lambda: order_confirm_receipt(order=placed))

    # The operator

    @having(OrderStatus.PAID)
    @rule(pick=picks)
    def ship(self, pick: int) -> None:
        placed = self.pick_order(pick, OrderStatus.PAID)
        if placed is not None:
            self.refused_without_change(
                lambda: order_ship(order=placed, carrier="顺丰速运", tracking_no="SF0001")
            )

    @having(OrderStatus.SHIPPED)
    @rule(pick=picks)
    def deliver(self, pick: int) -> None:
        placed = self.pick_order(pick, OrderStatus.SHIPPED)
        if placed is not None:
            self.refused_without_change(lambda: order_mark_delivered(order=placed))

    @having_cases(AfterSaleStatus.REQUESTED)
    @rule(pick=picks, restock=st.sampled_from([None, False]))
    def approve(self, pick: int, restock: bool | None) -> None:
        cases = self.cases(AfterSaleStatus.REQUESTED)
        if cases:
            case = cases[pick % len(cases)]
            self.refused_without_change(lambda: after_sale_approve(case=case, restock=restock))

    @having_cases(AfterSaleStatus.AWAITING_RETURN)
    @rule(pick=picks)
    def goods_come_back(self, pick: int) -> None:
        cases = self.cases(AfterSaleStatus.AWAITING_RETURN)
        if cases:
            case = cases[pick % len(cases)]
            self.refused_without_change(lambda: after_sale_mark_returned(case=case))

    @having_cases(AfterSaleStatus.REQUESTED, AfterSaleStatus.AWAITING_RETURN)
    @rule(pick=picks)
    def reject(self, pick: int) -> None:
        cases = self.cases(AfterSaleStatus.REQUESTED, AfterSaleStatus.AWAITING_RETURN)
        if cases:
            case = cases[pick % len(cases)]
            self.refused_without_change(lambda: after_sale_reject(case=case, note="no"))

    # What must always hold

    @invariant()
    def everything_adds_up(self) -> None:
        """Checked after every step; the shop's orders are read once for all the checks."""
        books_balanced()
        orders = self.orders()
        self.every_unit_is_somewhere(orders)
        self.nothing_is_refunded_beyond_what_was_paid(orders)
        self.each_status_fits_its_money(orders)
        self.per_member_allowances_count_the_units_held(orders)

    def every_unit_is_somewhere(self, orders: list[Order]) -> None:
        for sku in self.skus:
            fresh = Sku.objects.get(pk=sku.pk)
            assert units(sku) == self.initial[sku.pk]
            held = sum(
                line.quantity
                for o in orders
                if o.stock == StockHold.RESERVED
                for line in o.lines.all()
                if line.sku_id == sku.pk
            )
            assert fresh.reserved == held

    def nothing_is_refunded_beyond_what_was_paid(self, orders: list[Order]) -> None:
        cases = list(
            AfterSale.objects.filter(order__community=self.home, extra_payment=False).values_list(
                "order_id", "status", "amount_minor"
            )
        )
        for placed in orders:
            assert 0 <= placed.refunded_minor <= placed.total_minor
            mine = [(status, amount) for pk, status, amount in cases if pk == placed.pk]
            asked = sum(a for st_, a in mine if st_ in (*OPEN_AFTER_SALE, "refunded"))
            assert asked <= placed.total_minor
            assert placed.refunded_minor == sum(a for st_, a in mine if st_ == "refunded")
            for line in placed.lines.all():
                assert 0 <= line.refunded_minor <= line.total_minor
                assert 0 <= line.restocked <= line.quantity
        taken = dict(
            Refund.objects.filter(
                payment__community_id=self.home.pk,
                status__in=[RefundStatus.SUCCEEDED, RefundStatus.PROCESSING],
            )
            .values("payment_id")
            .annotate(s=Sum("amount_minor"))
            .values_list("payment_id", "s")
        )
        for pk, amount, refunded in Payment.objects.filter(community_id=self.home.pk).values_list(
            "pk", "amount_minor", "refunded_minor"
        ):
            assert 0 <= refunded <= amount
            assert refunded == taken.get(pk, 0)

    def each_status_fits_its_money(self, orders: list[Order]) -> None:
        paid = set(
            Payment.objects.filter(
                community_id=self.home.pk, status=PaymentStatus.SUCCEEDED
            ).values_list("reference", flat=True)
        )
        shipped = set(
            Order.objects.filter(community=self.home, shipment__isnull=False).values_list(
                "pk", flat=True
            )
        )
        for placed in orders:
            if placed.status == OrderStatus.PENDING:
                assert placed.paid_at is None
                assert placed.number not in paid
                assert placed.stock in (StockHold.RESERVED, StockHold.NONE)
            elif placed.status == OrderStatus.CANCELLED:
                # A late payment is refunded at once (transfers), which makes it REFUNDED
                assert placed.paid_at is None
                assert placed.number not in paid
                assert placed.stock in (StockHold.RELEASED, StockHold.NONE)
            elif placed.status == OrderStatus.REFUNDED:
                assert placed.paid_at is not None
                assert placed.number in paid
                assert placed.refunded_minor == placed.total_minor
            else:
                assert placed.status in PAID_ON
                assert placed.paid_at is not None
                assert placed.number in paid
                assert placed.refunded_minor < placed.total_minor
                assert placed.stock == StockHold.SOLD
                assert placed.cancelled_at is None
            if placed.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                assert placed.shipped_at is not None
                assert placed.pk in shipped

    def per_member_allowances_count_the_units_held(self, orders: list[Order]) -> None:
        limited = self.skus[0]
        tallies = dict(
            PurchaseTally.objects.filter(scope=f"product:{limited.product_id}").values_list(
                "member_id", "quantity"
            )
        )
        for who in self.members:
            held = sum(
                line.quantity
                for o in orders
                if o.member_id == who.pk and o.stock in (StockHold.RESERVED, StockHold.SOLD)
                for line in o.lines.all()
                if line.product_id == limited.product_id
            )
            assert tallies.get(who.pk, 0) == held
            assert held <= 4


@pytest.mark.django_db
def test_random_shop_work_keeps_books_stock_and_orders_consistent() -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        CommerceMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=35,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
            derandomize=True,
        ),
    )
    # The machine did sell and refund something (a run of refusals would prove little)
    assert Order.objects.filter(paid_at__isnull=False).exists()
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).exists()
