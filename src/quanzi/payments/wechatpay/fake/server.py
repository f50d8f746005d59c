"""A local WeChat Pay API v3 over loopback HTTP, for tests and development.

``FakeWeChatPay`` serves the endpoints Quanzi's client calls (see ``endpoints``) and signs every
answer with its WeChat Pay key, so the real SDK talks to it unchanged. Orders and refunds live in
memory behind one lock. Tests drive what WeChat's users would do (``pay``, ``complete_refund``)
and what its network would do (``fail_next``, ``corrupt_next_signatures``), and build the
notifications WeChat would send.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from quanzi.payments.wechatpay.config import WeChatPayConfig
from quanzi.payments.wechatpay.fake import envelopes
from quanzi.payments.wechatpay.fake.credentials import FakeCredentials, cached_credentials
from quanzi.payments.wechatpay.fake.endpoints import Endpoints, json_body
from quanzi.payments.wechatpay.fake.records import (
    REFUND_STATES,
    TRADE_STATE_DESC,
    Failure,
    FakeRefusal,
    Order,
    RecordedRequest,
    State,
    digits,
)

logger = logging.getLogger(__name__)

_PAY = re.compile(r"/_fake/orders/([^/]+)/pay")
_COMPLETE = re.compile(r"/_fake/refunds/([^/]+)/complete")


class FakeWeChatPay:
    """WeChat Pay API v3 for one merchant, on 127.0.0.1 and a free port.

    Use as a context manager, or ``start()`` and ``stop()``. ``config()`` is the merchant's
    ``WeChatPayConfig`` pointed at this fake.
    """

    def __init__(
        self,
        credentials: FakeCredentials | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials or cached_credentials()[1]
        self._clock = clock
        self._address = (host, port)
        self._lock = threading.Lock()
        self._state = State()
        self._endpoints = Endpoints(self.credentials, self._state, self._lock, clock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Running

    def start(self) -> FakeWeChatPay:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(self._address, _handler_for(self))
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, name="fake-wechatpay", kwargs={"poll_interval": 0.05}
        )
        thread.daemon = True
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeWeChatPay:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake is not running; call start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def config(self, *, notify_url: str | None = None) -> WeChatPayConfig:
        return self.credentials.config(gateway=self.url, notify_url=notify_url)

    # What the tests read

    @property
    def orders(self) -> dict[str, dict[str, Any]]:
        """Every order as a query would show it, by out_trade_no."""
        with self._lock:
            return {no: order.view() for no, order in self._state.orders.items()}

    @property
    def refunds(self) -> dict[str, dict[str, Any]]:
        """Every refund as a refund query would show it, by out_refund_no."""
        with self._lock:
            return {no: refund.view() for no, refund in self._state.refunds.items()}

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request answered, oldest first (control calls excluded)."""
        with self._lock:
            return list(self._state.requests)

    def reset(self) -> None:
        """Forget every order, refund, injected failure and recorded request, so one running
        fake can serve many tests."""
        with self._lock:
            self._state.orders.clear()
            self._state.refunds.clear()
            self._state.failures.clear()
            self._state.corrupt_signatures = 0
            self._state.balance = None
            self._state.requests.clear()

    # What WeChat's users and network do

    def pay(
        self, out_trade_no: str, payer_total: int | None = None, *, payer_openid: str | None = None
    ) -> None:
        """The member pays: the order becomes SUCCESS with a new transaction_id.
        ``payer_total`` below the total stands for a WeChat-side discount."""
        with self._lock:
            order = self._state.orders.get(out_trade_no)
            if order is None or order.trade_state != "NOTPAY":
                raise ValueError(f"{out_trade_no} is not an unpaid order of this fake")
            expire = order.params.get("time_expire")
            if expire and datetime.fromisoformat(expire).timestamp() < self._clock():
                raise ValueError(f"{out_trade_no} expired at {expire}")
            paid = order.total if payer_total is None else payer_total
            if not 0 < paid <= order.total:
                raise ValueError(f"payer_total must be 1..{order.total}")
            order.trade_state = "SUCCESS"
            order.transaction_id = "4200" + digits(24)
            order.success_time = self._endpoints.now()
            order.payer_total = paid
            order.payer_openid = (
                payer_openid
                or order.params.get("payer", {}).get("openid")
                or "oFake" + secrets.token_urlsafe(18)
            )
            if self._state.balance is not None:
                self._state.balance += paid

    def complete_refund(self, out_refund_no: str, *, status: str = "SUCCESS") -> None:
        """WeChat finishes a PROCESSING refund: SUCCESS, ABNORMAL or CLOSED. A CLOSED refund
        gives its amount back to what the order can still refund."""
        if status not in REFUND_STATES:
            raise ValueError(f"status must be one of {REFUND_STATES}")
        with self._lock:
            refund = self._state.refunds.get(out_refund_no)
            if refund is None or refund.status != "PROCESSING":
                raise ValueError(f"{out_refund_no} is not a processing refund of this fake")
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = self._endpoints.now()
            if status == "CLOSED" and self._state.balance is not None:
                self._state.balance += refund.amount

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        code: str = "SYSTEM_ERROR",
        after_processing: bool = False,
    ) -> None:
        """Answer the next ``count`` API requests with this error. With ``after_processing``
        the request takes effect first, as when WeChat acted but its answer was lost."""
        with self._lock:
            self._state.failures.extend([Failure(status, code, after_processing)] * count)

    def corrupt_next_signatures(self, count: int = 1) -> None:
        """Sign the next ``count`` answers over other bytes, as a tampering proxy would."""
        with self._lock:
            self._state.corrupt_signatures += count

    def set_balance(self, fen: int | None) -> None:
        """The merchant's available balance; refunds beyond it get 403 NOT_ENOUGH. None (the
        default) is a balance that never runs out."""
        with self._lock:
            self._state.balance = fen

    # Notifications

    def notification_for(
        self,
        out_trade_no: str,
        *,
        event_type: str = "TRANSACTION.SUCCESS",
        timestamp: int | None = None,
        nonce: str | None = None,
        resource_overrides: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of the notification WeChat sends about this order, as it stands
        now. ``resource_overrides`` replaces top-level fields of the encrypted transaction."""
        with self._lock:
            resource = self._known_order(out_trade_no).view()
        if event_type == "TRANSACTION.SUCCESS" and resource["trade_state"] == "REFUND":
            # WeChat sent this when the order was paid; a later refund does not rewrite it.
            resource |= {"trade_state": "SUCCESS", "trade_state_desc": TRADE_STATE_DESC["SUCCESS"]}
        resource |= dict(resource_overrides or {})
        return envelopes.notification(
            self.credentials,
            event_type=event_type,
            resource=resource,
            original_type="transaction",
            timestamp=timestamp,
            nonce=nonce,
        )

    def refund_notification_for(
        self,
        out_refund_no: str,
        *,
        event_type: str | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
        resource_overrides: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The notification about a refund; its event type follows the refund's status
        (REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED) unless given."""
        with self._lock:
            refund = self._state.refunds.get(out_refund_no)
            if refund is None:
                raise ValueError(f"{out_refund_no} is not a refund of this fake")
            resource = refund.notification_resource()
            status = refund.status
        if event_type is None:
            if status == "PROCESSING":
                raise ValueError(f"{out_refund_no} is still processing; complete_refund() it")
            event_type = f"REFUND.{status}"
        resource |= dict(resource_overrides or {})
        return envelopes.notification(
            self.credentials,
            event_type=event_type,
            resource=resource,
            original_type="refund",
            timestamp=timestamp,
            nonce=nonce,
        )

    def sign_notification(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        serial: str | None = None,
    ) -> dict[str, str]:
        """Fresh WeChat headers for any body, e.g. one altered after it was encrypted."""
        return envelopes.sign_notification(
            self.credentials, body, timestamp=timestamp, nonce=nonce, serial=serial
        )

    @staticmethod
    def deliver(url: str, headers: Mapping[str, str], body: bytes, *, timeout: float = 10) -> int:
        """POST a notification as WeChat would; the receiver's HTTP status."""
        return requests.post(url, data=body, headers=dict(headers), timeout=timeout).status_code

    def notify(self, out_trade_no: str) -> int:
        """Send this order's TRANSACTION.SUCCESS notification to its notify_url."""
        with self._lock:
            url = str(self._known_order(out_trade_no).params["notify_url"])
        return self.deliver(url, *self.notification_for(out_trade_no))

    def notify_refund(self, out_refund_no: str) -> int:
        """Send this refund's notification to its notify_url (the order's when none was given)."""
        with self._lock:
            refund = self._state.refunds.get(out_refund_no)
            if refund is None:
                raise ValueError(f"{out_refund_no} is not a refund of this fake")
            url = str(refund.params.get("notify_url") or refund.order.params["notify_url"])
        return self.deliver(url, *self.refund_notification_for(out_refund_no))

    # Serving

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """One API request in, status and JSON body out. Control paths start with /_fake/."""
        headers = {name.lower(): value for name, value in headers.items()}
        if target.startswith("/_fake/"):
            return self._control(method, target)
        try:
            with self._lock:
                failure = self._state.failures.popleft() if self._state.failures else None
            if failure and not failure.after_processing:
                raise FakeRefusal(failure.status, failure.code, "系统错误")
            self._endpoints.authenticate(method, target, headers, body)
            payload = json_body(body) if body else None
            status, answer = self._endpoints.route(method, target, payload)
            if failure:
                raise FakeRefusal(failure.status, failure.code, "系统错误")
        except FakeRefusal as refusal:
            status, answer = refusal.status, {"code": refusal.code, "message": refusal.message}
        encoded = json.dumps(answer, ensure_ascii=False).encode() if answer is not None else b""
        with self._lock:
            self._state.requests.append(
                RecordedRequest(method, target, _json_or_none(body), status)
            )
        return status, encoded

    def signature_headers(self, body: bytes) -> dict[str, str]:
        """How WeChat signs an answer: with its key, over timestamp, nonce and body."""
        with self._lock:
            corrupt = self._state.corrupt_signatures > 0
            if corrupt:
                self._state.corrupt_signatures -= 1
        headers = envelopes.sign_notification(
            self.credentials, body + b"(tampered)" if corrupt else body
        )
        del headers["Content-Type"]
        return headers

    def _known_order(self, out_trade_no: str) -> Order:
        order = self._state.orders.get(out_trade_no)
        if order is None:
            raise ValueError(f"{out_trade_no} is not an order of this fake")
        return order

    def _control(self, method: str, target: str) -> tuple[int, bytes]:
        """Buttons for a developer running the fake by hand: pay an order, finish a refund,
        each sending its notification to the merchant's notify_url."""
        parts = urlsplit(target)
        try:
            if method == "GET" and parts.path == "/_fake/state":
                answer: Any = {"orders": self.orders, "refunds": self.refunds}
            elif method == "POST" and (match := _PAY.fullmatch(parts.path)):
                out_trade_no = unquote(match[1])
                self.pay(out_trade_no)
                answer = {"notified": _delivery(lambda: self.notify(out_trade_no))}
            elif method == "POST" and (match := _COMPLETE.fullmatch(parts.path)):
                out_refund_no = unquote(match[1])
                status = parse_qs(parts.query).get("status", ["SUCCESS"])[0]
                self.complete_refund(out_refund_no, status=status)
                answer = {"notified": _delivery(lambda: self.notify_refund(out_refund_no))}
            else:
                return 404, b'{"error": "unknown control path"}'
        except ValueError as error:
            return 400, json.dumps({"error": str(error)}, ensure_ascii=False).encode()
        return 200, json.dumps(answer, ensure_ascii=False).encode()


def _handler_for(fake: FakeWeChatPay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "fake-wechatpay"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = fake.handle(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in fake.signature_headers(answer).items():
                self.send_header(name, value)
            self.send_header("Request-ID", secrets.token_hex(16))
            if status != HTTPStatus.NO_CONTENT:
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if status != HTTPStatus.NO_CONTENT:
                self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("fake wechatpay: " + format, *args)

    return Handler


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _delivery(send: Callable[[], int]) -> int | str:
    try:
        return send()
    except requests.RequestException as error:
        return f"not delivered: {type(error).__name__}"
