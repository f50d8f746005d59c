"""A local stand-in for WeChat Pay API v3 that speaks and signs like the real one.

Tests::

    with FakeWeChatPay() as fake:
        client = WeChatPayClient(fake.config())
        code_url = client.create_native(out_trade_no="Q2025000001", ...)
        fake.pay("Q2025000001")
        headers, body = fake.notification_for("Q2025000001")

By hand: ``python -m quanzi.payments.wechatpay.fake --port 8765 --write-config DIR``.
"""

from quanzi.payments.wechatpay.fake.credentials import (
    FakeCredentials,
    cached_credentials,
    generate_credentials,
)
from quanzi.payments.wechatpay.fake.records import FakeRefusal, RecordedRequest
from quanzi.payments.wechatpay.fake.server import FakeWeChatPay

__all__ = [
    "FakeCredentials",
    "FakeRefusal",
    "FakeWeChatPay",
    "RecordedRequest",
    "cached_credentials",
    "generate_credentials",
]
