"""WeChat Pay API v3 for Quanzi: the protocol, not the bookkeeping.

``WeChatPayClient`` places, queries, closes and refunds orders; ``verify_notification`` checks
and decrypts what WeChat posts back. Nothing here touches the database: the payments services
decide what a paid order or a refund means. ``fake`` is a local WeChat Pay for tests.
"""

from quanzi.payments.wechatpay.client import WeChatPayClient
from quanzi.payments.wechatpay.config import WeChatPayConfig, WeChatPayConfigError
from quanzi.payments.wechatpay.errors import NotificationRejected, ProviderError, RejectionReason
from quanzi.payments.wechatpay.notifications import VerifiedNotification, verify_notification

__all__ = [
    "NotificationRejected",
    "ProviderError",
    "RejectionReason",
    "VerifiedNotification",
    "WeChatPayClient",
    "WeChatPayConfig",
    "WeChatPayConfigError",
    "verify_notification",
]
