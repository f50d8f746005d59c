"""What the fake keeps: orders, refunds and injected failures, and how WeChat shows them."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "已关闭",
    "REFUND": "转入退款",
}
REFUND_STATES = ("SUCCESS", "ABNORMAL", "CLOSED")


class FakeRefusal(Exception):
    """An answer other than 2xx: WeChat's status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    body: Any
    status: int


@dataclass(slots=True)
class Order:
    params: dict[str, Any]  # as created, to compare a repeated create against
    trade_type: str
    prepay_id: str
    code_url: str
    trade_state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""
    payer_total: int = 0
    payer_openid: str = ""

    @property
    def total(self) -> int:
        return int(self.params["amount"]["total"])

    def view(self) -> dict[str, Any]:
        """The order as GET /v3/pay/transactions/out-trade-no/{no} shows it."""
        params = self.params
        shown: dict[str, Any] = {
            "appid": params["appid"],
            "mchid": params["mchid"],
            "out_trade_no": params["out_trade_no"],
            "trade_type": self.trade_type,
            "trade_state": self.trade_state,
            "trade_state_desc": TRADE_STATE_DESC[self.trade_state],
            "attach": params.get("attach", ""),
            "amount": {"total": self.total, "currency": "CNY", "payer_currency": "CNY"},
            "promotion_detail": [],
        }
        if self.transaction_id:
            shown["amount"]["payer_total"] = self.payer_total
            shown |= {
                "transaction_id": self.transaction_id,
                "bank_type": "OTHERS",
                "success_time": self.success_time,
                "payer": {"openid": self.payer_openid},
            }
        return shown


@dataclass(slots=True)
class Refund:
    params: dict[str, Any]
    order: Order
    refund_id: str
    create_time: str
    status: str = "PROCESSING"
    success_time: str = ""

    @property
    def amount(self) -> int:
        return int(self.params["amount"]["refund"])

    def view(self) -> dict[str, Any]:
        """The refund as POST and GET /v3/refund/domestic/refunds show it."""
        order, refund = self.order, self.amount
        payer_refund = refund * order.payer_total // order.total
        shown: dict[str, Any] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.params["out_refund_no"],
            "transaction_id": order.transaction_id,
            "out_trade_no": order.params["out_trade_no"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": self.create_time,
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": order.total,
                "refund": refund,
                "from": [],
                "payer_total": order.payer_total,
                "payer_refund": payer_refund,
                "settlement_total": order.total,
                "settlement_refund": refund,
                "discount_refund": refund - payer_refund,
                "currency": "CNY",
                "refund_fee": 0,
            },
            "promotion_detail": [],
        }
        if self.success_time:
            shown["success_time"] = self.success_time
        return shown

    def notification_resource(self) -> dict[str, Any]:
        """The refund as a REFUND.* notification carries it."""
        shown = self.view()
        resource = {
            "mchid": self.order.params["mchid"],
            "out_trade_no": shown["out_trade_no"],
            "transaction_id": shown["transaction_id"],
            "out_refund_no": shown["out_refund_no"],
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": shown["user_received_account"],
            "amount": {
                key: shown["amount"][key]
                for key in ("total", "refund", "payer_total", "payer_refund")
            },
        }
        if self.success_time:
            resource["success_time"] = self.success_time
        return resource


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    code: str
    after_processing: bool


@dataclass(slots=True)
class State:
    orders: dict[str, Order] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    failures: deque[Failure] = field(default_factory=deque)
    corrupt_signatures: int = 0
    balance: int | None = None
    requests: list[RecordedRequest] = field(default_factory=list)


def digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))
