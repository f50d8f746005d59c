"""After-sales: refund only or return and refund, full or partial; decided once, refunded
once under a stable number, never more than was paid; restocked by what happened to the goods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from quanzi.catalog.models import Sku
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity, ActivityKind, LedgerAccount, LedgerEntry
from quanzi.orders.models import AfterSale, Order, OrderLine, OrderStatus
from quanzi.orders.services.aftersales import (
    after_sale_add_evidence,
    after_sale_approve,
    after_sale_mark_returned,
    after_sale_open,
    after_sale_refund_execute,
    after_sale_reject,
    after_sale_set_return_tracking,
    after_sale_withdraw,
    after_sales_refund_pending,
    refundable_minor,
)
from quanzi.orders.services.checkout import LineIn, order_create
from quanzi.orders.services.errors import OrderError, WrongState
from quanzi.orders.services.fulfilment import order_mark_delivered, order_ship
from quanzi.orders.tests.factories import (
    books_balanced,
    buyer,
    community,
    goods,
    order,
    paid_order,
    pay,
    state,
    units,
    virtual,
)
from quanzi.payments.models import Payment, Refund, RefundStatus

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


@pytest.fixture
def run_on_commit(
    django_capture_on_commit_callbacks: Capture,
) -> Callable[[Callable[[], Any]], Any]:
    """Call a service and run what it left for after the commit (the refund), as in production."""

    def run(call: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def delivered(sku: Sku, quantity: int = 1) -> Order:
    placed = paid_order(sku, quantity=quantity)
    order_ship(order=placed, carrier="顺丰速运", tracking_no="SF1234567890")
    order_mark_delivered(order=placed)
    placed.refresh_from_db()
    return placed


def refusal(call: Callable[[], Any], error: type[ApplicationError]) -> ApplicationError:
    before = state()
    with pytest.raises(error) as raised:
        call()
    assert state() == before
    return raised.value


def refund_activities(placed: Order) -> list[tuple[int | None, str]]:
    return list(
        Activity.objects.filter(kind=ActivityKind.REFUND, object_id=placed.number)
        .order_by("pk")
        .values_list("amount_minor", "data__refund_no")
    )


# Refund only


def test_a_partial_refund_only_after_delivery_is_refunded_without_restocking(
    run_on_commit: Any,
) -> None:
    # Given: 2 units delivered (100.00 + 15.00 shipping)
    sku = goods(stock=5, price_minor=5_000)
    placed = delivered(sku, 2)
    assert placed.total_minor == 11_500

    # When: the member asks 30.00 back for a spoiled fish, and the operator agrees
    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=3_000, reason="one fish spoiled"
    )
    assert (case.status, case.refund_no, case.restock) == (
        "requested",
        f"{placed.number}R1",
        False,
    )
    assert refundable_minor(placed) == 8_500
    approved = run_on_commit(lambda: after_sale_approve(case=case, actor_id=7, note="ok"))

    # Then: refunded under R1; the order is still delivered, 30.00 the poorer
    case.refresh_from_db()
    placed.refresh_from_db()
    assert approved.status == "refunding"
    assert (case.status, case.decided_by_id, case.decision_note) == ("refunded", 7, "ok")
    refund = Refund.objects.get()
    assert (refund.out_refund_no, refund.amount_minor, refund.status) == (
        f"{placed.number}R1",
        3_000,
        RefundStatus.SUCCEEDED,
    )
    assert (placed.status, placed.refunded_minor) == (OrderStatus.DELIVERED, 3_000)
    assert placed.lines.get().refunded_minor == 3_000
    assert Payment.objects.get(reference=placed.number).refunded_minor == 3_000
    # Not restocked: the goods were delivered and stay with the member
    assert placed.lines.get().restocked == 0
    assert Sku.objects.get(pk=sku.pk).stock == 3
    assert units(sku) == 5
    # REFUND activity with the amount, for commission and crystals to claw back from
    assert refund_activities(placed) == [(3_000, f"{placed.number}R1")]
    books_balanced()


def test_the_ledger_reverses_a_full_refund() -> None:
    # Given
    sku = goods(stock=5)
    placed = paid_order(sku)
    home = placed.community_id
    sales = LedgerAccount.objects.get(code=f"community:{home}:sales:CNY")
    clearing = LedgerAccount.objects.get(code="payments:manual:clearing:CNY")
    clearing_before = clearing.balance

    # When
    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=placed.total_minor, reason="not needed"
    )
    refund = _approve_now(case)

    # Then
    sales.refresh_from_db()
    clearing.refresh_from_db()
    assert sales.balance == 0
    assert clearing.balance == clearing_before - placed.total_minor
    assert sorted(
        LedgerEntry.objects.filter(
            transaction__object_type="refund", transaction__object_id=str(refund.pk)
        ).values_list("account__code", "amount")
    ) == sorted(
        [
            (f"community:{home}:sales:CNY", placed.total_minor),
            ("payments:manual:clearing:CNY", -placed.total_minor),
        ]
    )
    books_balanced()


def _approve_now(case: AfterSale) -> Refund:
    after_sale_approve(case=case)
    refund = after_sale_refund_execute(case=case)
    assert refund is not None
    return refund


def test_the_order_is_refunded_only_once_the_whole_total_is_back(run_on_commit: Any) -> None:
    # Given
    sku = goods(stock=5, price_minor=5_000)
    placed = delivered(sku, 2)

    # When: two partial refunds that add up to the total
    first = after_sale_open(order=placed, kind="refund_only", amount_minor=5_000, reason="a")
    run_on_commit(lambda: after_sale_approve(case=first))
    placed.refresh_from_db()
    assert (placed.status, placed.refunded_minor) == (OrderStatus.DELIVERED, 5_000)
    second = after_sale_open(order=placed, kind="refund_only", amount_minor=6_500, reason="b")
    run_on_commit(lambda: after_sale_approve(case=second))

    # Then
    placed.refresh_from_db()
    assert (placed.status, placed.refunded_minor) == (OrderStatus.REFUNDED, 11_500)
    assert [c.refund_no for c in AfterSale.objects.order_by("pk")] == [
        f"{placed.number}R1",
        f"{placed.number}R2",
    ]
    assert refund_activities(placed) == [
        (5_000, f"{placed.number}R1"),
        (6_500, f"{placed.number}R2"),
    ]
    # And a refunded order takes no more requests
    refusal(
        lambda: after_sale_open(order=placed, kind="refund_only", amount_minor=1, reason="c"),
        WrongState,
    )


# Return and refund


def test_a_return_is_refunded_once_the_goods_are_back_and_restocked(run_on_commit: Any) -> None:
    # Given: 2 units delivered
    sku = goods(stock=5)
    placed = delivered(sku, 2)

    # When: the member asks to return everything; the operator agrees
    case = after_sale_open(
        order=placed, kind="return_refund", amount_minor=placed.total_minor, reason="too small"
    )
    approved = after_sale_approve(case=case, actor_id=7)

    # Then: nothing is refunded until the goods are back
    assert approved.status == "awaiting_return"
    assert not Refund.objects.exists()
    placed.refresh_from_db()
    assert placed.refunded_minor == 0

    # When: the member sends them back, and they arrive
    after_sale_set_return_tracking(case=case, carrier="中通快递", tracking_no="ZT778899")
    run_on_commit(lambda: after_sale_mark_returned(case=case, actor_id=7))

    # Then: refunded in full and both units back on the shelf
    case.refresh_from_db()
    placed.refresh_from_db()
    assert (case.status, case.return_carrier, case.return_tracking_no) == (
        "refunded",
        "中通快递",
        "ZT778899",
    )
    assert (placed.status, placed.refunded_minor) == (OrderStatus.REFUNDED, placed.total_minor)
    assert placed.lines.get().restocked == 2
    assert Sku.objects.get(pk=sku.pk).stock == 5
    assert units(sku) == 5
    books_balanced()


def test_a_partial_return_of_one_line_restocks_the_units_returned(run_on_commit: Any) -> None:
    # Given: 3 units delivered
    sku = goods(stock=5, price_minor=5_000)
    placed = delivered(sku, 3)
    line = placed.lines.get()

    # When: one unit comes back
    case = after_sale_open(
        order=placed,
        kind="return_refund",
        amount_minor=5_000,
        reason="one was too small",
        line_id=line.pk,
        quantity=1,
    )
    after_sale_approve(case=case)
    run_on_commit(lambda: after_sale_mark_returned(case=case))

    # Then
    line.refresh_from_db()
    placed.refresh_from_db()
    assert (line.refunded_minor, line.restocked) == (5_000, 1)
    assert (placed.status, placed.refunded_minor) == (OrderStatus.DELIVERED, 5_000)
    assert Sku.objects.get(pk=sku.pk).stock == 3
    assert units(sku) == 5


def test_nothing_unshipped_or_virtual_is_returned() -> None:
    paid = paid_order(goods())
    exc = refusal(
        lambda: after_sale_open(order=paid, kind="return_refund", amount_minor=100, reason="x"),
        OrderError,
    )
    assert list(exc.fields) == ["kind"]

    course = virtual()
    placed = order_create(member=buyer(), community=course.community, lines=[LineIn(course.pk)])
    pay(placed)
    placed.refresh_from_db()
    exc = refusal(
        lambda: after_sale_open(order=placed, kind="return_refund", amount_minor=100, reason="x"),
        OrderError,
    )
    assert list(exc.fields) == ["kind"]


def test_a_return_can_be_refused_while_it_is_awaited_and_refunds_nothing() -> None:
    placed = delivered(goods())
    case = after_sale_open(order=placed, kind="return_refund", amount_minor=1_000, reason="x")
    after_sale_approve(case=case)
    rejected = after_sale_reject(case=case, note="Nothing came back within 7 days")
    assert rejected.status == "rejected"
    assert not Refund.objects.exists()


# Decisions


def test_a_rejection_needs_a_note_and_frees_the_amount_again() -> None:
    # Given
    placed = delivered(goods())
    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=placed.total_minor, reason="x"
    )
    assert refundable_minor(placed) == 0

    # When / Then: no note, refused
    for blank in ["", "   ", "x" * 501]:

        def reject(blank: str = blank) -> AfterSale:
            return after_sale_reject(case=case, note=blank)

        exc = refusal(reject, OrderError)
        assert (exc.code, list(exc.fields)) == ("order_invalid", ["note"])

    # When: with a note
    rejected = after_sale_reject(
        case=case, note="Logistics shows it was signed for intact", actor_id=7
    )

    # Then
    assert (rejected.status, rejected.decision_note, rejected.decided_by_id) == (
        "rejected",
        "Logistics shows it was signed for intact",
        7,
    )
    placed.refresh_from_db()
    assert refundable_minor(placed) == placed.total_minor
    assert not Refund.objects.exists()
    # A decided case takes no other decision
    refusal(lambda: after_sale_approve(case=case), WrongState)


def test_approving_twice_refunds_once(run_on_commit: Any) -> None:
    placed = delivered(goods())
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="x")
    run_on_commit(lambda: after_sale_approve(case=case))
    exc = refusal(lambda: after_sale_approve(case=case), WrongState)
    assert (exc.code, exc.status) == ("wrong_state", 409)
    assert Refund.objects.count() == 1


def test_a_member_may_withdraw_an_undecided_request() -> None:
    placed = delivered(goods())
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="x")
    assert after_sale_withdraw(case=case).status == "withdrawn"
    refusal(lambda: after_sale_approve(case=case), WrongState)
    placed.refresh_from_db()
    assert refundable_minor(placed) == placed.total_minor


# Never more than was paid


def test_asking_for_more_than_is_left_is_refused_and_open_cases_count() -> None:
    # Given: 115.00 paid
    placed = delivered(goods(price_minor=5_000), 2)

    # When / Then: more than the total
    exc = refusal(
        lambda: after_sale_open(order=placed, kind="refund_only", amount_minor=11_501, reason="x"),
        OrderError,
    )
    assert (exc.code, list(exc.fields)) == ("order_invalid", ["amount_minor"])

    # When / Then: an open case holds its amount
    after_sale_open(order=placed, kind="refund_only", amount_minor=10_000, reason="x")
    refusal(
        lambda: after_sale_open(order=placed, kind="refund_only", amount_minor=1_501, reason="y"),
        OrderError,
    )
    last = after_sale_open(order=placed, kind="refund_only", amount_minor=1_500, reason="y")
    assert last.refund_no == f"{placed.number}R2"
    assert sum(AfterSale.objects.values_list("amount_minor", flat=True)) == placed.total_minor


def test_a_line_is_never_asked_back_for_more_than_it_cost() -> None:
    # Given: 2 units at 50.00 (100.00 for the line, 115.00 with shipping)
    placed = delivered(goods(price_minor=5_000), 2)
    line = placed.lines.get()

    # When / Then: more than the line
    exc = refusal(
        lambda: after_sale_open(
            order=placed, kind="refund_only", amount_minor=10_001, reason="x", line_id=line.pk
        ),
        OrderError,
    )
    assert list(exc.fields) == ["amount_minor"]

    # When / Then: an open case on the line holds its amount
    after_sale_open(
        order=placed, kind="refund_only", amount_minor=8_000, reason="x", line_id=line.pk
    )
    exc = refusal(
        lambda: after_sale_open(
            order=placed, kind="refund_only", amount_minor=2_001, reason="y", line_id=line.pk
        ),
        OrderError,
    )
    assert list(exc.fields) == ["amount_minor"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "exchange"}, "kind"),
        ({"reason": " "}, "reason"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": True}, "amount_minor"),
        ({"line_id": 0}, "line_id"),
        ({"quantity": 3}, "quantity"),
    ],
)
def test_a_malformed_request_is_refused_on_its_field(kwargs: dict[str, Any], field: str) -> None:
    placed = delivered(goods(), 2)
    args: dict[str, Any] = {
        "order": placed,
        "kind": "refund_only",
        "amount_minor": 100,
        "reason": "x",
    }
    if "quantity" in kwargs:
        args["line_id"] = placed.lines.get().pk
    args |= kwargs
    exc = refusal(lambda: after_sale_open(**args), ApplicationError)
    assert list(exc.fields) == [field]


def test_an_unpaid_order_takes_no_refund_request() -> None:
    placed = order(goods())
    exc = refusal(
        lambda: after_sale_open(order=placed, kind="refund_only", amount_minor=100, reason="x"),
        WrongState,
    )
    assert list(exc.fields) == ["order"]


# The refund number


def test_a_retried_refund_reuses_its_number_and_is_one_refund() -> None:
    # Given: approved, and the process died before the refund was sent (no on-commit run)
    placed = delivered(goods())
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=2_000, reason="x")
    after_sale_approve(case=case)
    assert not Refund.objects.exists()

    # When: the job starts what was left, then runs again; a retry calls the same case again
    assert after_sales_refund_pending() == 1
    assert after_sales_refund_pending() == 0
    again = after_sale_refund_execute(case=case)

    # Then: one refund, under R1, counted once
    refund = Refund.objects.get()
    assert again is None or again.pk == refund.pk
    assert (refund.out_refund_no, refund.status) == (f"{placed.number}R1", RefundStatus.SUCCEEDED)
    placed.refresh_from_db()
    assert placed.refunded_minor == 2_000
    assert Payment.objects.get(reference=placed.number).refunded_minor == 2_000


# Restocking


def test_a_full_refund_of_unshipped_goods_puts_them_back_on_sale(run_on_commit: Any) -> None:
    # Given: paid, not shipped
    sku = goods(stock=5)
    placed = paid_order(sku, quantity=2)
    assert Sku.objects.get(pk=sku.pk).stock == 3

    # When
    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=placed.total_minor, reason="x"
    )
    assert case.restock is True
    run_on_commit(lambda: after_sale_approve(case=case))

    # Then
    placed.refresh_from_db()
    assert placed.status == OrderStatus.REFUNDED
    assert placed.lines.get().restocked == 2
    assert Sku.objects.get(pk=sku.pk).stock == 5
    assert units(sku) == 5
    assert Activity.objects.filter(
        kind=ActivityKind.OPERATOR, object_type="sku", data__action="restocked", data__units=2
    ).exists()


def test_the_operator_may_keep_unshipped_goods_off_the_shelf(run_on_commit: Any) -> None:
    sku = goods(stock=5)
    placed = paid_order(sku, quantity=2)
    case = after_sale_open(
        order=placed, kind="refund_only", amount_minor=placed.total_minor, reason="x"
    )
    run_on_commit(lambda: after_sale_approve(case=case, restock=False))
    assert Sku.objects.get(pk=sku.pk).stock == 3
    assert OrderLine.objects.get(order=placed).restocked == 0


def test_a_partial_refund_of_unshipped_goods_leaves_them_to_ship(run_on_commit: Any) -> None:
    # Given: 2 units paid, not shipped
    sku = goods(stock=5, price_minor=5_000)
    placed = paid_order(sku, quantity=2)

    # When: 10.00 back as a goodwill discount (no units named)
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="late")
    run_on_commit(lambda: after_sale_approve(case=case))

    # Then: the order still ships both units: none went back on sale
    placed.refresh_from_db()
    assert (placed.status, placed.refunded_minor) == (OrderStatus.PAID, 1_000)
    assert placed.lines.get().restocked == 0
    assert Sku.objects.get(pk=sku.pk).stock == 3
    assert units(sku) == 5


def test_one_unit_refunded_before_shipping_goes_back_on_sale(run_on_commit: Any) -> None:
    # Given: 2 units paid, not shipped
    sku = goods(stock=5, price_minor=5_000)
    placed = paid_order(sku, quantity=2)
    line = placed.lines.get()

    # When: the member wants only one
    case = after_sale_open(
        order=placed,
        kind="refund_only",
        amount_minor=5_000,
        reason="only one",
        line_id=line.pk,
        quantity=1,
    )
    run_on_commit(lambda: after_sale_approve(case=case))

    # Then
    line.refresh_from_db()
    assert (line.refunded_minor, line.restocked) == (5_000, 1)
    assert Sku.objects.get(pk=sku.pk).stock == 4
    assert units(sku) == 5


# Evidence


def test_evidence_is_kept_on_an_open_case_only(settings: Any, tmp_path: Any) -> None:
    # Given
    settings.MEDIA_ROOT = tmp_path
    placed = delivered(goods())
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=1_000, reason="x")

    # When
    proof = after_sale_add_evidence(
        case=case, kind="logistics", note="签收时外箱破损", submitted_by="member"
    )
    photo = after_sale_add_evidence(
        case=case,
        kind="photo",
        file=SimpleUploadedFile("fish.png", b"\x89PNG fake", content_type="image/png"),
    )

    # Then
    assert [e.kind for e in case.evidence.all()] == ["logistics", "photo"]
    assert proof.note == "签收时外箱破损"
    assert photo.file.name.startswith("evidence/")
    assert (tmp_path / photo.file.name).read_bytes() == b"\x89PNG fake"

    # When / Then: a file of another type, nothing at all, and a closed case are refused
    exc = refusal(
        lambda: after_sale_add_evidence(
            case=case,
            kind="photo",
            file=SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload"),
        ),
        OrderError,
    )
    assert list(exc.fields) == ["file"]
    exc = refusal(lambda: after_sale_add_evidence(case=case, kind="note"), OrderError)
    assert list(exc.fields) == ["file"]
    after_sale_reject(case=case, note="no")
    refusal(lambda: after_sale_add_evidence(case=case, kind="note", note="late"), WrongState)


def test_other_members_orders_and_their_cases_do_not_mix() -> None:
    # Given: two orders in one community
    home = community()
    sku = goods(home)
    mine = paid_order(sku)
    theirs = paid_order(sku)

    # When
    after_sale_open(order=mine, kind="refund_only", amount_minor=mine.total_minor, reason="x")

    # Then: the other order is as refundable as ever, and its numbers start at R1
    assert refundable_minor(theirs) == theirs.total_minor
    case = after_sale_open(order=theirs, kind="refund_only", amount_minor=100, reason="y")
    assert case.refund_no == f"{theirs.number}R1"
