"""WeChatPayClient against the local fake WeChat Pay, over loopback HTTP with real signatures."""

from __future__ import annotations

import base64
import dataclasses
import functools
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanzi.payments.wechatpay import (
    ProviderError,
    WeChatPayClient,
    WeChatPayConfig,
    WeChatPayConfigError,
)
from quanzi.payments.wechatpay.fake import FakeWeChatPay, cached_credentials
from quanzi.payments.wechatpay.fake.__main__ import environment, load_or_create
from quanzi.payments.wechatpay.signing import load_public_key


@pytest.fixture(scope="module")
def running_fake() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay() as running:
        yield running


@pytest.fixture(scope="module")
def module_client(running_fake: FakeWeChatPay) -> WeChatPayClient:
    # Building a client parses the merchant key (tens of milliseconds): once per module.
    return WeChatPayClient(running_fake.config(), timeout=(2, 5))


@pytest.fixture
def fake(running_fake: FakeWeChatPay) -> FakeWeChatPay:
    running_fake.reset()
    return running_fake


@pytest.fixture
def client(fake: FakeWeChatPay, module_client: WeChatPayClient) -> WeChatPayClient:
    return module_client


def new_no(prefix: str = "Q") -> str:
    return prefix + uuid.uuid4().hex[:20]


def paid_order(fake: FakeWeChatPay, client: WeChatPayClient, total: int = 100) -> str:
    out_trade_no = new_no()
    client.create_native(out_trade_no=out_trade_no, description="会员年费", amount_fen=total)
    fake.pay(out_trade_no)
    return out_trade_no


# Creating orders


