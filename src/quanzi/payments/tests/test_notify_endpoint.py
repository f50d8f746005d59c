"""WeChat Pay's notification endpoint, end to end against the local fake WeChat Pay.

An order is placed and its payment started through the API, the member pays at the fake, and
the fake's signed, encrypted notification is posted to ``/payments/wechatpay/notify/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from quanzi.catalog.models import Sku
from quanzi.catalog.services.products import product_update
from quanzi.catalog.tests.factories import community, product, sku, template
from quanzi.members.tests.factories import member
from quanzi.payments.models import NotificationNonce, Payment
from quanzi.payments.wechatpay.fake import FakeWeChatPay

# The payments app sits below orders (import-linter): orders are placed and read through the
# API here, never through the orders app's code.

NOTIFY = "/payments/wechatpay/notify/"
ADDRESS = {"name": "王小明", "phone": "13800138000", "region": "浙江", "address": "海港路 8 号"}


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay() as running:
        yield running


@pytest.fixture
def fake(running_fake: FakeWeChatPay, settings: Any) -> FakeWeChatPay:
    running_fake.reset()
    settings.QUANZI_WECHATPAY_CONFIG = running_fake.config(
        notify_url="https://hub.example.com" + NOTIFY
    )
    return running_fake


@pytest.fixture
def goods(db: None) -> Sku:
    """A physical product on sale at 50.00 with one SKU of 5 units."""
    home = community()
    item = product(
        home,
        kind="physical",
        price_minor=5_000,
        weight_grams=1_000,
        shipping_template=template(home),
    )
    made = sku(item, options={"规格": "2斤"}, stock=5)
    product_update(product=item, active=True)
    return made


def _started(api: Any, goods: Sku) -> tuple[str, str]:
    """An order placed for WeChat Pay and its Native payment started: (number, out_trade_no)."""
    placed = api.post(
        "/api/v1/orders",
        {
            "community_id": goods.product.community_id,
            "member_id": member().pk,
            "lines": [{"product_id": goods.product_id, "sku_id": goods.pk, "quantity": 2}],
            "address": ADDRESS,
            "provider": "wechatpay",
        },
    )
    assert placed.status_code == 201, placed.content
    number = placed.json()["number"]
    started = api.post(f"/api/v1/orders/{number}/payments", {"mode": "native"})
    assert started.status_code == 201, started.content
    checkout = started.json()["checkout"]
    assert checkout["mode"] == "native"
    assert checkout["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    return number, started.json()["out_trade_no"]


def _post(client: Client, headers: dict[str, str], body: bytes) -> Any:
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    # WeChat sends no Accept-Language, so its messages come in the hub's language (Chinese);
    # the tests read them in English.
    headers["Accept-Language"] = "en"
    return client.post(NOTIFY, body, content_type="application/json", headers=headers)


def _order(api: Any, number: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/orders/{number}")
    assert response.status_code == 200
    return dict(response.json())


def _state(api: Any, number: str, goods: Sku) -> tuple[Any, ...]:
    order = _order(api, number)
    payment = Payment.objects.get(reference=number)
    goods.refresh_from_db()
    return (
        order["status"],
        order["paid_at"],
        payment.status,
        payment.transaction_id,
        goods.stock,
        goods.reserved,
        NotificationNonce.objects.count(),
    )


@pytest.mark.django_db
def test_a_paid_notification_pays_the_order_and_is_answered_204(
    api: Any, client: Client, fake: FakeWeChatPay, goods: Sku
) -> None:
    number, out_trade_no = _started(api, goods)
    fake.pay(out_trade_no)
    headers, body = fake.notification_for(out_trade_no)

    response = _post(client, headers, body)

    assert response.status_code == 204
    assert response.content == b""
    order = api.get(f"/api/v1/orders/{number}").json()
    assert order["status"] == "paid"
    assert order["provider"] == "wechatpay"
    payment = api.get(f"/api/v1/orders/{number}/payments").json()[0]
    assert payment["status"] == "succeeded"
    assert payment["transaction_id"] == fake.orders[out_trade_no]["transaction_id"]
    goods.refresh_from_db()
    assert (goods.stock, goods.reserved) == (3, 0)


@pytest.mark.django_db
def test_a_replayed_notification_is_refused_400_and_changes_nothing(
    api: Any, client: Client, fake: FakeWeChatPay, goods: Sku
) -> None:
    number, out_trade_no = _started(api, goods)
    fake.pay(out_trade_no)
    headers, body = fake.notification_for(out_trade_no)
    assert _post(client, headers, body).status_code == 204
    before = _state(api, number, goods)

    replayed = _post(client, headers, body)

    assert replayed.status_code == 400
    assert replayed.json() == {
        "code": "FAIL",
        "message": "This notification was already received.",
    }
    assert _state(api, number, goods) == before


@pytest.mark.django_db
def test_a_tampered_notification_is_refused_400_and_pays_nothing(
    api: Any, client: Client, fake: FakeWeChatPay, goods: Sku
) -> None:
    number, out_trade_no = _started(api, goods)
    fake.pay(out_trade_no)
    headers, body = fake.notification_for(out_trade_no)
    envelope = json.loads(body)
    envelope["summary"] = "支付成功!"
    before = _state(api, number, goods)

    response = _post(client, headers, json.dumps(envelope, ensure_ascii=False).encode())

    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert "signature" in response.json()["message"]
    assert _state(api, number, goods) == before
    assert before[0] == "pending"


@pytest.mark.django_db
def test_a_notification_for_an_unpaid_amount_is_refused_and_leaves_no_nonce(
    api: Any, client: Client, fake: FakeWeChatPay, goods: Sku
) -> None:
    number, out_trade_no = _started(api, goods)
    fake.pay(out_trade_no)
    headers, body = fake.notification_for(
        out_trade_no, resource_overrides={"amount": {"total": 1, "currency": "CNY"}}
    )
    before = _state(api, number, goods)

    response = _post(client, headers, body)

    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"
    assert _state(api, number, goods) == before
    # Refused before it was taken: the genuine notification still goes through.
    assert _post(client, *fake.notification_for(out_trade_no)).status_code == 204
    assert _order(api, number)["status"] == "paid"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, b""),
        ({}, b"{}"),
        ({}, b"not json at all \xff"),
        (
            {
                "Wechatpay-Timestamp": "1",
                "Wechatpay-Nonce": "n",
                "Wechatpay-Signature": "@@@",
                "Wechatpay-Serial": "x",
            },
            b"{}",
        ),
    ],
)
def test_garbage_is_refused_400_never_500(
    client: Client, fake: FakeWeChatPay, headers: dict[str, str], body: bytes
) -> None:
    response = _post(client, headers, body)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}
    assert response.json()["code"] == "FAIL"
    assert NotificationNonce.objects.count() == 0


@pytest.mark.django_db
def test_a_hub_without_wechat_pay_refuses_notifications_400(
    client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.QUANZI_WECHATPAY_CONFIG = None
    monkeypatch.delenv("QUANZI_WECHATPAY_MCHID", raising=False)

    response = _post(client, {}, b"{}")

    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"


@pytest.mark.django_db
def test_the_endpoint_takes_posts_only_and_no_csrf_token(client: Client) -> None:
    assert client.get(NOTIFY).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(NOTIFY, b"{}", content_type="application/json").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_fake_delivers_to_a_live_server(
    api: Any, fake: FakeWeChatPay, goods: Sku, live_server: Any
) -> None:
    number, out_trade_no = _started(api, goods)
    fake.pay(out_trade_no)

    status = fake.deliver(live_server.url + NOTIFY, *fake.notification_for(out_trade_no))

    assert status == 204
    assert _order(api, number)["status"] == "paid"


@pytest.mark.django_db
def test_a_refund_notification_completes_an_approved_refund(
    api: Any,
    client: Client,
    fake: FakeWeChatPay,
    goods: Sku,
    django_capture_on_commit_callbacks: Any,
) -> None:
    number, out_trade_no = _started(api, goods)
    fake.pay(out_trade_no)
    assert _post(client, *fake.notification_for(out_trade_no)).status_code == 204
    refund_no = api.post(
        f"/api/v1/orders/{number}/refunds",
        {"kind": "refund_only", "amount_minor": 5_000, "reason": "少发一条"},
    ).json()["refund_no"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v1/refunds/{refund_no}/approve", {})
    case = api.get(f"/api/v1/refunds/{refund_no}").json()
    assert (case["status"], case["refund"]["status"]) == ("refunding", "processing")

    fake.complete_refund(refund_no)
    response = _post(client, *fake.refund_notification_for(refund_no))

    assert response.status_code == 204
    case = api.get(f"/api/v1/refunds/{refund_no}").json()
    assert (case["status"], case["refund"]["status"]) == ("refunded", "succeeded")
    order = api.get(f"/api/v1/orders/{number}").json()
    assert (order["status"], order["refunded_minor"]) == ("paid", 5_000)
