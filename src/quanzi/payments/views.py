"""WeChat Pay's notification endpoint (支付结果通知 / 退款结果通知).

A plain Django view, outside ``/api/``: WeChat posts a signed, encrypted envelope and expects
WeChat's own answers, not the API's error shape. 204 with no body is the documented success;
anything else is a failure WeChat retries later, answered as ``{"code": "FAIL", "message"}``.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from quanzi.core.errors import ApplicationError
from quanzi.payments.services.notifications import (
    NotificationRefused,
    wechatpay_notification_receive,
)
from quanzi.payments.wechatpay import NotificationRejected

log = logging.getLogger(__name__)


def _fail(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"code": "FAIL", "message": message}, status=status)


@csrf_exempt
@require_POST
def wechatpay_notify(request: HttpRequest) -> HttpResponse:
    """Verify, decrypt and apply one notification, once; a replay or a forgery is refused
    and changes nothing."""
    try:
        wechatpay_notification_receive(headers=dict(request.headers), body=request.body)
    except (NotificationRejected, NotificationRefused) as exc:
        log.warning("wechatpay notification refused (%s): %s", exc.reason, exc.message)
        return _fail(exc.message)
    except ApplicationError as exc:
        # A refusal of the hub's own (a misconfigured merchant is a 5xx): WeChat retries.
        log.warning("wechatpay notification not applied (%s): %s", exc.code, exc.message)
        return _fail(exc.message, 500 if exc.status >= 500 else 400)
    return HttpResponse(status=204)
