"""Personal data at rest: encrypted, found through a keyed hash, shown masked.

PIPL treats phone numbers and WeChat ids as personal information. They are stored encrypted
(Fernet: AES-128-CBC with an HMAC-SHA256 tag); equality look-ups go through an HMAC-SHA256 of
the normalised value under a separate derived key, so the database alone reveals neither.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@cache
def _subkey(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        settings.QUANZI_DATA_KEY.encode()
    )


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_subkey(b"quanzi personal data encryption")))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt: QUANZI_DATA_KEY differs from the one used") from None


def keyed_hash(kind: str, value: str) -> str:
    """A stable look-up key for a normalised value; the kind keeps namespaces apart."""
    message = kind.encode() + b"\0" + value.encode()
    return hmac.new(_subkey(b"quanzi personal data lookup"), message, hashlib.sha256).hexdigest()


def mask(value: str, *, keep_start: int = 3, keep_end: int = 4) -> str:
    """``138****5678``: enough to recognise, not enough to call."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * 4 + value[-keep_end:]


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not domain:
        return mask(value)
    return (local[:1] + "***@" + domain) if local else "***@" + domain
