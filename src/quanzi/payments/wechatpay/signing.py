"""The cryptography WeChat Pay API v3 uses, in one place.

Every request, response and notification is signed with SHA256withRSA (PKCS#1 v1.5) over
newline-terminated lines, the signature sent in base64. Notification bodies are encrypted with
AEAD_AES_256_GCM under the merchant's 32-byte APIv3 key. The client's signing is done by the
SDK; notifications and the fake use these.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
AEAD_ALGORITHM = "AEAD_AES_256_GCM"


@lru_cache(maxsize=16)
def load_private_key(pem: str) -> RSAPrivateKey:
    """The RSA key in ``pem``; ValueError for anything else. Parsing checks the key, which
    takes tens of milliseconds, so each key is parsed once per process."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (TypeError, UnsupportedAlgorithm) as error:  # encrypted, or not RSA/EC/...
        raise ValueError(str(error)) from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str) -> RSAPublicKey:
    """The RSA public key in ``pem``; ValueError for anything else."""
    try:
        key = load_pem_public_key(pem.encode())
    except UnsupportedAlgorithm as error:
        raise ValueError(str(error)) from None
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def signed_message(*lines: str | bytes) -> bytes:
    """The bytes WeChat signs: each line followed by a newline."""
    return b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)


def rsa_sign(key: RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:  # binascii.Error is one
        return False
    try:
        key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def aes_gcm_encrypt(*, apiv3_key: str, nonce: str, associated_data: str, plaintext: bytes) -> str:
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode()


def aes_gcm_decrypt(*, apiv3_key: str, nonce: str, associated_data: str, ciphertext: str) -> bytes:
    """The plaintext; raises ``cryptography.exceptions.InvalidTag`` when it was altered or the
    key is wrong, and ``ValueError`` when the ciphertext is not base64."""
    sealed = base64.b64decode(ciphertext, validate=True)
    return AESGCM(apiv3_key.encode()).decrypt(nonce.encode(), sealed, associated_data.encode())
