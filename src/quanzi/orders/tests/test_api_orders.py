"""API v1: placing, quoting, listing, paying, cancelling and shipping orders; drops."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from quanzi.catalog.models import Drop, Sku
from quanzi.catalog.services.drops import drop_create
from quanzi.catalog.services.products import product_update
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.models import Activity
from quanzi.core.services.tokens import api_token_create, operator_create
from quanzi.members.models import Member
from quanzi.members.tests.factories import in_threads, member
from quanzi.orders.models import Order, OrderLine, PurchaseTally, Shipment
from quanzi.orders.services.drops import drop_buyers
from quanzi.orders.tests.factories import ADDRESS, community, goods, pay, virtual
from quanzi.orders.tests.factories import order as place
from quanzi.payments.models import Payment

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"
ADDRESS_IN = {
    "name": ADDRESS.name,
    "phone": ADDRESS.phone,
    "region": ADDRESS.region,
    "address": ADDRESS.address,
}
MASKED = {
    "name": "王**",
    "phone": "138****8000",
    "region": "浙江",
    "address": "舟山市定海区****",
    "masked": True,
}


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return dict(body["error"])


def _body(sku: Sku, who: Member, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "community_id": sku.product.community_id,
        "member_id": who.pk,
        "lines": [{"product_id": sku.product_id, "sku_id": sku.pk, "quantity": quantity}],
        "address": dict(ADDRESS_IN),
        **extra,
    }


def _stock(sku: Sku) -> tuple[int, int]:
    sku.refresh_from_db()
    return sku.stock, sku.reserved


def _snapshot() -> tuple[int, int, int, int]:
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        PurchaseTally.objects.filter(quantity__gt=0).count(),
        Payment.objects.count(),
    )


@pytest.fixture
def home() -> Community:
    return community()


@pytest.fixture
def sku(home: Community) -> Sku:
    return goods(home, stock=5, price_minor=5_000)


@pytest.fixture
def buyer() -> Member:
    return member()


@pytest.fixture
def plain_token(db: None) -> str:
    """A token of an operator without the personal-data permission."""
    user, _ = operator_create(username="assistant", password="a-Long-enough-pass-42")
    user.is_superuser = False  # type: ignore[attr-defined]
    user.save()
    _, raw = api_token_create(username="assistant", name="tests")
    return raw


# Placing an order


def test_an_order_is_placed_201_holding_its_stock_with_the_address_masked(
    api: Any, sku: Sku, buyer: Member
) -> None:
    response = api.post(URL, _body(sku, buyer, 2, note="放门口", channel="douyin"))

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get()
    assert body["id"] == order.pk
    assert body["number"] == order.number
    assert {k: body[k] for k in body if k not in {"id", "number", "lines"}} == {
        "status": "pending",
        "community_id": sku.product.community_id,
        "member_id": buyer.pk,
        "drop_id": None,
        "currency": "CNY",
        "subtotal_minor": 10_000,
        "discount_minor": 0,
        "shipping_minor": 1_500,  # 10.00 for the first unit, 5.00 for the second
        "total_minor": 11_500,
        "refunded_minor": 0,
        "provider": "manual",
        "channel": "douyin",
        "note": "放门口",
        "needs_shipping": True,
        "ship_region": "浙江",
        "address": MASKED,
        "created_at": body["created_at"],
        "expires_at": body["expires_at"],
        "paid_at": None,
        "cancelled_at": None,
        "cancel_reason": "",
        "shipped_at": None,
        "delivered_at": None,
        "received_at": None,
        "shipment": None,
    }
    assert body["lines"] == [
        {
            "id": order.lines.get().pk,
            "product_id": sku.product_id,
            "sku_id": sku.pk,
            "name": sku.product.name,
            "kind": "physical",
            "options": {"规格": "2斤"},
            "quantity": 2,
            "unit_price_minor": 5_000,
            "discount_minor": 0,
            "total_minor": 10_000,
            "refunded_minor": 0,
            "restocked": 0,
            "delivered_at": None,
        }
    ]
    assert _stock(sku) == (3, 2)
    # The clear address is nowhere in the answer.
    assert ADDRESS.phone not in response.content.decode()
    assert ADDRESS.address not in response.content.decode()


def test_the_answer_to_a_placed_order_is_the_order_as_read_back(
    api: Any, sku: Sku, buyer: Member
) -> None:
    placed = api.post(URL, _body(sku, buyer)).json()

    read = api.get(f"{URL}/{placed['number']}").json()

    assert read == placed
    assert api.get(f"{URL}/{placed['id']}").json() == placed  # by id too


def test_placing_an_order_reads_the_member_and_the_community_once_each(
    api: Any, sku: Sku, buyer: Member
) -> None:
    body = json.dumps(_body(sku, buyer))

    with CaptureQueriesContext(connection) as queries:
        response = api.post(URL, body)

    assert response.status_code == 201
    sql = [q["sql"] for q in queries.captured_queries]
    member_table = Member._meta.db_table
    community_table = Community._meta.db_table
    assert len([s for s in sql if s.startswith("SELECT") and f'FROM "{member_table}"' in s]) == 1
    assert len([s for s in sql if s.startswith("SELECT") and f'FROM "{community_table}"' in s]) == 1
    # The answer is built from what is in hand, plus the lines: nothing read after them.
    line_table = OrderLine._meta.db_table
    assert f'FROM "{line_table}"' in sql[-1]


def test_a_virtual_order_needs_no_address_and_shows_none(
    api: Any, home: Community, buyer: Member
) -> None:
    course = virtual(home, price_minor=9_900)

    response = api.post(
        URL,
        {
            "community_id": home.pk,
            "member_id": buyer.pk,
            "lines": [{"product_id": course.pk}],
            "address": ADDRESS_IN,
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["needs_shipping"], body["address"], body["total_minor"]) == (False, None, 9_900)
    assert body["lines"][0]["quantity"] == 1


def test_a_replayed_order_with_the_same_idempotency_key_is_the_same_order(
    api: Any, sku: Sku, buyer: Member
) -> None:
    first = api.post(URL, _body(sku, buyer), headers={"Idempotency-Key": "buy-1"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    again = api.post(URL, _body(sku, buyer), headers={"Idempotency-Key": "buy-1"})

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert _stock(sku) == (4, 1)


def test_a_sold_out_order_is_409_out_of_stock_and_writes_nothing(
    api: Any, sku: Sku, buyer: Member
) -> None:
    before = _snapshot()

    response = api.post(URL, _body(sku, buyer, 6))

    assert response.status_code == 409
    assert _error(response)["code"] == "out_of_stock"
    assert _snapshot() == before
    assert _stock(sku) == (5, 0)


def test_a_refused_order_is_not_stored_for_replay(api: Any, sku: Sku, buyer: Member) -> None:
    refused = api.post(URL, _body(sku, buyer, 6), headers={"Idempotency-Key": "k"})
    assert refused.status_code == 409

    # A retry under the same key is handled again, not answered from a stored refusal.
    again = api.post(URL, _body(sku, buyer, 6), headers={"Idempotency-Key": "k"})

    assert again.status_code == 409
    assert "Idempotent-Replayed" not in again.headers


def test_past_the_per_member_limit_is_409_limit_reached(api: Any, sku: Sku, buyer: Member) -> None:
    product_update(product=sku.product, per_member_limit=2)
    assert api.post(URL, _body(sku, buyer, 2)).status_code == 201
    before = _snapshot()

    response = api.post(URL, _body(sku, buyer, 1))

    assert response.status_code == 409
    assert _error(response)["code"] == "limit_reached"
    assert _snapshot() == before
    assert _stock(sku) == (3, 2)


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        (lambda b: b.pop("lines"), 422, "invalid", "lines"),
        (lambda b: b.update(lines=[]), 422, "order_invalid", "lines"),
        (lambda b: b["lines"][0].update(quantity=-1), 422, "invalid", "lines.0.quantity"),
        (lambda b: b["lines"][0].update(quantity=0), 422, "invalid", "lines.0.quantity"),
        (lambda b: b["lines"][0].update(quantity="two"), 422, "invalid", "lines.0.quantity"),
        (lambda b: b["lines"][0].update(quantity=10**30), 422, "invalid", "lines.0.quantity"),
        (lambda b: b["lines"][0].update(product_id=999_999), 404, "not_found", None),
        (lambda b: b["lines"][0].update(sku_id=999_999), 404, "not_found", "lines[0].sku_id"),
        (lambda b: b.update(member_id=999_999), 404, "not_found", "member_id"),
        (lambda b: b.update(community_id=999_999), 404, "not_found", "community_id"),
        (lambda b: b.update(member_id="me"), 422, "invalid", "member_id"),
        (lambda b: b.update(provider="paypal"), 422, "invalid", "provider"),
        (lambda b: b.update(address=None), 422, "order_invalid", "address"),
        (lambda b: b["address"].update(phone=""), 422, "order_invalid", "address.phone"),
        (lambda b: b["address"].pop("region"), 422, "invalid", "address.region"),
        (lambda b: b.update(note="x" * 201), 422, "order_invalid", "note"),
        (lambda b: b.update(drop_id=999_999), 404, "not_found", "drop_id"),
    ],
)
def test_a_bad_order_is_refused_naming_the_field_and_writes_nothing(
    api: Any, sku: Sku, buyer: Member, change: Any, status: int, code: str, field: str | None
) -> None:
    body = _body(sku, buyer)
    change(body)
    before = _snapshot()

    response = api.post(URL, body)

    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code
    assert list(error["fields"]) == [field or "lines[0].product_id"]
    assert _snapshot() == before
    assert _stock(sku) == (5, 0)


def test_a_body_that_is_not_json_is_400(api: Any) -> None:
    response = api.post(URL, "{not json")

    assert response.status_code == 400
    assert _error(response)["code"] == "malformed_json"


def test_a_product_of_another_community_is_not_sold_here(api: Any, sku: Sku, buyer: Member) -> None:
    elsewhere = community()

    response = api.post(URL, {**_body(sku, buyer), "community_id": elsewhere.pk})

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["lines[0].product_id"]


# The address, revealed


def test_reveal_shows_the_address_to_an_operator_with_the_permission_and_records_it(
    api: Any, sku: Sku, buyer: Member
) -> None:
    placed = api.post(f"{URL}?reveal=true", _body(sku, buyer)).json()

    one = api.get(f"{URL}/{placed['number']}?reveal=true").json()
    listed = api.get(f"{URL}?reveal=true").json()

    clear = {**ADDRESS_IN, "masked": False}
    assert placed["address"] == one["address"] == listed["items"][0]["address"] == clear
    looks = Activity.objects.filter(member_id=buyer.pk, data__action="personal_data_revealed")
    assert (
        list(looks.values_list("data", flat=True))
        == [{"action": "personal_data_revealed", "what": "api_order_address"}] * 3
    )


@pytest.mark.parametrize("method", ["get_one", "list", "create"])
def test_reveal_without_the_permission_is_403_and_writes_nothing(
    client: Client, plain_token: str, sku: Sku, buyer: Member, method: str
) -> None:
    headers = {"Authorization": f"Bearer {plain_token}"}
    placed = place(sku, buyer)
    before = _snapshot()

    if method == "create":
        refused = client.post(
            f"{URL}?reveal=true",
            json.dumps(_body(sku, buyer)),
            content_type="application/json",
            headers=headers,
        )
    elif method == "list":
        refused = client.get(f"{URL}?reveal=true", headers=headers)
    else:
        refused = client.get(f"{URL}/{placed.number}?reveal=true", headers=headers)
    masked = client.get(f"{URL}/{placed.number}", headers=headers)

    assert refused.status_code == 403
    assert list(_error(refused)["fields"]) == ["reveal"]
    assert _snapshot() == before
    assert masked.json()["address"] == MASKED


# Quote


def test_a_quote_prices_the_order_with_shipping_and_writes_nothing(
    api: Any, sku: Sku, buyer: Member
) -> None:
    before = _snapshot()

    response = api.post(f"{URL}/quote", _body(sku, buyer, 3))

    assert response.status_code == 200
    assert response.json() == {
        "community_id": sku.product.community_id,
        "member_id": buyer.pk,
        "drop_id": None,
        "currency": "CNY",
        "subtotal_minor": 15_000,
        "discount_minor": 0,
        "discount_percent": 0,
        "shipping_minor": 2_000,
        "total_minor": 17_000,
        "needs_shipping": True,
        "lines": [
            {
                "product_id": sku.product_id,
                "sku_id": sku.pk,
                "name": sku.product.name,
                "kind": "physical",
                "quantity": 3,
                "unit_price_minor": 5_000,
                "discount_minor": 0,
                "total_minor": 15_000,
            }
        ],
    }
    assert _snapshot() == before
    assert _stock(sku) == (5, 0)


def test_a_quote_for_more_than_the_limit_is_refused(api: Any, sku: Sku, buyer: Member) -> None:
    product_update(product=sku.product, per_member_limit=2)

    response = api.post(f"{URL}/quote", _body(sku, buyer, 3))

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == ["lines"]


# Listing and reading


def test_orders_are_listed_newest_first_with_filters_and_pages(
    api: Any, home: Community, sku: Sku, buyer: Member, frozen_clock: Any
) -> None:
    other = member()
    first = place(sku, buyer)
    frozen_clock.advance(timedelta(minutes=1))
    second = place(sku, other)
    frozen_clock.advance(timedelta(minutes=1))
    third = place(sku, buyer)
    pay(third)
    place(goods(community(), stock=3), member())  # another community

    def numbers(query: str) -> list[str]:
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [o["number"] for o in response.json()["items"]]

    assert numbers(f"community_id={home.pk}") == [third.number, second.number, first.number]
    assert numbers(f"member_id={buyer.pk}") == [third.number, first.number]
    assert numbers(f"community_id={home.pk}&status=paid") == [third.number]
    assert numbers(f"number={second.number[-6:]}") == [second.number]
    since = (first.created_at + timedelta(seconds=30)).isoformat()
    assert numbers(f"community_id={home.pk}&since={since.replace('+', '%2B')}") == [
        third.number,
        second.number,
    ]
    page = api.get(f"{URL}?community_id={home.pk}&limit=2").json()
    assert (page["count"], page["next_offset"], len(page["items"])) == (3, 2, 2)
    assert page["items"][0]["address"] == MASKED


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("since=2025-01-01T00:00:00", "since"),
        ("member_id=abc", "member_id"),
        ("limit=0", "limit"),
    ],
)
def test_bad_order_filters_are_422(api: Any, query: str, field: str) -> None:
    response = api.get(f"{URL}?{query}")

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]


@pytest.mark.parametrize("number", ["Q2501010000000000", "999999", "nope"])
def test_an_unknown_order_is_404_naming_the_number(api: Any, number: str) -> None:
    response = api.get(f"{URL}/{number}")

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["number"]


# Cancelling


def test_cancelling_an_unpaid_order_gives_its_stock_back(api: Any, sku: Sku, buyer: Member) -> None:
    placed = place(sku, buyer, 2)
    assert _stock(sku) == (3, 2)

    response = api.post(f"{URL}/{placed.number}/cancel", {"reason": "changed my mind"})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "changed my mind")
    assert body["cancelled_at"] is not None
    assert _stock(sku) == (5, 0)

    again = api.post(f"{URL}/{placed.number}/cancel", {})
    assert again.status_code == 409
    assert _error(again)["code"] == "wrong_state"


def test_a_paid_order_cannot_be_cancelled(api: Any, sku: Sku, buyer: Member) -> None:
    placed = place(sku, buyer)
    pay(placed)

    response = api.post(f"{URL}/{placed.number}/cancel", {"reason": "x"})

    assert response.status_code == 409
    assert Order.objects.get().status == "paid"


# Paying by transfer


def test_a_transfer_is_started_confirmed_and_pays_the_order(
    api: Any, sku: Sku, buyer: Member, settings: Any
) -> None:
    settings.QUANZI_MANUAL_PAYMENT_INSTRUCTIONS = "招商银行 6225 ..."
    placed = place(sku, buyer, 2)

    started = api.post(f"{URL}/{placed.number}/payments", {})
    again = api.post(f"{URL}/{placed.number}/payments", {})

    assert started.status_code == 201
    payment = started.json()
    assert again.status_code == 200
    assert again.json() == payment
    out_trade_no = f"{placed.number}-1"
    assert {k: payment[k] for k in ("out_trade_no", "provider", "status", "amount_minor")} == {
        "out_trade_no": out_trade_no,
        "provider": "manual",
        "status": "created",
        "amount_minor": placed.total_minor,
    }
    assert payment["checkout"] == {
        "mode": "transfer",
        "instructions": "招商银行 6225 ...",
        "reference": out_trade_no,
    }

    confirmed = api.post(
        f"/api/v1/payments/{out_trade_no}/confirm",
        {"amount_minor": placed.total_minor, "note": "CMB 0042"},
    )

    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "succeeded"
    assert confirmed.json()["transaction_id"] == "manual:CMB 0042"
    order = api.get(f"{URL}/{placed.number}").json()
    assert order["status"] == "paid"
    assert order["paid_at"] is not None
    assert _stock(sku) == (3, 0)  # the reserved units left with the paid order
    listed = api.get(f"{URL}/{placed.number}/payments").json()
    assert [(p["out_trade_no"], p["status"]) for p in listed] == [(out_trade_no, "succeeded")]
    # Reconciling a transfer asks nobody and changes nothing.
    reconciled = api.post(f"/api/v1/payments/{out_trade_no}/reconcile", {})
    assert (reconciled.status_code, reconciled.json()) == (200, confirmed.json())


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [(1, 422, "amount_mismatch"), ("lots", 422, "invalid"), (-5, 422, "payment_invalid")],
)
def test_a_transfer_confirmed_with_another_amount_changes_nothing(
    api: Any, sku: Sku, buyer: Member, amount: Any, status: int, code: str
) -> None:
    placed = place(sku, buyer)
    api.post(f"{URL}/{placed.number}/payments", {})

    response = api.post(f"/api/v1/payments/{placed.number}-1/confirm", {"amount_minor": amount})

    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code
    assert list(error["fields"]) == ["amount_minor"]
    assert Payment.objects.get().status == "created"
    assert Order.objects.get().status == "pending"


def test_confirming_an_unknown_payment_is_404(api: Any) -> None:
    response = api.post("/api/v1/payments/Q1-1/confirm", {"amount_minor": 100})

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["out_trade_no"]


def test_a_replayed_confirmation_is_answered_once(api: Any, sku: Sku, buyer: Member) -> None:
    placed = place(sku, buyer)
    api.post(f"{URL}/{placed.number}/payments", {})
    url = f"/api/v1/payments/{placed.number}-1/confirm"
    body = {"amount_minor": placed.total_minor}

    first = api.post(url, body, headers={"Idempotency-Key": "confirm-1"})
    again = api.post(url, body, headers={"Idempotency-Key": "confirm-1"})

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Activity.objects.filter(kind="pay", data__order=placed.number).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"provider": "alipay"}, "provider"), ({"mode": "h5"}, "mode")],
)
def test_a_payment_with_an_unknown_provider_or_mode_is_422(
    api: Any, sku: Sku, buyer: Member, body: dict[str, Any], field: str
) -> None:
    placed = place(sku, buyer)

    response = api.post(f"{URL}/{placed.number}/payments", body)

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == [field]
    assert Payment.objects.count() == 0


def test_wechat_pay_not_set_up_is_refused_naming_the_provider(
    api: Any, sku: Sku, buyer: Member, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.QUANZI_WECHATPAY_CONFIG = None
    monkeypatch.delenv("QUANZI_WECHATPAY_MCHID", raising=False)
    placed = place(sku, buyer)

    response = api.post(f"{URL}/{placed.number}/payments", {"provider": "wechatpay"})

    assert response.status_code == 422
    assert list(_error(response)["fields"]) == ["provider"]
    assert Payment.objects.count() == 0


def test_a_cancelled_order_has_nothing_to_pay(api: Any, sku: Sku, buyer: Member) -> None:
    placed = place(sku, buyer)
    api.post(f"{URL}/{placed.number}/cancel", {})

    response = api.post(f"{URL}/{placed.number}/payments", {})

    assert response.status_code == 409
    assert _error(response)["code"] == "wrong_state"


# Fulfilment


def test_a_paid_order_is_shipped_delivered_and_received(api: Any, sku: Sku, buyer: Member) -> None:
    placed = place(sku, buyer)
    pay(placed)

    shipped = api.post(
        f"{URL}/{placed.number}/shipment", {"carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    )

    assert shipped.status_code == 200
    body = shipped.json()
    assert body["status"] == "shipped"
    assert body["shipment"] == {
        "carrier": "顺丰速运",
        "tracking_no": "SF1234567890",
        "shipped_at": body["shipped_at"],
        "delivered_at": None,
    }

    delivered = api.post(f"{URL}/{placed.number}/delivered", {})
    assert delivered.status_code == 200
    assert delivered.json()["status"] == "delivered"
    assert delivered.json()["shipment"]["delivered_at"] == delivered.json()["delivered_at"]

    received = api.post(f"{URL}/{placed.number}/received", {})
    assert received.status_code == 200
    assert received.json()["status"] == "completed"
    assert received.json()["received_at"] is not None


def test_an_unpaid_order_is_not_shipped(api: Any, sku: Sku, buyer: Member) -> None:
    placed = place(sku, buyer)

    response = api.post(
        f"{URL}/{placed.number}/shipment", {"carrier": "EMS", "tracking_no": "E123"}
    )

    assert response.status_code == 409
    assert _error(response)["code"] == "wrong_state"
    assert Shipment.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"carrier": "EMS", "tracking_no": "有 空格"}, "order_invalid", "tracking_no"),
        ({"carrier": "", "tracking_no": "E123"}, "order_invalid", "carrier"),
        ({"carrier": "EMS"}, "invalid", "tracking_no"),
        ({"carrier": "EMS", "tracking_no": "E" * 51}, "invalid", "tracking_no"),
    ],
)
def test_a_bad_shipment_is_422_naming_the_field(
    api: Any, sku: Sku, buyer: Member, body: dict[str, Any], code: str, field: str
) -> None:
    placed = place(sku, buyer)
    pay(placed)

    response = api.post(f"{URL}/{placed.number}/shipment", body)

    assert response.status_code == 422
    assert (_error(response)["code"], list(_error(response)["fields"])) == (code, [field])
    assert Order.objects.get().status == "paid"


def test_the_pick_list_counts_what_to_pack(
    api: Any, home: Community, sku: Sku, buyer: Member
) -> None:
    for quantity in (1, 2):
        pay(place(sku, member(), quantity))
    place(sku, buyer, 1)  # unpaid: not packed

    response = api.get(f"{URL}/pick-list?community_id={home.pk}")

    assert response.status_code == 200
    assert response.json() == [
        {
            "product_id": sku.product_id,
            "sku_id": sku.pk,
            "name": sku.product.name,
            "options": {"规格": "2斤"},
            "units": 3,
            "orders": 2,
            "cold_chain": False,
        }
    ]
    missing = api.get(f"{URL}/pick-list?community_id=999999")
    assert missing.status_code == 404
    assert list(_error(missing)["fields"]) == ["community_id"]


# Drops


def _drop_body(sku: Sku, **extra: Any) -> dict[str, Any]:
    now = clock.now()
    return {
        "product_id": sku.product_id,
        "title": "周五带鱼团",
        "price_minor": 3_900,
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "units": 3,
        **extra,
    }


def test_a_drop_is_opened_and_sold_through_with_live_counts(
    api: Any, sku: Sku, buyer: Member
) -> None:
    created = api.post("/api/v1/drops", _drop_body(sku, min_buyers=2, per_member_limit=2))

    assert created.status_code == 201
    drop = created.json()
    assert {
        k: drop[k]
        for k in ("status", "open", "units", "stock", "reserved", "sold", "buyers", "sku_id")
    } == {
        "status": "live",
        "open": True,
        "units": 3,
        "stock": 3,
        "reserved": 0,
        "sold": 0,
        "buyers": 0,
        "sku_id": sku.pk,
    }
    assert _stock(sku) == (2, 0)  # set aside from the SKU

    ordered = api.post(URL, _body(sku, buyer, 2, drop_id=drop["id"]))
    assert ordered.status_code == 201
    assert ordered.json()["subtotal_minor"] == 7_800
    assert ordered.json()["lines"][0]["name"] == "周五带鱼团"
    pay(Order.objects.get(number=ordered.json()["number"]))
    place(sku, member(), 1, drop_id=drop["id"])

    read = api.get(f"/api/v1/drops/{drop['id']}").json()
    assert {k: read[k] for k in ("stock", "reserved", "sold", "buyers")} == {
        "stock": 0,
        "reserved": 1,
        "sold": 2,
        "buyers": 1,
    }
    assert read["buyers"] == drop_buyers(Drop.objects.get())
    listed = api.get(f"/api/v1/drops?community_id={sku.product.community_id}").json()
    assert listed["items"] == [read]

    sold_out = api.post(URL, _body(sku, member(), 1, drop_id=drop["id"]))
    assert sold_out.status_code == 409
    assert _error(sold_out)["code"] == "out_of_stock"


def test_a_drop_not_yet_open_refuses_orders_409_drop_closed(
    api: Any, sku: Sku, buyer: Member
) -> None:
    now = clock.now()
    drop = drop_create(
        product=sku.product,
        title="明天的团",
        price_minor=3_900,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
        units=2,
    )
    before = _snapshot()

    response = api.post(URL, _body(sku, buyer, 1, drop_id=drop.pk))

    assert response.status_code == 409
    assert _error(response)["code"] == "drop_closed"
    assert _snapshot() == before
    assert api.get(f"/api/v1/drops/{drop.pk}").json()["open"] is False


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"units": 99}, 409, "units"),
        ({"units": 0}, 422, "units"),
        ({"units": "many"}, 422, "units"),
        ({"starts_at": "2025-01-01T10:00:00"}, 422, "starts_at"),
        ({"price_minor": -1}, 422, "price_minor"),
        ({"product_id": 999_999}, 404, "product_id"),
        ({"sku_id": 999_999}, 404, "sku_id"),
        ({"title": ""}, 422, "title"),
    ],
)
def test_a_bad_drop_is_refused_naming_the_field_and_takes_no_stock(
    api: Any, sku: Sku, change: dict[str, Any], status: int, field: str
) -> None:
    response = api.post("/api/v1/drops", _drop_body(sku, **change))

    assert response.status_code == status
    assert list(_error(response)["fields"]) == [field]
    assert Drop.objects.count() == 0
    assert _stock(sku) == (5, 0)


def test_an_unknown_drop_is_404(api: Any) -> None:
    response = api.get("/api/v1/drops/999999")

    assert response.status_code == 404
    assert list(_error(response)["fields"]) == ["drop_id"]


# Under real concurrency (PostgreSQL)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_two_buyers_at_once_on_a_ten_unit_drop_get_ten_orders_and_clean_409s(
    api_token: str,
) -> None:
    spec = goods(community(), stock=50, price_minor=5_000)
    now = clock.now()
    drop = drop_create(
        product=spec.product,
        title="秒杀",
        price_minor=990,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        units=10,
    )
    buyers = [member() for _ in range(32)]
    headers = {"Authorization": f"Bearer {api_token}"}

    def buy(i: int) -> tuple[int, str]:
        response = Client().post(
            URL,
            json.dumps(_body(spec, buyers[i], 1, drop_id=drop.pk)),
            content_type="application/json",
            headers={**headers, "Idempotency-Key": f"buy-{i}"},
        )
        body = response.json()
        return response.status_code, body["error"]["code"] if "error" in body else body["status"]

    results = in_threads(32, buy)

    assert sorted(results) == [(201, "pending")] * 10 + [(409, "out_of_stock")] * 22
    drop.refresh_from_db()
    assert (drop.stock, drop.reserved, Order.objects.count()) == (0, 10, 10)
