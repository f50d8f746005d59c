"""The two refusals of the WeChat Pay protocol layer.

``ProviderError`` is WeChat Pay saying no, not answering, or answering with a response whose
signature does not verify. ``NotificationRejected`` is an inbound notification that failed one
of the checks in ``verify_notification``; its ``reason`` says which.
"""

from __future__ import annotations

from typing import Literal

from quanzi.core.errors import ApplicationError

RejectionReason = Literal[
    "missing_headers",
    "unknown_serial",
    "bad_signature",
    "stale",
    "malformed",
    "unsupported_algorithm",
    "decrypt_failed",
]


class ProviderError(ApplicationError):
    """WeChat Pay refused, failed or could not be trusted.

    ``provider_code`` is WeChat's own code (``ORDERPAID``, ``NOT_ENOUGH``, ``SYSTEM_ERROR``...)
    or None when no answer came back or the answer's signature failed. ``retryable`` is True for
    answers WeChat documents as "call again with the same parameters" (5xx, rate limits) and for
    network failures; every write this client makes is keyed by the merchant's own number, so
    such a retry cannot pay or refund twice.
    """

    code = "provider_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        provider_code: str | None = None,
        http_status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.provider_code = provider_code
        self.http_status = http_status
        self.retryable = retryable


class NotificationRejected(ApplicationError):
    """An inbound notification that is not provably from WeChat Pay, fresh and readable."""

    code = "notification_rejected"
    status = 400

    def __init__(self, message: str, *, reason: RejectionReason) -> None:
        super().__init__(message)
        self.reason: RejectionReason = reason
