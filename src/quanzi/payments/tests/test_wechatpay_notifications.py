"""verify_notification: only a fresh, authentic, readable notification from WeChat Pay passes."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanzi.payments.wechatpay import (
    NotificationRejected,
    VerifiedNotification,
    WeChatPayClient,
    WeChatPayConfig,
    verify_notification,
)
from quanzi.payments.wechatpay.fake import FakeWeChatPay

PAID = "Q2031000001"
REFUND = "R2031000001"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWeChatPay]:
    """One paid order of 8800 fen (8000 paid after a WeChat discount) and a settled refund."""
    with FakeWeChatPay() as running:
        client = WeChatPayClient(running.config())
        client.create_jsapi(
            out_trade_no=PAID, description="会员年费", amount_fen=8800, payer_openid="oMember1"
        )
        running.pay(PAID, payer_total=8000)
        client.refund(out_trade_no=PAID, out_refund_no=REFUND, refund_fen=1100, total_fen=8800)
        running.complete_refund(REFUND)
        yield running


@pytest.fixture(scope="module")
def config(fake: FakeWeChatPay) -> WeChatPayConfig:
    return fake.config()


def at(timestamp: int | str) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)


def verify(
    headers: dict[str, Any], body: bytes, config: WeChatPayConfig, *, now: datetime | None = None
) -> VerifiedNotification:
    return verify_notification(
        headers=headers,
        body=body,
        config=config,
        now=now or at(headers.get("Wechatpay-Timestamp", 0)),
    )


def rejection(
    headers: dict[str, Any], body: bytes, config: WeChatPayConfig, *, now: datetime | None = None
) -> str:
    with pytest.raises(NotificationRejected) as rejected:
        verify(headers, body, config, now=now)
    assert (rejected.value.code, rejected.value.status) == ("notification_rejected", 400)
    return rejected.value.reason


def resealed(fake: FakeWeChatPay, body: bytes, change: Any) -> tuple[dict[str, str], bytes]:
    """The envelope after ``change(envelope)``, signed again by WeChat's key."""
    envelope = json.loads(body)
    change(envelope)
    new_body = json.dumps(envelope, ensure_ascii=False).encode()
    return fake.sign_notification(new_body), new_body


# What passes


