"""Idempotent writes: the same key and body get the first response back.

A client sends ``Idempotency-Key`` with a write. The first request inserts a record (unique per
operator and key) before it is handled, so a concurrent duplicate finds it and is told the first
is still in progress; once handled, the response is stored and replayed for every retry with the
same body. The same key with another body is refused: it is a client bug, not a retry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import ApplicationError, Conflict
from quanzi.core.models import IdempotencyRecord


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: bytes
    content_type: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """A hash of what the request asks for; JSON bodies count by meaning, not by spacing."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.encode() + b"\0" + path.encode() + b"\0" + canonical).hexdigest()


def idempotency_begin(
    *, user_id: int, key: str, method: str, path: str, body: bytes
) -> IdempotencyRecord | Replay:
    if not key or len(key) > 255 or not key.isprintable():
        raise ApplicationError(
            _("Idempotency-Key must be 1-255 printable characters."), field="Idempotency-Key"
        )
    fingerprint = request_fingerprint(method, path, body)
    cutoff = clock.now() - timedelta(hours=settings.QUANZI_IDEMPOTENCY_TTL_HOURS)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user_id=user_id,
                    key=key,
                    method=method,
                    path=path,
                    request_hash=fingerprint,
                )
        except IntegrityError:
            pass
        # The key is taken. By a record past its time (the hourly purge has not run yet): that
        # one is forgotten and the request is new. Checked only on a clash, so a fresh key
        # costs one statement.
        if not IdempotencyRecord.objects.filter(
            user_id=user_id, key=key, created_at__lt=cutoff
        ).delete()[0]:
            break
    existing = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
    if existing is None:
        # The first request failed and was abandoned between our insert and this read.
        raise IdempotencyInProgress(
            _("A request with this Idempotency-Key was just being handled; retry shortly."),
            field="Idempotency-Key",
        )
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            _(
                "This Idempotency-Key was already used with a different request; "
                "use a new key for a new request."
            ),
            field="Idempotency-Key",
        )
    if existing.status_code is None:
        raise IdempotencyInProgress(
            _("A request with this Idempotency-Key is still being handled; retry shortly."),
            field="Idempotency-Key",
        )
    return Replay(existing.status_code, bytes(existing.response_body or b""), existing.content_type)


def idempotency_complete(
    *, record: IdempotencyRecord, status_code: int, body: bytes, content_type: str
) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=status_code,
        response_body=body,
        content_type=content_type,
        completed_at=clock.now(),
    )


def idempotency_abandon(*, record: IdempotencyRecord) -> None:
    """Forget a request that failed on our side, so the client's retry is handled afresh."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()
