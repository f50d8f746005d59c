"""Fulfilment: a paid order with an address ships, is delivered and is received (by the member
or, after the configured days, by the job)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity
from quanzi.orders.models import Order, OrderStatus, Shipment
from quanzi.orders.services.aftersales import after_sale_open, after_sale_reject
from quanzi.orders.services.checkout import LineIn, address_of, order_create
from quanzi.orders.services.errors import OrderError, WrongState
from quanzi.orders.services.fulfilment import (
    CARRIERS,
    order_confirm_receipt,
    order_mark_delivered,
    order_ship,
    orders_auto_receive,
)
from quanzi.orders.tests.factories import (
    ADDRESS,
    buyer,
    goods,
    order,
    paid_order,
    pay,
    state,
    virtual,
)
from quanzi.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def refusal(call: Callable[[], Any], error: type[ApplicationError]) -> ApplicationError:
    before = state()
    with pytest.raises(error) as raised:
        call()
    assert state() == before
    return raised.value


def ship(placed: Order, tracking_no: str = "SF1234567890") -> Order:
    return order_ship(order=placed, carrier=CARRIERS[0], tracking_no=tracking_no, actor_id=7)


def test_a_paid_order_ships_to_its_address_and_the_member_is_told(frozen_clock: Any) -> None:
    # Given
    placed = paid_order(goods())
    assert address_of(placed) == ADDRESS

    # When
    shipped = ship(placed)

    # Then
    assert (shipped.status, shipped.shipped_at) == (OrderStatus.SHIPPED, frozen_clock())
    parcel = Shipment.objects.get(order=placed)
    assert (parcel.carrier, parcel.tracking_no, parcel.shipped_by_id) == (
        "顺丰速运",
        "SF1234567890",
        7,
    )
    message = OutboxMessage.objects.get(member=placed.member)
    assert (message.template, message.purpose, message.dedupe_key, message.status) == (
        "order_shipped",
        "service",
        f"order-shipped:{placed.number}",
        "queued",
    )
    assert placed.number in message.body
    assert "SF1234567890" in message.body
    assert Activity.objects.filter(
        object_id=placed.number, data__action="shipped", actor_id=7
    ).exists()


def test_only_a_paid_order_of_goods_ships() -> None:
    # An order awaiting payment
    pending = order(goods())
    exc = refusal(lambda: ship(pending), WrongState)
    assert (exc.code, exc.status, list(exc.fields)) == ("wrong_state", 409, ["status"])

    # A course: nothing ships
    course = virtual()
    placed = order_create(member=buyer(), community=course.community, lines=[LineIn(course.pk)])
    pay(placed)
    placed.refresh_from_db()
    refusal(lambda: ship(placed), WrongState)

    # Shipped already
    sent = paid_order(goods())
    ship(sent)
    refusal(lambda: ship(sent, "SF999"), WrongState)


@pytest.mark.parametrize(
    ("carrier", "tracking_no", "field"),
    [
        ("", "SF123", "carrier"),
        ("x" * 51, "SF123", "carrier"),
        ("顺丰速运", "", "tracking_no"),
        ("顺丰速运", "SF 123", "tracking_no"),
        ("顺丰速运", "1" * 51, "tracking_no"),
    ],
)
def test_a_carrier_and_a_tracking_number_are_needed(
    carrier: str, tracking_no: str, field: str
) -> None:
    placed = paid_order(goods())
    exc = refusal(
        lambda: order_ship(order=placed, carrier=carrier, tracking_no=tracking_no), OrderError
    )
    assert list(exc.fields) == [field]


def test_an_open_refund_request_holds_the_parcel_until_decided() -> None:
    # Given
    placed = paid_order(goods())
    case = after_sale_open(order=placed, kind="refund_only", amount_minor=500, reason="late?")

    # When / Then
    refusal(lambda: ship(placed), WrongState)
    after_sale_reject(case=case, note="It ships today")
    assert ship(placed).status == OrderStatus.SHIPPED


def test_delivered_then_received_by_the_member(frozen_clock: Any) -> None:
    # Given
    placed = paid_order(goods())
    ship(placed)

    # When
    frozen_clock.advance(timedelta(days=2))
    delivered = order_mark_delivered(order=placed)
    frozen_clock.advance(timedelta(hours=5))
    received = order_confirm_receipt(order=placed)

    # Then
    assert (delivered.status, delivered.delivered_at) == (
        OrderStatus.DELIVERED,
        frozen_clock() - timedelta(hours=5),
    )
    assert Shipment.objects.get(order=placed).delivered_at == delivered.delivered_at
    assert (received.status, received.received_at, received.auto_received) == (
        OrderStatus.COMPLETED,
        frozen_clock(),
        False,
    )
    # Nothing further: received twice, delivered after receipt
    refusal(lambda: order_confirm_receipt(order=placed), WrongState)
    refusal(lambda: order_mark_delivered(order=placed), WrongState)


def test_a_paid_order_not_yet_shipped_cannot_be_received_or_delivered() -> None:
    placed = paid_order(goods())
    refusal(lambda: order_confirm_receipt(order=placed), WrongState)
    refusal(lambda: order_mark_delivered(order=placed), WrongState)


def test_a_delivered_order_counts_as_received_after_the_configured_days(
    frozen_clock: Any, settings: Any
) -> None:
    # Given: 3 days to confirm; one order delivered, one shipped with no delivery reported
    settings.QUANZI_AUTO_RECEIVE_DAYS = 3
    sku = goods()
    delivered, in_transit = paid_order(sku), paid_order(sku)
    ship(delivered)
    ship(in_transit)
    frozen_clock.advance(timedelta(days=1))
    order_mark_delivered(order=delivered)

    # When: 3 days after shipping, but not yet 3 after delivery
    frozen_clock.advance(timedelta(days=2))
    assert orders_auto_receive() == 1

    # Then: the shipped one counts from its shipping
    in_transit.refresh_from_db()
    assert (in_transit.status, in_transit.auto_received) == (OrderStatus.COMPLETED, True)
    assert in_transit.received_at == in_transit.delivered_at == frozen_clock()
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.DELIVERED

    # When: 3 days after delivery; and the job runs twice
    frozen_clock.advance(timedelta(days=1))
    assert orders_auto_receive() == 1
    assert orders_auto_receive() == 0

    # Then
    delivered.refresh_from_db()
    assert (delivered.status, delivered.auto_received) == (OrderStatus.COMPLETED, True)
    assert Activity.objects.filter(object_id=delivered.number, data__auto=True).count() == 1


def test_auto_receive_waits_the_default_ten_days(frozen_clock: Any) -> None:
    placed = paid_order(goods())
    ship(placed)
    order_mark_delivered(order=placed)
    frozen_clock.advance(timedelta(days=10) - timedelta(seconds=1))
    assert orders_auto_receive() == 0
    frozen_clock.advance(timedelta(seconds=1))
    assert orders_auto_receive() == 1
