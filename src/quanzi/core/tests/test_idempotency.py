"""The idempotency records behind ``Idempotency-Key``: begin, complete, replay, abandon."""

from __future__ import annotations

from typing import Any

import pytest

from quanzi.core.models import IdempotencyRecord
from quanzi.core.services.idempotency import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    Replay,
    idempotency_abandon,
    idempotency_begin,
    idempotency_complete,
    request_fingerprint,
)

pytestmark = pytest.mark.django_db


def test_json_bodies_count_by_meaning_and_everything_else_by_bytes() -> None:
    same = request_fingerprint("POST", "/a", b'{"x": 1, "y": [1, 2]}')

    assert request_fingerprint("POST", "/a", b'{"y":[1,2],\n "x":1}') == same
    assert request_fingerprint("POST", "/a", b'{"x": 2, "y": [1, 2]}') != same
    assert request_fingerprint("POST", "/b", b'{"x": 1, "y": [1, 2]}') != same
    assert request_fingerprint("PUT", "/a", b'{"x": 1, "y": [1, 2]}') != same
    assert request_fingerprint("POST", "/a", b"not json") == request_fingerprint(
        "POST", "/a", b"not json"
    )
    assert request_fingerprint("POST", "/a", b"not json") != request_fingerprint(
        "POST", "/a", b"not  json"
    )


def test_a_completed_request_is_replayed_with_its_status_body_and_type(operator: Any) -> None:
    # Given
    record = idempotency_begin(user_id=operator.pk, key="k", method="POST", path="/a", body=b"{}")
    assert isinstance(record, IdempotencyRecord)
    idempotency_complete(
        record=record, status_code=201, body=b'{"id": 1}', content_type="application/json"
    )

    # When
    replay = idempotency_begin(user_id=operator.pk, key="k", method="POST", path="/a", body=b"{ }")

    # Then
    assert replay == Replay(201, b'{"id": 1}', "application/json")
    assert IdempotencyRecord.objects.count() == 1


def test_a_request_in_progress_refuses_a_duplicate_and_another_body_is_a_reuse(
    operator: Any,
) -> None:
    idempotency_begin(user_id=operator.pk, key="k", method="POST", path="/a", body=b'{"n": 1}')

    with pytest.raises(IdempotencyInProgress) as busy:
        idempotency_begin(user_id=operator.pk, key="k", method="POST", path="/a", body=b'{"n": 1}')
    with pytest.raises(IdempotencyKeyReused) as reused:
        idempotency_begin(user_id=operator.pk, key="k", method="POST", path="/a", body=b'{"n": 2}')

    assert (busy.value.status, busy.value.code) == (409, "idempotency_in_progress")
    assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")
    assert IdempotencyRecord.objects.count() == 1


def test_an_abandoned_request_is_handled_afresh_on_retry(operator: Any) -> None:
    first = idempotency_begin(user_id=operator.pk, key="k", method="POST", path="/a", body=b"{}")
    assert isinstance(first, IdempotencyRecord)

    idempotency_abandon(record=first)
    retry = idempotency_begin(user_id=operator.pk, key="k", method="POST", path="/a", body=b"{}")

    assert isinstance(retry, IdempotencyRecord)
    assert retry.pk != first.pk
    assert retry.status_code is None
    assert IdempotencyRecord.objects.count() == 1
