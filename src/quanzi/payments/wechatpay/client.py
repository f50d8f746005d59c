"""Calls to WeChat Pay API v3 for one merchant: create, query, close and refund.

A thin layer over the ``wechatpayv3`` SDK, which signs each request with the merchant key and
verifies each 2xx answer against the WeChat Pay public key. Answers come back as the JSON WeChat
sent, as plain dicts. A refusal, a network failure or an answer that cannot be verified is a
``ProviderError``; an order or refund WeChat does not know is None.

Every write is keyed by the merchant's own number (``out_trade_no``, ``out_refund_no``), so
repeating a call with the same arguments after a timeout is safe: WeChat answers with the order
or refund it already has instead of making a second one. That holds only for the same arguments:
keep the description, amount and expiry of an order as first sent.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import requests
from django.utils.translation import gettext as _
from wechatpayv3 import WeChatPay, WeChatPayType  # type: ignore[import-untyped]

from quanzi.payments.wechatpay.config import WeChatPayConfig
from quanzi.payments.wechatpay.errors import ProviderError

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_TIMEOUT = (5.0, 15.0)  # seconds to connect, seconds to read

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}\Z")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}\Z")
_DESCRIPTION_BYTES = 127
_REASON_CHARS = 80
# WeChat documents these as "call again with the same parameters".
_RETRYABLE_CODES = frozenset({"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR"})
_NOT_FOUND_CODES = frozenset({"ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS"})


class WeChatPayClient:
    """One merchant's WeChat Pay API v3, through the SDK, against ``config.gateway``."""

    def __init__(
        self, config: WeChatPayConfig, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT
    ) -> None:
        self.config = config
        self._sdk: Any = WeChatPay(
            wechatpay_type=WeChatPayType.JSAPI,
            mchid=config.mchid,
            private_key=_unix_lines(config.merchant_private_key),
            cert_serial_no=config.merchant_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=config.notify_url,
            timeout=timeout,
            public_key=_unix_lines(config.platform_public_key),
            public_key_id=config.platform_public_key_id,
        )
        # The SDK has no setting for its host; the fake and a sandbox need another one.
        self._sdk._core._gate_way = config.gateway.rstrip("/")

    def create_jsapi(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        time_expire: datetime | None = None,
    ) -> dict[str, str]:
        """Place a JSAPI order and return what the member's WeChat browser passes to
        ``WeixinJSBridge.invoke('getBrandWCPayRequest', ...)``: appId, timeStamp, nonceStr,
        package ("prepay_id=..."), signType "RSA" and paySign, signed with the merchant key."""
        if not payer_openid:
            raise ValueError("a JSAPI order needs the payer's openid")
        body = self._pay(
            WeChatPayType.JSAPI,
            "jsapi",
            out_trade_no=out_trade_no,
            description=description,
            amount_fen=amount_fen,
            time_expire=time_expire,
            payer={"openid": payer_openid},
        )
        prepay_id = _text(body, "prepay_id", operation="jsapi")
        params = {
            "appId": self.config.appid,
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        params["paySign"] = cast(
            str,
            self._sdk.sign(
                [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
            ),
        )
        return params

    def create_native(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        time_expire: datetime | None = None,
    ) -> str:
        """Place a Native (QR code) order and return its ``code_url`` (weixin://wxpay/...)."""
        body = self._pay(
            WeChatPayType.NATIVE,
            "native",
            out_trade_no=out_trade_no,
            description=description,
            amount_fen=amount_fen,
            time_expire=time_expire,
            payer=None,
        )
        return _text(body, "code_url", operation="native")

    def query(self, *, out_trade_no: str) -> dict[str, Any] | None:
        """The order as WeChat has it, or None when WeChat has no such order (ORDER_NOT_EXIST).

        Keys: appid, mchid, out_trade_no, trade_state (NOTPAY, SUCCESS, CLOSED, REFUND,
        USERPAYING, PAYERROR...), trade_state_desc, amount.total, and once paid transaction_id,
        success_time, amount.payer_total, payer.openid.
        """
        _check_out_trade_no(out_trade_no)
        status, body = self._call("query", lambda: self._sdk.query(out_trade_no=out_trade_no))
        if _is_not_found(status, body):
            return None
        transaction = self._answer("query", status, body)
        if transaction.get("out_trade_no") != out_trade_no or (
            transaction.get("mchid") != self.config.mchid
        ):
            raise ProviderError(
                _("WeChat Pay answered a query for %(no)s about another order.")
                % {"no": out_trade_no},
                http_status=status,
            )
        return transaction

    def close(self, *, out_trade_no: str) -> None:
        """Close an unpaid order so it can no longer be paid. Closing a closed order, or one
        WeChat never saw, succeeds; closing a paid one raises ProviderError ORDERPAID."""
        _check_out_trade_no(out_trade_no)
        status, body = self._call("close", lambda: self._sdk.close(out_trade_no=out_trade_no))
        if _is_not_found(status, body):
            return
        self._answer("close", status, body)

    def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str = "",
        notify_url: str | None = None,
    ) -> dict[str, Any]:
        """Ask WeChat to refund ``refund_fen`` of a paid order of ``total_fen``.

        Returns the refund: refund_id, out_refund_no, status (PROCESSING, SUCCESS, ABNORMAL,
        CLOSED), amount.refund... The same ``out_refund_no`` never refunds twice; asking again
        returns the first refund. The result notification goes to ``notify_url``, else to the
        configured one.
        """
        _check_out_trade_no(out_trade_no)
        if not _OUT_REFUND_NO.match(out_refund_no):
            raise ValueError(f"out_refund_no {out_refund_no!r} is not 1-64 of [0-9A-Za-z_-|*@]")
        _check_fen(total_fen, "total_fen")
        _check_fen(refund_fen, "refund_fen")
        if refund_fen > total_fen:
            raise ValueError("refund_fen is more than total_fen")
        status, body = self._call(
            "refund",
            lambda: self._sdk.refund(
                out_refund_no=out_refund_no,
                amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
                out_trade_no=out_trade_no,
                reason=reason[:_REASON_CHARS] or None,
                notify_url=notify_url,
            ),
        )
        return self._answer("refund", status, body)

    def query_refund(self, *, out_refund_no: str) -> dict[str, Any] | None:
        """The refund as WeChat has it, or None when WeChat has no such refund."""
        if not _OUT_REFUND_NO.match(out_refund_no):
            raise ValueError(f"out_refund_no {out_refund_no!r} is not 1-64 of [0-9A-Za-z_-|*@]")
        status, body = self._call(
            "query_refund", lambda: self._sdk.query_refund(out_refund_no=out_refund_no)
        )
        if _is_not_found(status, body):
            return None
        return self._answer("query_refund", status, body)

    def _pay(
        self,
        pay_type: Any,
        operation: str,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        time_expire: datetime | None,
        payer: dict[str, str] | None,
    ) -> dict[str, Any]:
        _check_out_trade_no(out_trade_no)
        _check_fen(amount_fen, "amount_fen")
        clipped = description.encode()[:_DESCRIPTION_BYTES].decode(errors="ignore").strip()
        if not clipped:
            raise ValueError("an order needs a description")
        expires = _rfc3339(time_expire) if time_expire else None
        status, body = self._call(
            operation,
            lambda: self._sdk.pay(
                description=clipped,
                out_trade_no=out_trade_no,
                amount={"total": amount_fen, "currency": "CNY"},
                payer=payer,
                time_expire=expires,
                pay_type=pay_type,
            ),
        )
        return self._answer(operation, status, body)

    def _call(self, operation: str, call: Callable[[], Any]) -> tuple[int, Any]:
        """Run one SDK call; whatever goes wrong in it becomes a ProviderError."""
        try:
            status, body = cast("tuple[int, str | bytes]", call())
        except requests.RequestException as error:
            raise ProviderError(
                _("WeChat Pay did not answer (%(operation)s): %(error)s")
                % {"operation": operation, "error": type(error).__name__},
                retryable=True,
            ) from error
        except Exception as error:
            # The SDK raises a bare Exception when a 2xx answer's signature does not verify
            # against the WeChat Pay public key (or names another key). Nothing in such an
            # answer can be trusted.
            raise ProviderError(
                _("WeChat Pay's answer to %(operation)s could not be verified: %(error)s")
                % {"operation": operation, "error": error},
            ) from error
        if isinstance(body, bytes):
            body = body.decode(errors="replace")
        return status, body

    def _answer(self, operation: str, status: int, body: str) -> dict[str, Any]:
        """The JSON of a 2xx answer (empty for 204), or the refusal as a ProviderError."""
        parsed = _parse(body)
        if 200 <= status < 300:
            if parsed is None:
                if body.strip():
                    raise ProviderError(
                        _("WeChat Pay answered %(operation)s with something other than JSON.")
                        % {"operation": operation},
                        http_status=status,
                    )
                return {}
            return parsed
        code = str(parsed.get("code", "")) if parsed else ""
        message = str(parsed.get("message", "")) if parsed else body[:200]
        raise ProviderError(
            _("WeChat Pay refused %(operation)s: %(message)s (%(code)s, HTTP %(status)s).")
            % {"operation": operation, "message": message, "code": code or "-", "status": status},
            provider_code=code or None,
            http_status=status,
            retryable=status >= 500 or status == 429 or code in _RETRYABLE_CODES,
        )


def _parse(body: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _is_not_found(status: int, body: str) -> bool:
    parsed = _parse(body)
    return status == 404 and parsed is not None and parsed.get("code") in _NOT_FOUND_CODES


def _text(body: dict[str, Any], key: str, *, operation: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ProviderError(
            _("WeChat Pay's answer to %(operation)s has no %(key)s.")
            % {"operation": operation, "key": key}
        )
    return value


def _check_out_trade_no(out_trade_no: str) -> None:
    if not _OUT_TRADE_NO.match(out_trade_no):
        raise ValueError(f"out_trade_no {out_trade_no!r} is not 6-32 of [0-9A-Za-z_-|*]")


def _check_fen(amount: int, name: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"{name} must be a positive whole number of fen, not {amount!r}")


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("time_expire must be timezone-aware")
    return moment.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")


def _unix_lines(pem: str) -> str:
    # The SDK checks the PEM armour with "\n" and would wrap a CRLF file a second time.
    return pem.replace("\r\n", "\n").strip()
