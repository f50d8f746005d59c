"""Telling the operator's own system about a health warning: a signed JSON POST.

The body is the warning as JSON; ``X-Quanzi-Signature: sha256=<hex>`` is the HMAC-SHA256 of the
body with the community's webhook secret, and ``X-Quanzi-Delivery`` the delivery's id (the same
on every retry, so a receiver can drop repeats). A 2xx ends it; anything else (or no answer in
``TIMEOUT`` seconds) is retried after 1, 2, 4, ... minutes, at most ``MAX_ATTEMPTS`` times. Each
delivery is one row, so a warning is posted to an address once however often the job runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import requests
from django.db import transaction
from django.db.models import Q

from quanzi.analytics.models import HealthSettings, WebhookDelivery
from quanzi.core import clock

TIMEOUT = 5
MAX_ATTEMPTS = 6


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhooks_deliver(limit: int = 100) -> int:
    """POST every delivery that is due; returns how many succeeded."""
    now = clock.now()
    due = WebhookDelivery.objects.filter(
        delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    delivered = 0
    for pk in list(due.order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, delivered_at__isnull=True)
                .select_related("warning__community")
                .first()
            )
            if delivery is None:
                continue
            delivered += _attempt(delivery)
    return delivered


def _attempt(delivery: WebhookDelivery) -> bool:
    conf = HealthSettings.objects.filter(community=delivery.warning.community).first()
    secret = conf.webhook_secret if conf else ""
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Quanzi-Webhook/1",
        "X-Quanzi-Delivery": str(delivery.pk),
        "X-Quanzi-Signature": signature(secret, body),
    }
    delivery.attempts += 1
    try:
        response = requests.post(delivery.url, data=body, headers=headers, timeout=TIMEOUT)
        delivery.status_code = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.error = "" if ok else response.text[:500]
    except requests.RequestException as exc:
        ok = False
        delivery.status_code = None
        delivery.error = str(exc)[:500]
    now = clock.now()
    if ok:
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + timedelta(minutes=2 ** (delivery.attempts - 1))
    delivery.save()
    return ok