def test_native_order_returns_a_code_url_and_waits_unpaid(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    # When
    code_url = client.create_native(
        out_trade_no="Q2030000001", description="会员年费", amount_fen=9900, time_expire=expires
    )

    # Then
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    order = fake.orders["Q2030000001"]
    assert (order["trade_type"], order["trade_state"], order["amount"]["total"]) == (
        "NATIVE",
        "NOTPAY",
        9900,
    )
    sent = fake.requests[-1]
    assert (sent.method, sent.path, sent.status) == ("POST", "/v3/pay/transactions/native", 200)
    assert sent.body == {
        "notify_url": client.config.notify_url,
        "description": "会员年费",
        "out_trade_no": "Q2030000001",
        "amount": {"total": 9900, "currency": "CNY"},
        "time_expire": "2030-01-02T11:04:05+08:00",
        "appid": client.config.appid,
        "mchid": client.config.mchid,
    }


def test_jsapi_order_gives_bridge_parameters_signed_with_the_merchant_key(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # When
    params = client.create_jsapi(
        out_trade_no="Q2030000002", description="拼团商品", amount_fen=1, payer_openid="oMember1"
    )

    # Then
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == client.config.appid
    assert params["signType"] == "RSA"
    assert params["package"].startswith("prepay_id=wx")
    message = "".join(
        params[key] + "\n" for key in ("appId", "timeStamp", "nonceStr", "package")
    ).encode()
    merchant_key = load_public_key(fake.credentials.merchant_public_key)
    merchant_key.verify(
        base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256()
    )
    assert fake.requests[-1].body["payer"] == {"openid": "oMember1"}


def test_creating_again_with_the_same_arguments_returns_the_same_prepay_id(
    client: WeChatPayClient,
) -> None:
    # Given
    first = client.create_jsapi(
        out_trade_no="Q2030000003", description="拼团商品", amount_fen=500, payer_openid="oM"
    )

    # When
    again = client.create_jsapi(
        out_trade_no="Q2030000003", description="拼团商品", amount_fen=500, payer_openid="oM"
    )

    # Then
    assert again["package"] == first["package"]


def test_creating_again_with_other_arguments_is_refused(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    client.create_native(out_trade_no="Q2030000004", description="商品", amount_fen=500)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.create_native(out_trade_no="Q2030000004", description="商品", amount_fen=501)
    assert (refused.value.provider_code, refused.value.http_status) == ("INVALID_REQUEST", 400)
    assert refused.value.retryable is False
    assert fake.orders["Q2030000004"]["amount"]["total"] == 500


def test_creating_a_paid_order_again_is_refused_as_orderpaid(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.create_native(out_trade_no=out_trade_no, description="会员年费", amount_fen=100)
    assert refused.value.provider_code == "ORDERPAID"
    assert (refused.value.code, refused.value.status) == ("provider_error", 502)


def test_a_long_description_is_cut_to_127_bytes_between_characters(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # When
    client.create_native(out_trade_no="Q2030000005", description="汉" * 50, amount_fen=1)

    # Then
    assert fake.requests[-1].body["description"] == "汉" * 42


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"out_trade_no": "Q1"}, "out_trade_no 'Q1' is not 6-32 of [0-9A-Za-z_-|*]"),
        ({"out_trade_no": "Q/../2030"}, "out_trade_no 'Q/../2030' is not 6-32 of [0-9A-Za-z_-|*]"),
        ({"amount_fen": 0}, "amount_fen must be a positive whole number of fen, not 0"),
        ({"amount_fen": True}, "amount_fen must be a positive whole number of fen, not True"),
        ({"description": "  "}, "an order needs a description"),
        ({"time_expire": datetime(2030, 1, 1)}, "time_expire must be timezone-aware"),
    ],
)
def test_arguments_wechat_would_refuse_are_caught_before_sending(
    fake: FakeWeChatPay, client: WeChatPayClient, arguments: dict[str, object], message: str
) -> None:
    # Given
    call: dict[str, object] = {
        "out_trade_no": "Q2030000006",
        "description": "商品",
        "amount_fen": 100,
        "time_expire": None,
    } | arguments

    # When / Then
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        client.create_native(**call)  # type: ignore[arg-type]
    assert fake.requests == []


# Querying and closing


def test_query_follows_the_order_through_payment(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    client.create_native(out_trade_no="Q2030000007", description="商品", amount_fen=1000)
    unpaid = client.query(out_trade_no="Q2030000007")

    # When
    fake.pay("Q2030000007", payer_total=900)
    paid = client.query(out_trade_no="Q2030000007")

    # Then
    assert unpaid is not None
    assert (unpaid["trade_state"], unpaid["amount"]["total"]) == ("NOTPAY", 1000)
    assert "transaction_id" not in unpaid
    assert paid is not None
    assert paid["trade_state"] == "SUCCESS"
    assert paid["transaction_id"] == fake.orders["Q2030000007"]["transaction_id"]
    assert (paid["amount"]["total"], paid["amount"]["payer_total"]) == (1000, 900)
    assert (paid["mchid"], paid["appid"]) == (client.config.mchid, client.config.appid)
    assert paid["success_time"].endswith("+08:00")


def test_query_of_an_order_wechat_does_not_know_is_none(client: WeChatPayClient) -> None:
    assert client.query(out_trade_no="Q2030009999") is None


def test_close_ends_an_unpaid_order(fake: FakeWeChatPay, client: WeChatPayClient) -> None:
    # Given
    client.create_native(out_trade_no="Q2030000008", description="商品", amount_fen=100)

    # When
    client.close(out_trade_no="Q2030000008")
    client.close(out_trade_no="Q2030000008")  # again: nothing more to do

    # Then
    assert fake.orders["Q2030000008"]["trade_state"] == "CLOSED"
    with pytest.raises(ValueError, match="is not an unpaid order"):
        fake.pay("Q2030000008")


def test_an_order_past_its_expiry_cannot_be_paid(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    client.create_native(
        out_trade_no="Q2030000015",
        description="商品",
        amount_fen=100,
        time_expire=datetime(2020, 1, 1, tzinfo=UTC),
    )

    # When / Then
    with pytest.raises(ValueError, match="expired at 2020-01-01T08:00:00"):
        fake.pay("Q2030000015")
    assert fake.orders["Q2030000015"]["trade_state"] == "NOTPAY"


def test_close_of_an_order_wechat_never_saw_succeeds(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # When
    client.close(out_trade_no="Q2030009998")

    # Then
    assert fake.requests[-1].status == 404
    assert fake.orders == {}


def test_close_of_a_paid_order_is_refused_and_leaves_it_paid(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.close(out_trade_no=out_trade_no)
    assert (refused.value.provider_code, refused.value.http_status) == ("ORDERPAID", 400)
    assert fake.orders[out_trade_no]["trade_state"] == "SUCCESS"


# Refunds


def test_full_refund_is_processing_then_succeeds(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client, total=2500)

    # When
    refund = client.refund(
        out_trade_no=out_trade_no,
        out_refund_no="R2030000001",
        refund_fen=2500,
        total_fen=2500,
        reason="团购未成团",
    )
    fake.complete_refund("R2030000001")

    # Then
    assert refund["status"] == "PROCESSING"
    assert (refund["out_refund_no"], refund["out_trade_no"]) == ("R2030000001", out_trade_no)
    assert (refund["amount"]["refund"], refund["amount"]["total"]) == (2500, 2500)
    assert fake.requests[-1].body["reason"] == "团购未成团"
    settled = client.query_refund(out_refund_no="R2030000001")
    assert settled is not None
    assert (settled["status"], settled["refund_id"]) == ("SUCCESS", refund["refund_id"])
    order = client.query(out_trade_no=out_trade_no)
    assert order is not None
    assert order["trade_state"] == "REFUND"


def test_partial_refunds_up_to_the_total_then_no_more(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client, total=100)
    client.refund(out_trade_no=out_trade_no, out_refund_no="R-a", refund_fen=30, total_fen=100)
    client.refund(out_trade_no=out_trade_no, out_refund_no="R-b", refund_fen=70, total_fen=100)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.refund(out_trade_no=out_trade_no, out_refund_no="R-c", refund_fen=1, total_fen=100)
    assert (refused.value.provider_code, refused.value.http_status) == ("INVALID_REQUEST", 400)
    assert {no: r["amount"]["refund"] for no, r in fake.refunds.items()} == {"R-a": 30, "R-b": 70}


def test_over_refund_is_refused_with_wechats_code_and_changes_nothing(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client, total=100)
    client.refund(out_trade_no=out_trade_no, out_refund_no="R-first", refund_fen=60, total_fen=100)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.refund(
            out_trade_no=out_trade_no, out_refund_no="R-second", refund_fen=60, total_fen=100
        )
    assert refused.value.provider_code == "INVALID_REQUEST"
    assert "申请退款金额超过订单可退金额" in refused.value.message
    assert list(fake.refunds) == ["R-first"]


def test_retrying_a_refund_with_the_same_number_refunds_once(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client, total=100)
    first = client.refund(
        out_trade_no=out_trade_no, out_refund_no="R-once", refund_fen=100, total_fen=100
    )

    # When
    again = client.refund(
        out_trade_no=out_trade_no, out_refund_no="R-once", refund_fen=100, total_fen=100
    )

    # Then
    assert again["refund_id"] == first["refund_id"]
    assert list(fake.refunds) == ["R-once"]


def test_a_refund_whose_answer_was_lost_is_found_by_retrying(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given: WeChat makes the refund but the answer never arrives
    out_trade_no = paid_order(fake, client, total=100)
    fake.fail_next(after_processing=True)
    with pytest.raises(ProviderError) as lost:
        client.refund(
            out_trade_no=out_trade_no, out_refund_no="R-lost", refund_fen=40, total_fen=100
        )

    # When
    retried = client.refund(
        out_trade_no=out_trade_no, out_refund_no="R-lost", refund_fen=40, total_fen=100
    )

    # Then
    assert (lost.value.provider_code, lost.value.retryable) == ("SYSTEM_ERROR", True)
    assert retried["refund_id"] == fake.refunds["R-lost"]["refund_id"]
    assert list(fake.refunds) == ["R-lost"]


def test_the_same_refund_number_with_another_amount_is_refused(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client, total=100)
    client.refund(out_trade_no=out_trade_no, out_refund_no="R-same", refund_fen=10, total_fen=100)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.refund(
            out_trade_no=out_trade_no, out_refund_no="R-same", refund_fen=20, total_fen=100
        )
    assert refused.value.provider_code == "INVALID_REQUEST"
    assert fake.refunds["R-same"]["amount"]["refund"] == 10


def test_refund_beyond_the_merchant_balance_is_not_enough(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client, total=100)
    fake.set_balance(50)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.refund(
            out_trade_no=out_trade_no, out_refund_no="R-poor", refund_fen=60, total_fen=100
        )
    assert (refused.value.provider_code, refused.value.http_status) == ("NOT_ENOUGH", 403)
    assert fake.refunds == {}


def test_refund_of_an_unpaid_order_is_refused(fake: FakeWeChatPay, client: WeChatPayClient) -> None:
    # Given
    client.create_native(out_trade_no="Q2030000009", description="商品", amount_fen=100)

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.refund(
            out_trade_no="Q2030000009", out_refund_no="R-unpaid", refund_fen=100, total_fen=100
        )
    assert refused.value.provider_code == "INVALID_REQUEST"
    assert fake.refunds == {}
    assert fake.orders["Q2030000009"]["trade_state"] == "NOTPAY"


def test_query_of_a_refund_wechat_does_not_know_is_none(client: WeChatPayClient) -> None:
    assert client.query_refund(out_refund_no="R-nothing") is None


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(asks=st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=5))
def test_refunds_never_add_up_to_more_than_was_paid(
    fake: FakeWeChatPay, client: WeChatPayClient, asks: list[int]
) -> None:
    # Given
    out_trade_no = paid_order(fake, client, total=120)
    accepted: list[int] = []

    # When / Then: each ask is granted exactly when it still fits
    for number, ask in enumerate(asks):
        refund = functools.partial(
            client.refund,
            out_trade_no=out_trade_no,
            out_refund_no=f"{out_trade_no}-{number}",
            refund_fen=ask,
            total_fen=120,
        )
        if sum(accepted) + ask <= 120:
            assert refund()["amount"]["refund"] == ask
            accepted.append(ask)
        else:
            with pytest.raises(ProviderError) as refused:
                refund()
            assert refused.value.provider_code == "INVALID_REQUEST"

    ours = [r for r in fake.refunds.values() if r["out_trade_no"] == out_trade_no]
    assert [r["amount"]["refund"] for r in ours] == accepted


# Failures


def test_an_answer_with_a_tampered_signature_is_not_trusted(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    out_trade_no = paid_order(fake, client)
    fake.corrupt_next_signatures()

    # When / Then
    with pytest.raises(ProviderError) as refused:
        client.query(out_trade_no=out_trade_no)
    assert refused.value.provider_code is None
    assert "could not be verified" in refused.value.message
    assert client.query(out_trade_no=out_trade_no) is not None  # the next answer is signed well


def test_a_transient_server_error_surfaces_as_a_retryable_provider_error(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # Given
    fake.fail_next(2)

    # When
    failures = []
    for _ in range(2):
        with pytest.raises(ProviderError) as failed:
            client.create_native(out_trade_no="Q2030000010", description="商品", amount_fen=100)
        failures.append(failed.value)
    code_url = client.create_native(out_trade_no="Q2030000010", description="商品", amount_fen=100)

    # Then
    assert [(f.provider_code, f.http_status, f.retryable) for f in failures] == [
        ("SYSTEM_ERROR", 500, True),
        ("SYSTEM_ERROR", 500, True),
    ]
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert list(fake.orders) == ["Q2030000010"]


def test_a_gateway_that_does_not_answer_is_a_retryable_provider_error() -> None:
    # Given: generated credentials point at the discard port until a fake is started
    config, _ = cached_credentials()

    # When / Then
    with pytest.raises(ProviderError) as failed:
        WeChatPayClient(config, timeout=(1, 1)).query(out_trade_no="Q2030000011")
    assert (failed.value.provider_code, failed.value.http_status) == (None, None)
    assert failed.value.retryable is True


def test_a_request_signed_with_another_key_is_refused_by_wechat(fake: FakeWeChatPay) -> None:
    # Given
    impostor = dataclasses.replace(
        fake.config(), merchant_private_key=fake.credentials.platform_private_key
    )

    # When / Then
    with pytest.raises(ProviderError) as refused:
        WeChatPayClient(impostor).create_native(
            out_trade_no="Q2030000012", description="商品", amount_fen=100
        )
    assert (refused.value.provider_code, refused.value.http_status) == ("SIGN_ERROR", 401)
    assert fake.orders == {}


def test_the_fake_refuses_an_unsigned_request_and_signs_its_answer(fake: FakeWeChatPay) -> None:
    # When
    answer = requests.get(
        fake.url + "/v3/pay/transactions/out-trade-no/Q2030000013?mchid=1900000001", timeout=5
    )

    # Then
    assert answer.status_code == 401
    assert answer.json()["code"] == "SIGN_ERROR"
    signed = (
        f"{answer.headers['Wechatpay-Timestamp']}\n{answer.headers['Wechatpay-Nonce']}\n"
        f"{answer.text}\n"
    ).encode()
    load_public_key(fake.credentials.platform_public_key).verify(
        base64.b64decode(answer.headers["Wechatpay-Signature"]),
        signed,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert answer.headers["Wechatpay-Serial"] == fake.credentials.platform_public_key_id


# Configuration


def test_from_env_is_none_without_a_merchant_number() -> None:
    assert WeChatPayConfig.from_env({"QUANZI_WECHATPAY_APPID": "wx1"}) is None


@pytest.fixture(scope="module")
def runner_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys as ``python -m quanzi.payments.wechatpay.fake --write-config DIR`` leaves them."""
    directory = tmp_path_factory.mktemp("wechatpay-fake")
    load_or_create(directory, notify_url="https://quanzi.test/notify")
    return directory


def test_from_env_reads_what_the_fake_runner_prints(runner_dir: Path) -> None:
    # Given
    credentials = load_or_create(runner_dir, notify_url="https://quanzi.test/notify")
    env = environment(credentials, runner_dir, "http://127.0.0.1:8765")

    # When
    config = WeChatPayConfig.from_env(env)

    # Then
    assert config == credentials.config(gateway="http://127.0.0.1:8765")
    assert config.notify_url == "https://quanzi.test/notify"
    assert credentials.apiv3_key not in repr(config)
    assert (runner_dir / "fake-credentials.json").stat().st_mode & 0o777 == 0o600


def test_from_env_names_the_missing_variable(runner_dir: Path) -> None:
    # Given
    credentials = load_or_create(runner_dir, notify_url="https://quanzi.test/notify")
    env = environment(credentials, runner_dir, "http://127.0.0.1:8765")
    del env["QUANZI_WECHATPAY_PUBLIC_KEY_ID"]

    # When / Then
    with pytest.raises(WeChatPayConfigError) as refused:
        WeChatPayConfig.from_env(env)
    assert refused.value.message == (
        "QUANZI_WECHATPAY_PUBLIC_KEY_ID is not set; WeChat Pay is only partly configured."
    )


def test_from_env_names_a_key_file_that_cannot_be_read(runner_dir: Path, tmp_path: Path) -> None:
    # Given
    credentials = load_or_create(runner_dir, notify_url="https://quanzi.test/notify")
    env = environment(credentials, runner_dir, "http://127.0.0.1:8765")
    env["QUANZI_WECHATPAY_PRIVATE_KEY_FILE"] = str(tmp_path / "absent.pem")

    # When / Then
    with pytest.raises(WeChatPayConfigError) as refused:
        WeChatPayConfig.from_env(env)
    assert refused.value.message == (
        f"QUANZI_WECHATPAY_PRIVATE_KEY_FILE names {tmp_path / 'absent.pem'}, which cannot be "
        "read: No such file or directory"
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"apiv3_key": "short"}, "apiv3_key", "The WeChat Pay APIv3 key must be 32 characters."),
        ({"mchid": ""}, "mchid", "WeChat Pay mchid is empty."),
        (
            {"merchant_private_key": "-----BEGIN RSA PRIVATE KEY-----\nAAAA"},
            "merchant_private_key",
            "The merchant private key must be a PKCS#8 PEM file (apiclient_key.pem).",
        ),
        (
            {"platform_public_key": "not a key"},
            "platform_public_key",
            "The WeChat Pay public key is not a readable RSA public key.",
        ),
    ],
)
def test_a_config_that_could_not_work_is_refused(
    change: dict[str, str], field: str, message: str
) -> None:
    # Given
    config, _ = cached_credentials()

    # When / Then
    with pytest.raises(WeChatPayConfigError) as refused:
        dataclasses.replace(config, **change)
    assert refused.value.fields == {field: [message]}


def test_time_expire_is_sent_in_china_standard_time(
    fake: FakeWeChatPay, client: WeChatPayClient
) -> None:
    # When
    client.create_native(
        out_trade_no="Q2030000014",
        description="商品",
        amount_fen=100,
        time_expire=datetime(2030, 6, 30, 20, 0, tzinfo=UTC) + timedelta(hours=1),
    )

    # Then
    assert fake.requests[-1].body["time_expire"] == "2030-07-01T05:00:00+08:00"
