"""Key material for the fake: a merchant key pair, a "WeChat Pay" key pair and an APIv3 key.

The client holds the merchant private key and the WeChat Pay public key, as in production; the
fake holds the other halves, so each side can only verify what the other signed. Two RSA-2048
keys take a noticeable moment to generate, so tests share ``cached_credentials()``.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import string
from dataclasses import dataclass, field
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from quanzi.payments.wechatpay.config import WeChatPayConfig

# The discard port: a configuration that has not been pointed at a fake yet fails fast.
UNREACHABLE_GATEWAY = "http://127.0.0.1:9"
DEFAULT_NOTIFY_URL = "http://127.0.0.1:8000/payments/wechatpay/notify/"


@dataclass(frozen=True, slots=True)
class FakeCredentials:
    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key: str = field(repr=False)
    merchant_public_key: str = field(repr=False)
    platform_private_key: str = field(repr=False)
    platform_public_key: str = field(repr=False)
    platform_public_key_id: str
    apiv3_key: str = field(repr=False)
    notify_url: str = DEFAULT_NOTIFY_URL

    def config(self, *, gateway: str, notify_url: str | None = None) -> WeChatPayConfig:
        """The merchant's side of these credentials, talking to ``gateway``."""
        return WeChatPayConfig(
            mchid=self.mchid,
            appid=self.appid,
            merchant_serial_no=self.merchant_serial_no,
            merchant_private_key=self.merchant_private_key,
            apiv3_key=self.apiv3_key,
            platform_public_key=self.platform_public_key,
            platform_public_key_id=self.platform_public_key_id,
            notify_url=notify_url or self.notify_url,
            gateway=gateway,
        )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FakeCredentials:
        return cls(**json.loads(text))


def generate_credentials(
    mchid: str = "1900000001",
    appid: str = "wx0000000000000001",
    *,
    notify_url: str = DEFAULT_NOTIFY_URL,
) -> tuple[WeChatPayConfig, FakeCredentials]:
    """Fresh keys: the merchant's configuration (its gateway reaches nothing yet) and the
    credentials a ``FakeWeChatPay`` needs to play WeChat for that merchant."""
    merchant, platform = _rsa_key(), _rsa_key()
    alphabet = string.ascii_letters + string.digits
    credentials = FakeCredentials(
        mchid=mchid,
        appid=appid,
        merchant_serial_no=secrets.token_hex(20).upper(),
        merchant_private_key=_private_pem(merchant),
        merchant_public_key=_public_pem(merchant.public_key()),
        platform_private_key=_private_pem(platform),
        platform_public_key=_public_pem(platform.public_key()),
        platform_public_key_id="PUB_KEY_ID_01" + mchid + _digits(30 - len(mchid)),
        apiv3_key="".join(secrets.choice(alphabet) for _ in range(32)),
        notify_url=notify_url,
    )
    return credentials.config(gateway=UNREACHABLE_GATEWAY), credentials


@cache
def cached_credentials() -> tuple[WeChatPayConfig, FakeCredentials]:
    """One set of generated credentials per process, for tests."""
    return generate_credentials()


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(max(count, 0)))
