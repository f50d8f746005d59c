"""The provider interface and its two providers.

``manual``: the member transfers money offline and an operator confirms it, with the amount
checked; a refund is the operator paying back offline, recorded when approved. ``wechatpay``:
WeChat Pay API v3 (JSAPI in the WeChat browser, Native QR codes elsewhere), through the
``wechatpayv3`` SDK; see ``quanzi.payments.wechatpay``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from quanzi.payments.errors import PaymentError
from quanzi.payments.models import Payment, Provider, Refund, RefundStatus
from quanzi.payments.wechatpay import ProviderError, WeChatPayClient, WeChatPayConfig


@dataclass(frozen=True)
class ProviderTransaction:
    """A payment as the provider sees it."""

    paid: bool
    closed: bool
    transaction_id: str
    amount_minor: int
    paid_at: datetime | None
    mchid: str = ""
    appid: str = ""


@dataclass(frozen=True)
class ProviderRefund:
    status: str  # RefundStatus
    provider_refund_id: str = ""
    failure: str = ""


class PaymentProvider(Protocol):
    name: str

    def start(self, payment: Payment, *, mode: str, payer_openid: str) -> dict[str, Any]: ...

    def query(self, payment: Payment) -> ProviderTransaction | None: ...

    def close(self, payment: Payment) -> None: ...

    def refund(self, refund: Refund) -> ProviderRefund: ...

    def query_refund(self, refund: Refund) -> ProviderRefund | None: ...


class ManualProvider:
    name: str = Provider.MANUAL

    def start(self, payment: Payment, *, mode: str, payer_openid: str) -> dict[str, Any]:
        return {
            "mode": "transfer",
            "instructions": settings.QUANZI_MANUAL_PAYMENT_INSTRUCTIONS,
            "reference": payment.out_trade_no,
        }

    def query(self, payment: Payment) -> ProviderTransaction | None:
        return None  # only the operator knows; they confirm by hand

    def close(self, payment: Payment) -> None:
        return None

    def refund(self, refund: Refund) -> ProviderRefund:
        # The operator pays the member back offline; approving the refund records that.
        return ProviderRefund(status=RefundStatus.SUCCEEDED)

    def query_refund(self, refund: Refund) -> ProviderRefund | None:
        return None


def _time(value: object) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


_REFUND_STATES = {
    "SUCCESS": RefundStatus.SUCCEEDED,
    "PROCESSING": RefundStatus.PROCESSING,
    "CLOSED": RefundStatus.FAILED,
    "ABNORMAL": RefundStatus.FAILED,
}


def _refund_result(data: dict[str, Any]) -> ProviderRefund:
    status = _REFUND_STATES.get(str(data.get("status", "")), RefundStatus.PROCESSING)
    return ProviderRefund(
        status=status,
        provider_refund_id=str(data.get("refund_id", "")),
        failure=str(data.get("status", "")) if status == RefundStatus.FAILED else "",
    )


@contextmanager
def _arguments_checked() -> Iterator[None]:
    """The client checks its arguments before sending (``ValueError``); say so as a field error."""
    try:
        yield
    except ValueError as exc:
        raise PaymentError(str(exc), field="payment") from None


class WeChatPayProvider:
    name: str = Provider.WECHATPAY

    def __init__(self, config: WeChatPayConfig) -> None:
        self.config = config
        self.client = WeChatPayClient(config)

    def start(self, payment: Payment, *, mode: str, payer_openid: str) -> dict[str, Any]:
        description = payment.description[:127]
        if mode == "jsapi":
            if not payer_openid:
                raise PaymentError(
                    _("Paying inside WeChat needs the member's openid."), field="openid"
                )
            with _arguments_checked():
                params = self.client.create_jsapi(
                    out_trade_no=payment.out_trade_no,
                    description=description,
                    amount_fen=payment.amount_minor,
                    payer_openid=payer_openid,
                    time_expire=payment.expires_at,
                )
            return {"mode": "jsapi", "jsapi": params}
        with _arguments_checked():
            code_url = self.client.create_native(
                out_trade_no=payment.out_trade_no,
                description=description,
                amount_fen=payment.amount_minor,
                time_expire=payment.expires_at,
            )
        return {"mode": "native", "code_url": code_url}

    def query(self, payment: Payment) -> ProviderTransaction | None:
        with _arguments_checked():
            data = self.client.query(out_trade_no=payment.out_trade_no)
        if data is None:
            return None
        state = str(data.get("trade_state", ""))
        amount = data.get("amount") or {}
        return ProviderTransaction(
            paid=state in ("SUCCESS", "REFUND"),
            closed=state in ("CLOSED", "REVOKED", "PAYERROR"),
            transaction_id=str(data.get("transaction_id", "")),
            amount_minor=int(amount.get("total", 0)),
            paid_at=_time(data.get("success_time")),
            mchid=str(data.get("mchid", "")),
            appid=str(data.get("appid", "")),
        )

    def close(self, payment: Payment) -> None:
        with _arguments_checked():
            self.client.close(out_trade_no=payment.out_trade_no)

    def refund(self, refund: Refund) -> ProviderRefund:
        with _arguments_checked():
            data = self.client.refund(
                out_trade_no=refund.payment.out_trade_no,
                out_refund_no=refund.out_refund_no,
                refund_fen=refund.amount_minor,
                total_fen=refund.payment.amount_minor,
                reason=refund.reason,
            )
        return _refund_result(data)

    def query_refund(self, refund: Refund) -> ProviderRefund | None:
        with _arguments_checked():
            data = self.client.query_refund(out_refund_no=refund.out_refund_no)
        return None if data is None else _refund_result(data)


def wechatpay_config() -> WeChatPayConfig | None:
    """The configured merchant: ``settings.QUANZI_WECHATPAY_CONFIG`` (tests set it), else the
    ``QUANZI_WECHATPAY_*`` environment variables."""
    config = getattr(settings, "QUANZI_WECHATPAY_CONFIG", None)
    if config is not None:
        return config  # type: ignore[no-any-return]
    return WeChatPayConfig.from_env(os.environ)


_providers: dict[object, PaymentProvider] = {}


def provider_for(name: str) -> PaymentProvider:
    if name == Provider.MANUAL:
        return ManualProvider()
    if name == Provider.WECHATPAY:
        config = wechatpay_config()
        if config is None:
            raise PaymentError(
                _("WeChat Pay is not set up on this hub; pay by transfer."), field="provider"
            )
        if config not in _providers:
            _providers[config] = WeChatPayProvider(config)
        return _providers[config]
    raise PaymentError(_("Unknown payment provider %(name)r.") % {"name": name}, field="provider")


__all__ = [
    "ManualProvider",
    "PaymentProvider",
    "ProviderError",
    "ProviderRefund",
    "ProviderTransaction",
    "WeChatPayProvider",
    "provider_for",
    "wechatpay_config",
]
