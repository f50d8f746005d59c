"""Checking a WeChat Pay notification (回调通知) before anything acts on it.

WeChat POSTs a JSON envelope signed over "timestamp\\nnonce\\nbody\\n" with the WeChat Pay key,
the event inside encrypted with the merchant's APIv3 key. ``verify_notification`` proves the
envelope came from WeChat for this merchant within the last five minutes and decrypts the event.

It does not remember nonces. The caller stores each verified ``nonce`` under a unique constraint
in the same transaction that acts on the event, so a replay inside the five minutes is refused
there and one outside them is refused here as stale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.utils.translation import gettext as _

from quanzi.payments.wechatpay.config import WeChatPayConfig
from quanzi.payments.wechatpay.errors import NotificationRejected, RejectionReason
from quanzi.payments.wechatpay.signing import (
    AEAD_ALGORITHM,
    SIGNATURE_TYPE,
    aes_gcm_decrypt,
    load_public_key,
    rsa_verify,
    signed_message,
)

FRESHNESS = timedelta(seconds=300)

_REQUIRED_HEADERS = ("timestamp", "nonce", "signature", "serial")
_TRANSACTION_TEXT = ("out_trade_no", "trade_state", "mchid", "appid")
_REFUND_TEXT = (
    "out_trade_no",
    "out_refund_no",
    "refund_id",
    "refund_status",
    "transaction_id",
    "mchid",
)


@dataclass(frozen=True, slots=True)
class VerifiedNotification:
    """A notification proven to come from WeChat Pay, with its event decrypted.

    ``resource`` is the decrypted event: for ``TRANSACTION.SUCCESS`` the transaction as
    ``WeChatPayClient.query`` returns it, for ``REFUND.SUCCESS``/``REFUND.ABNORMAL``/
    ``REFUND.CLOSED`` the refund. The properties read it; the fields they need were checked.
    """

    id: str
    event_type: str
    resource_type: str
    summary: str
    create_time: str
    nonce: str
    timestamp: int
    resource: dict[str, Any]

    @property
    def is_transaction(self) -> bool:
        return self.event_type.startswith("TRANSACTION.")

    @property
    def is_refund(self) -> bool:
        return self.event_type.startswith("REFUND.")

    @property
    def out_trade_no(self) -> str:
        return self._text("out_trade_no")

    @property
    def transaction_id(self) -> str:
        return self._text("transaction_id")

    @property
    def trade_state(self) -> str:
        return self._text("trade_state")

    @property
    def mchid(self) -> str:
        return self._text("mchid")

    @property
    def appid(self) -> str:
        return self._text("appid")

    @property
    def success_time(self) -> str | None:
        value = self.resource.get("success_time")
        return value if isinstance(value, str) else None

    @property
    def amount_total(self) -> int:
        return self._amount("total")

    @property
    def payer_total(self) -> int | None:
        """What the payer paid after WeChat-side discounts; absent before payment."""
        amount = self.resource.get("amount")
        value = amount.get("payer_total") if isinstance(amount, dict) else None
        return value if _is_int(value) else None

    @property
    def out_refund_no(self) -> str:
        return self._text("out_refund_no")

    @property
    def refund_id(self) -> str:
        return self._text("refund_id")

    @property
    def refund_status(self) -> str:
        return self._text("refund_status")

    @property
    def amount_refund(self) -> int:
        return self._amount("refund")

    def _text(self, key: str) -> str:
        value = self.resource.get(key)
        if not isinstance(value, str) or not value:
            raise _rejected("malformed", _("The notification has no %(key)s.") % {"key": key})
        return value

    def _amount(self, key: str) -> int:
        amount = self.resource.get("amount")
        value = amount.get(key) if isinstance(amount, dict) else None
        if not _is_int(value):
            raise _rejected(
                "malformed", _("The notification has no amount.%(key)s.") % {"key": key}
            )
        return value


def verify_notification(
    *, headers: Mapping[str, object], body: bytes, config: WeChatPayConfig, now: datetime
) -> VerifiedNotification:
    """Check a notification's headers, signature, age and encryption; return its event.

    ``headers`` may be ``request.headers`` or ``request.META``: names are matched without regard
    to case, and ``HTTP_WECHATPAY_SIGNATURE`` counts as ``Wechatpay-Signature``. ``body`` is the
    raw request body, byte for byte. Raises ``NotificationRejected`` with a ``reason``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    found = _wechatpay_headers(headers)
    missing = [name for name in _REQUIRED_HEADERS if not found.get(name)]
    if missing:
        raise _rejected(
            "missing_headers",
            _("The notification lacks %(headers)s.")
            % {"headers": ", ".join(f"Wechatpay-{name.title()}" for name in missing)},
        )
    if found["serial"] != config.platform_public_key_id:
        raise _rejected(
            "unknown_serial",
            _("The notification is signed with key %(serial)s, not this merchant's.")
            % {"serial": found["serial"][:64]},
        )
    signature_type = found.get("signature-type")
    if signature_type and signature_type != SIGNATURE_TYPE:
        raise _rejected(
            "unsupported_algorithm",
            _("The notification is signed with %(type)s.") % {"type": signature_type[:64]},
        )
    if not found["timestamp"].isascii() or not found["timestamp"].isdigit():
        raise _rejected("malformed", _("The notification's timestamp is not a number."))
    timestamp = int(found["timestamp"])
    message = signed_message(found["timestamp"], found["nonce"], body)
    if not rsa_verify(_public_key(config.platform_public_key), message, found["signature"]):
        raise _rejected("bad_signature", _("The notification's signature does not verify."))
    if abs(now.timestamp() - timestamp) > FRESHNESS.total_seconds():
        raise _rejected("stale", _("The notification is more than five minutes old."))

    envelope = _json_object(body)
    resource = envelope.get("resource") if envelope else None
    if envelope is None or not isinstance(resource, dict):
        raise _rejected("malformed", _("The notification has no resource."))
    if resource.get("algorithm") != AEAD_ALGORITHM:
        raise _rejected(
            "unsupported_algorithm",
            _("The notification is encrypted with %(algorithm)s.")
            % {"algorithm": str(resource.get("algorithm"))[:64]},
        )
    ciphertext, nonce = resource.get("ciphertext"), resource.get("nonce")
    associated_data = resource.get("associated_data") or ""
    if not (
        isinstance(ciphertext, str) and isinstance(nonce, str) and isinstance(associated_data, str)
    ):
        raise _rejected("malformed", _("The notification's resource is incomplete."))
    try:
        plaintext = aes_gcm_decrypt(
            apiv3_key=config.apiv3_key,
            nonce=nonce,
            associated_data=associated_data,
            ciphertext=ciphertext,
        )
    except (InvalidTag, ValueError):
        raise _rejected(
            "decrypt_failed", _("The notification cannot be decrypted with the APIv3 key.")
        ) from None
    event = _json_object(plaintext)
    if event is None:
        raise _rejected("malformed", _("The notification's resource is not a JSON object."))

    notification = VerifiedNotification(
        id=str(envelope.get("id", "")),
        event_type=str(envelope.get("event_type", "")),
        resource_type=str(envelope.get("resource_type", "")),
        summary=str(envelope.get("summary", "")),
        create_time=str(envelope.get("create_time", "")),
        nonce=found["nonce"],
        timestamp=timestamp,
        resource=event,
    )
    _check_fields(notification)
    return notification


def _wechatpay_headers(headers: Mapping[str, object]) -> dict[str, str]:
    """{"timestamp": ..., "signature-type": ...} from any spelling of Wechatpay-* headers."""
    found: dict[str, str] = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue  # request.META also holds wsgi.input and friends
        name = key.lower().replace("_", "-").removeprefix("http-")
        if name.startswith("wechatpay-"):
            found[name.removeprefix("wechatpay-")] = value.strip()
    return found


def _check_fields(notification: VerifiedNotification) -> None:
    """The fields the properties promise, for the event types Quanzi acts on."""
    if notification.is_transaction:
        for key in _TRANSACTION_TEXT:
            notification._text(key)
        notification._amount("total")
        if notification.event_type == "TRANSACTION.SUCCESS":
            notification._text("transaction_id")
    elif notification.is_refund:
        for key in _REFUND_TEXT:
            notification._text(key)
        notification._amount("total")
        notification._amount("refund")


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None
    return parsed if isinstance(parsed, dict) else None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@lru_cache(maxsize=8)
def _public_key(pem: str) -> RSAPublicKey:
    return load_public_key(pem)


def _rejected(reason: RejectionReason, message: str) -> NotificationRejected:
    return NotificationRejected(message, reason=reason)
