"""The WeChat Pay API v3 endpoints the fake serves, and the rules WeChat applies to them.

Each request must carry a WECHATPAY2-SHA256-RSA2048 Authorization signed with the merchant key
over "method\\npath?query\\ntimestamp\\nnonce\\nbody\\n" within five minutes of now. A refusal is
a ``FakeRefusal`` with WeChat's status and code. The error codes follow WeChat's documentation
where it names one; where it is vague (a refund of an unpaid order) the nearest documented code.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from quanzi.payments.wechatpay.client import CHINA_STANDARD_TIME
from quanzi.payments.wechatpay.fake.credentials import FakeCredentials
from quanzi.payments.wechatpay.fake.records import (
    FakeRefusal,
    Order,
    Refund,
    State,
    digits,
)
from quanzi.payments.wechatpay.signing import load_public_key, rsa_verify, signed_message

REQUEST_CLOCK_SKEW = 300  # seconds WeChat tolerates between its clock and the request's
_AUTHORIZATION = re.compile(r"WECHATPAY2-SHA256-RSA2048 (?P<params>.+)\Z")
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}\Z")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}\Z")
_CREATE = re.compile(r"/v3/pay/transactions/(jsapi|native)")
_ORDER = re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)")
_CLOSE = re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)/close")
_REFUND = re.compile(r"/v3/refund/domestic/refunds/([^/]+)")


class Endpoints:
    """WeChat's side of the API for one merchant, over state shared with the test controls."""

    def __init__(
        self,
        credentials: FakeCredentials,
        state: State,
        lock: threading.Lock,
        clock: Callable[[], float],
    ) -> None:
        self.credentials = credentials
        self._state = state
        self._lock = lock
        self._clock = clock
        self._merchant_key = load_public_key(credentials.merchant_public_key)

    def now(self) -> str:
        return datetime.fromtimestamp(self._clock(), CHINA_STANDARD_TIME).isoformat(
            timespec="seconds"
        )

    def authenticate(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> None:
        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        params = dict(_AUTH_PARAM.findall(match["params"])) if match else {}
        if not match or not {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} <= set(
            params
        ):
            raise FakeRefusal(401, "SIGN_ERROR", "Authorization 头缺失或格式错误")
        if params["mchid"] != self.credentials.mchid:
            raise FakeRefusal(401, "SIGN_ERROR", "商户号与签名不一致")
        if params["serial_no"] != self.credentials.merchant_serial_no:
            raise FakeRefusal(401, "SIGN_ERROR", "商户证书序列号有误")
        if (
            not params["timestamp"].isdigit()
            or abs(int(params["timestamp"]) - self._clock()) > REQUEST_CLOCK_SKEW
        ):
            raise FakeRefusal(401, "SIGN_ERROR", "请求时间戳已过期")
        message = signed_message(method, target, params["timestamp"], params["nonce_str"], body)
        if not rsa_verify(self._merchant_key, message, params["signature"]):
            raise FakeRefusal(401, "SIGN_ERROR", "签名错误")
        serial = headers.get("wechatpay-serial")
        if serial and serial != self.credentials.platform_public_key_id:
            raise FakeRefusal(400, "PARAM_ERROR", "Wechatpay-Serial 对应的公钥不存在")

    def route(self, method: str, target: str, payload: Any) -> tuple[int, Any]:
        """Status and JSON answer (None for 204) of an authenticated request."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        with self._lock:
            if method == "POST" and (match := _CREATE.fullmatch(path)):
                return 200, self._create(match[1].upper(), payload)
            if method == "GET" and (match := _ORDER.fullmatch(path)):
                self._check_mchid(query.get("mchid", [""])[0])
                return 200, self._order(unquote(match[1]), "ORDER_NOT_EXIST").view()
            if method == "POST" and (match := _CLOSE.fullmatch(path)):
                self._close(unquote(match[1]), payload)
                return 204, None
            if method == "POST" and path == "/v3/refund/domestic/refunds":
                return 200, self._refund(payload)
            if method == "GET" and (match := _REFUND.fullmatch(path)):
                refund = self._state.refunds.get(unquote(match[1]))
                if refund is None:
                    raise FakeRefusal(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
                return 200, refund.view()
        raise FakeRefusal(404, "NOT_FOUND", "请求的资源不存在")

    def _create(self, trade_type: str, payload: Any) -> dict[str, str]:
        params = _object(payload)
        self._check_mchid(params.get("mchid"))
        if params.get("appid") != self.credentials.appid:
            raise FakeRefusal(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        description = params.get("description")
        if not isinstance(description, str) or not 0 < len(description.encode()) <= 127:
            raise FakeRefusal(400, "PARAM_ERROR", "description 长度应为1-127字节")
        out_trade_no = params.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not _OUT_TRADE_NO.match(out_trade_no):
            raise FakeRefusal(400, "PARAM_ERROR", "out_trade_no 格式错误")
        notify_url = params.get("notify_url")
        if not isinstance(notify_url, str) or not notify_url.startswith(("https://", "http://")):
            raise FakeRefusal(400, "PARAM_ERROR", "notify_url 格式错误")
        amount = _object(params.get("amount"))
        if _whole(amount.get("total")) <= 0:
            raise FakeRefusal(400, "PARAM_ERROR", "amount.total 应为正整数")
        if amount.setdefault("currency", "CNY") != "CNY":
            raise FakeRefusal(400, "PARAM_ERROR", "amount.currency 仅支持CNY")
        if trade_type == "JSAPI" and not _object(params.get("payer")).get("openid"):
            raise FakeRefusal(400, "PARAM_ERROR", "缺少参数 payer.openid")
        if (expire := params.get("time_expire")) is not None:
            try:
                datetime.fromisoformat(str(expire))
            except ValueError:
                raise FakeRefusal(400, "PARAM_ERROR", "time_expire 格式错误") from None

        existing = self._state.orders.get(out_trade_no)
        if existing is not None:
            if existing.trade_state in ("SUCCESS", "REFUND"):
                raise FakeRefusal(400, "ORDERPAID", "该订单已支付")
            if existing.trade_state == "CLOSED":
                raise FakeRefusal(400, "ORDER_CLOSED", "订单已关闭")
            if existing.params != params or existing.trade_type != trade_type:
                raise FakeRefusal(400, "INVALID_REQUEST", "201 商户订单号重复")
            order = existing
        else:
            order = Order(
                params=copy.deepcopy(params),
                trade_type=trade_type,
                prepay_id="wx" + time.strftime("%d%H%M%S") + secrets.token_hex(13),
                code_url="weixin://wxpay/bizpayurl?pr=" + secrets.token_urlsafe(7),
            )
            self._state.orders[out_trade_no] = order
        if trade_type == "JSAPI":
            return {"prepay_id": order.prepay_id}
        return {"code_url": order.code_url}

    def _close(self, out_trade_no: str, payload: Any) -> None:
        self._check_mchid(_object(payload).get("mchid"))
        order = self._order(out_trade_no, "ORDER_NOT_EXIST")
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise FakeRefusal(400, "ORDERPAID", "订单已支付")
        order.trade_state = "CLOSED"

    def _refund(self, payload: Any) -> dict[str, Any]:
        params = _object(payload)
        out_refund_no = params.get("out_refund_no")
        if not isinstance(out_refund_no, str) or not _OUT_REFUND_NO.match(out_refund_no):
            raise FakeRefusal(400, "PARAM_ERROR", "out_refund_no 格式错误")
        amount = _object(params.get("amount"))
        refund, total = _whole(amount.get("refund")), _whole(amount.get("total"))
        if amount.get("currency", "CNY") != "CNY":
            raise FakeRefusal(400, "PARAM_ERROR", "amount.currency 仅支持CNY")
        if refund <= 0:
            raise FakeRefusal(400, "PARAM_ERROR", "amount.refund 应为正整数")
        order = self._order_of(params)

        existing = self._state.refunds.get(out_refund_no)
        if existing is not None:
            same = existing.order is order and existing.amount == refund and order.total == total
            if not same:
                raise FakeRefusal(
                    400, "INVALID_REQUEST", "退款单号重复，且退款参数与之前请求不一致"
                )
            return existing.view()
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise FakeRefusal(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total != order.total:
            raise FakeRefusal(400, "PARAM_ERROR", "订单金额 amount.total 与原订单不一致")
        refunded = sum(
            r.amount
            for r in self._state.refunds.values()
            if r.order is order and r.status != "CLOSED"
        )
        if refunded + refund > order.total:
            raise FakeRefusal(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        if self._state.balance is not None:
            if refund > self._state.balance:
                raise FakeRefusal(403, "NOT_ENOUGH", "基本账户余额不足，请充值后重新发起")
            self._state.balance -= refund
        created = Refund(
            params=copy.deepcopy(params),
            order=order,
            refund_id="50" + digits(27),
            create_time=self.now(),
        )
        self._state.refunds[out_refund_no] = created
        order.trade_state = "REFUND"
        return created.view()

    def _order_of(self, params: dict[str, Any]) -> Order:
        if out_trade_no := params.get("out_trade_no"):
            return self._order(str(out_trade_no), "RESOURCE_NOT_EXISTS")
        if transaction_id := params.get("transaction_id"):
            for order in self._state.orders.values():
                if order.transaction_id == transaction_id:
                    return order
            raise FakeRefusal(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        raise FakeRefusal(400, "PARAM_ERROR", "out_trade_no 与 transaction_id 须填写一个")

    def _order(self, out_trade_no: str, code: str = "ORDER_NOT_EXIST") -> Order:
        """The order; caller holds the lock. Unknown ones are WeChat's 404 with ``code``."""
        order = self._state.orders.get(out_trade_no)
        if order is None:
            raise FakeRefusal(404, code, "订单不存在")
        return order

    def _check_mchid(self, mchid: object) -> None:
        if mchid != self.credentials.mchid:
            raise FakeRefusal(400, "MCH_NOT_EXISTS", "商户号不存在或与请求方不一致")


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise FakeRefusal(400, "PARAM_ERROR", "请求体不是合法的JSON") from None


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FakeRefusal(400, "PARAM_ERROR", "请求参数格式错误")
    return value


def _whole(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FakeRefusal(400, "PARAM_ERROR", "金额应为整数（单位：分）")
    return value
