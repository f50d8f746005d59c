"""Notifications as WeChat Pay sends them: an encrypted event in a signed JSON envelope.

The event is sealed with AEAD_AES_256_GCM under the APIv3 key and a fresh 12-character nonce;
the envelope is signed with the WeChat Pay private key over "timestamp\\nnonce\\nbody\\n" and
the signature travels in the Wechatpay-* headers.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from quanzi.payments.wechatpay.client import CHINA_STANDARD_TIME
from quanzi.payments.wechatpay.fake.credentials import FakeCredentials
from quanzi.payments.wechatpay.signing import (
    AEAD_ALGORITHM,
    SIGNATURE_TYPE,
    aes_gcm_encrypt,
    load_private_key,
    rsa_sign,
    signed_message,
)

SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}


def notification(
    credentials: FakeCredentials,
    *,
    event_type: str,
    resource: Mapping[str, Any],
    original_type: str,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and body of one notification carrying ``resource``."""
    resource_nonce = secrets.token_urlsafe(9)  # 12 characters, as WeChat's are
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": SUMMARIES.get(event_type, event_type),
        "resource": {
            "original_type": original_type,
            "algorithm": AEAD_ALGORITHM,
            "ciphertext": aes_gcm_encrypt(
                apiv3_key=credentials.apiv3_key,
                nonce=resource_nonce,
                associated_data=original_type,
                plaintext=json.dumps(resource, ensure_ascii=False).encode(),
            ),
            "associated_data": original_type,
            "nonce": resource_nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return sign_notification(credentials, body, timestamp=timestamp, nonce=nonce), body


def sign_notification(
    credentials: FakeCredentials,
    body: bytes,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    serial: str | None = None,
) -> dict[str, str]:
    """The headers WeChat sends with ``body``: a fresh nonce unless one is given."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16).upper()
    signature = rsa_sign(
        load_private_key(credentials.platform_private_key), signed_message(stamp, nonce, body)
    )
    return {
        "Content-Type": "application/json",
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": serial or credentials.platform_public_key_id,
        "Wechatpay-Signature": signature,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        "Wechatpay-Timestamp": stamp,
    }