def test_a_payment_notification_verifies_and_decrypts_to_the_transaction(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    headers, body = fake.notification_for(PAID, nonce="NONCE-1")

    # When
    notification = verify(headers, body, config)

    # Then
    transaction = fake.orders[PAID]
    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert (notification.resource_type, notification.summary) == ("encrypt-resource", "支付成功")
    assert (notification.nonce, notification.timestamp) == (
        "NONCE-1",
        int(headers["Wechatpay-Timestamp"]),
    )
    assert (notification.is_transaction, notification.is_refund) == (True, False)
    assert (notification.out_trade_no, notification.trade_state) == (PAID, "SUCCESS")
    assert notification.transaction_id == transaction["transaction_id"]
    assert (notification.amount_total, notification.payer_total) == (8800, 8000)
    assert (notification.mchid, notification.appid) == (config.mchid, config.appid)
    assert notification.success_time == transaction["success_time"]
    assert notification.resource["payer"] == {"openid": "oMember1"}


def test_a_refund_notification_verifies_and_decrypts_to_the_refund(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    headers, body = fake.refund_notification_for(REFUND)

    # When
    notification = verify(headers, body, config)

    # Then
    refund = fake.refunds[REFUND]
    assert (notification.event_type, notification.summary) == ("REFUND.SUCCESS", "退款成功")
    assert (notification.is_transaction, notification.is_refund) == (False, True)
    assert (notification.out_refund_no, notification.refund_status) == (REFUND, "SUCCESS")
    assert (notification.out_trade_no, notification.refund_id) == (PAID, refund["refund_id"])
    assert (notification.amount_refund, notification.amount_total) == (1100, 8800)
    assert notification.mchid == config.mchid


def test_each_notification_has_a_fresh_nonce_and_a_replay_verifies_the_same(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    first_headers, first_body = fake.notification_for(PAID)
    second_headers, _ = fake.notification_for(PAID)

    # When: the same notification again (WeChat retries; an attacker replays)
    first = verify(first_headers, first_body, config)
    replayed = verify(first_headers, first_body, config)

    # Then: the caller's unique nonce refuses the replay; verification alone cannot
    assert first.nonce == replayed.nonce == first_headers["Wechatpay-Nonce"]
    assert second_headers["Wechatpay-Nonce"] != first.nonce


@pytest.mark.parametrize("age", [-299, 0, 299, 300])
def test_a_notification_up_to_five_minutes_old_passes(
    fake: FakeWeChatPay, config: WeChatPayConfig, age: int
) -> None:
    # Given
    headers, body = fake.notification_for(PAID, timestamp=1_900_000_000)

    # When
    notification = verify(headers, body, config, now=at(1_900_000_000 + age))

    # Then
    assert notification.timestamp == 1_900_000_000


def test_django_request_headers_and_meta_both_work(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    headers, body = fake.notification_for(PAID)
    request = RequestFactory().post(
        "/api/v1/payments/wechatpay/notifications",
        data=body,
        content_type="application/json",
        headers={name: value for name, value in headers.items() if name != "Content-Type"},
    )
    now = at(headers["Wechatpay-Timestamp"])

    # When
    through_headers = verify_notification(
        headers=request.headers, body=request.body, config=config, now=now
    )
    through_meta = verify_notification(
        headers=request.META, body=request.body, config=config, now=now
    )

    # Then
    assert "HTTP_WECHATPAY_SIGNATURE" in request.META
    assert through_headers == through_meta
    assert through_meta.out_trade_no == PAID


def test_header_names_match_in_any_case(fake: FakeWeChatPay, config: WeChatPayConfig) -> None:
    # Given
    headers, body = fake.notification_for(PAID)

    shouted = {name.upper(): value for name, value in headers.items()}

    # When
    notification = verify(shouted, body, config, now=at(headers["Wechatpay-Timestamp"]))

    # Then
    assert notification.out_trade_no == PAID


@dataclasses.dataclass
class Receiver:
    """A merchant endpoint on loopback that answers 200 only to what verifies."""

    url: str
    outcomes: list[str]
    events: list[VerifiedNotification]


@pytest.fixture
def receiver(config: WeChatPayConfig) -> Iterator[Receiver]:
    outcomes: list[str] = []
    events: list[VerifiedNotification] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            try:
                event = verify_notification(
                    headers=headers, body=body, config=config, now=datetime.now(UTC)
                )
            except NotificationRejected as rejected:
                outcomes.append(rejected.reason)
                self.send_response(400)
            else:
                outcomes.append("ok")
                events.append(event)
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/notify", outcomes, events)
    finally:
        server.shutdown()
        server.server_close()


def test_a_notification_delivered_over_http_is_accepted_and_a_tampered_one_refused(
    fake: FakeWeChatPay, receiver: Receiver
) -> None:
    # Given
    headers, body = fake.notification_for(PAID)

    # When
    accepted = fake.deliver(receiver.url, headers, body)
    refused = fake.deliver(receiver.url, headers, body.replace(b"SUCCESS", b"SUCCESZ"))

    # Then
    assert (accepted, refused) == (200, 400)
    assert receiver.outcomes == ["ok", "bad_signature"]


def test_paying_through_the_runners_control_path_notifies_the_order_notify_url(
    fake: FakeWeChatPay, receiver: Receiver
) -> None:
    # Given: an order whose notify_url is the receiver, as a developer's Quanzi would place it
    client = WeChatPayClient(fake.config(notify_url=receiver.url))
    client.create_native(out_trade_no="Q2031000002", description="商品", amount_fen=300)

    # When
    answer = requests.post(fake.url + "/_fake/orders/Q2031000002/pay", timeout=5)

    # Then
    assert (answer.status_code, answer.json()) == (200, {"notified": 200})
    assert receiver.outcomes == ["ok"]
    assert (receiver.events[0].out_trade_no, receiver.events[0].trade_state) == (
        "Q2031000002",
        "SUCCESS",
    )


# What is refused


@pytest.mark.parametrize(
    "missing", ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"]
)
def test_a_notification_without_a_wechatpay_header_is_refused(
    fake: FakeWeChatPay, config: WeChatPayConfig, missing: str
) -> None:
    # Given
    headers, body = fake.notification_for(PAID)
    del headers[missing]

    # When / Then
    with pytest.raises(NotificationRejected) as rejected:
        verify(headers, body, config, now=datetime.now(UTC))
    assert rejected.value.reason == "missing_headers"
    assert rejected.value.message == f"The notification lacks {missing}."


def test_a_notification_signed_with_another_key_id_is_refused(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    _, body = fake.notification_for(PAID)
    headers = fake.sign_notification(body, serial="PUB_KEY_ID_0114000000000000000000000000")

    # When / Then
    assert rejection(headers, body, config) == "unknown_serial"


def test_a_notification_signed_by_someone_else_is_refused(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given: the right key id, but the merchant's own key (anyone but WeChat) signed it
    headers, body = fake.notification_for(PAID)
    imposter = FakeWeChatPay(
        dataclasses.replace(
            fake.credentials, platform_private_key=fake.credentials.merchant_private_key
        )
    )
    forged = imposter.sign_notification(body, timestamp=int(headers["Wechatpay-Timestamp"]))

    # When / Then
    assert rejection(forged, body, config) == "bad_signature"


def test_a_tampered_body_is_refused(fake: FakeWeChatPay, config: WeChatPayConfig) -> None:
    # Given
    headers, body = fake.notification_for(PAID)
    tampered = body.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESZ"')

    # When / Then
    assert tampered != body
    assert rejection(headers, tampered, config) == "bad_signature"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_changed_byte_of_the_body_is_refused(
    fake: FakeWeChatPay, config: WeChatPayConfig, data: st.DataObject
) -> None:
    # Given
    headers, body = fake.notification_for(PAID, timestamp=1_900_000_000, nonce="N")
    position = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="position")
    flip = data.draw(st.integers(min_value=1, max_value=255), label="xor")
    tampered = body[:position] + bytes([body[position] ^ flip]) + body[position + 1 :]

    # When / Then
    assert rejection(headers, tampered, config) == "bad_signature"


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_of_the_ciphertext_fails_decryption_even_when_re_signed(
    fake: FakeWeChatPay, config: WeChatPayConfig, data: st.DataObject
) -> None:
    # Given: WeChat's signature is fine, the encrypted event was altered
    _, body = fake.notification_for(PAID)
    sealed = base64.b64decode(json.loads(body)["resource"]["ciphertext"])
    position = data.draw(st.integers(min_value=0, max_value=len(sealed) - 1), label="position")
    flip = data.draw(st.integers(min_value=1, max_value=255), label="xor")
    altered = sealed[:position] + bytes([sealed[position] ^ flip]) + sealed[position + 1 :]

    def change(envelope: dict[str, Any]) -> None:
        envelope["resource"]["ciphertext"] = base64.b64encode(altered).decode()

    headers, new_body = resealed(fake, body, change)

    # When / Then
    assert rejection(headers, new_body, config) == "decrypt_failed"


def test_a_notification_under_another_apiv3_key_fails_decryption(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    headers, body = fake.notification_for(PAID)
    other = dataclasses.replace(config, apiv3_key="0" * 32)

    # When / Then
    assert rejection(headers, body, other) == "decrypt_failed"


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_notification_more_than_five_minutes_off_is_stale(
    fake: FakeWeChatPay, config: WeChatPayConfig, age: int
) -> None:
    # Given
    headers, body = fake.notification_for(PAID, timestamp=1_900_000_000)

    # When / Then
    assert rejection(headers, body, config, now=at(1_900_000_000 + age)) == "stale"


def test_another_signature_type_is_unsupported(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    headers, body = fake.notification_for(PAID)
    headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"

    # When / Then
    assert rejection(headers, body, config) == "unsupported_algorithm"


def test_another_encryption_algorithm_is_unsupported(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    _, body = fake.notification_for(PAID)

    def change(envelope: dict[str, Any]) -> None:
        envelope["resource"]["algorithm"] = "AEAD_SM4_GCM"

    headers, new_body = resealed(fake, body, change)

    # When / Then
    assert rejection(headers, new_body, config) == "unsupported_algorithm"


@pytest.mark.parametrize(
    ("body", "timestamp_header"),
    [
        (b"not json", "1900000000"),
        (b"[]", "1900000000"),
        (b'{"id": "EV-1", "event_type": "TRANSACTION.SUCCESS"}', "1900000000"),
        (b'{"resource": "text"}', "1900000000"),
        (b'{"resource": {"algorithm": "AEAD_AES_256_GCM", "nonce": 1}}', "1900000000"),
        (b"{}", "19000x0000"),
    ],
)
def test_a_signed_but_malformed_notification_is_refused(
    fake: FakeWeChatPay, config: WeChatPayConfig, body: bytes, timestamp_header: str
) -> None:
    # Given
    headers = fake.sign_notification(body, timestamp=1_900_000_000)
    headers["Wechatpay-Timestamp"] = timestamp_header

    # When / Then
    assert rejection(headers, body, config, now=at(1_900_000_000)) == "malformed"


@pytest.mark.parametrize(
    "overrides",
    [{"out_trade_no": None}, {"transaction_id": ""}, {"amount": {"total": "8800"}}, {"mchid": 1}],
)
def test_a_payment_event_without_the_fields_quanzi_reads_is_malformed(
    fake: FakeWeChatPay, config: WeChatPayConfig, overrides: dict[str, Any]
) -> None:
    # Given
    headers, body = fake.notification_for(PAID, resource_overrides=overrides)

    # When / Then
    assert rejection(headers, body, config) == "malformed"


def test_a_refund_event_read_as_a_payment_says_what_is_missing(
    fake: FakeWeChatPay, config: WeChatPayConfig
) -> None:
    # Given
    headers, body = fake.refund_notification_for(REFUND)
    notification = verify(headers, body, config)

    # When / Then
    with pytest.raises(NotificationRejected) as rejected:
        _ = notification.appid
    assert (rejected.value.reason, rejected.value.message) == (
        "malformed",
        "The notification has no appid.",
    )
