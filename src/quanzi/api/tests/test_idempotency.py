"""Idempotent writes through the API: a retry with the same key gets the first answer."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from quanzi.core import clock
from quanzi.core.models import Activity, IdempotencyRecord
from quanzi.core.services.tokens import api_token_create, operator_create

URL = "/api/v1/activities"
BODY = {"kind": "join", "member_id": 42, "channel": "douyin", "data": {"a": 1, "b": [1, 2]}}


def _api_activities() -> int:
    return Activity.objects.filter(source="api").count()


@pytest.mark.django_db
def test_the_same_key_and_body_replays_the_first_response_and_writes_once(api: Any) -> None:
    # Given
    first = api.post(URL, BODY, headers={"Idempotency-Key": "join-42"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    # When
    again = api.post(URL, BODY, headers={"Idempotency-Key": "join-42"})

    # Then
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert _api_activities() == 1
    assert Activity.objects.get(source="api").pk == first.json()["id"]


@pytest.mark.django_db
def test_json_with_keys_in_another_order_and_other_spacing_is_the_same_body(api: Any) -> None:
    # Given
    first = api.post(URL, json.dumps(BODY), headers={"Idempotency-Key": "k1"})

    # When
    reordered = json.dumps(
        {"data": {"b": [1, 2], "a": 1}, "channel": "douyin", "member_id": 42, "kind": "join"},
        indent=4,
    )
    again = api.post(URL, reordered, headers={"Idempotency-Key": "k1"})

    # Then
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _api_activities() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused_and_writes_nothing(api: Any) -> None:
    # Given
    first = api.post(URL, BODY, headers={"Idempotency-Key": "k2"})
    assert first.status_code == 201

    # When
    other = api.post(URL, {**BODY, "member_id": 43}, headers={"Idempotency-Key": "k2"})

    # Then
    assert other.status_code == 422
    assert other.json() == {
        "error": {
            "code": "idempotency_key_reused",
            "message": "This Idempotency-Key was already used with a different request; "
            "use a new key for a new request.",
            "fields": {
                "Idempotency-Key": [
                    "This Idempotency-Key was already used with a different request; "
                    "use a new key for a new request."
                ]
            },
        }
    }
    assert list(Activity.objects.filter(source="api").values_list("member_id", flat=True)) == [42]
    # The first answer is still what a true retry gets.
    assert api.post(URL, BODY, headers={"Idempotency-Key": "k2"}).content == first.content


@pytest.mark.django_db
def test_keys_belong_to_one_operator(api: Any, client: Client) -> None:
    # Given
    mine = api.post(URL, BODY, headers={"Idempotency-Key": "shared-key"})
    operator_create(username="second", password="another-Long-pass-77")
    _, raw = api_token_create(username="second")

    # When another operator sends the same key and body
    theirs = client.post(
        URL,
        json.dumps(BODY),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "shared-key"},
    )

    # Then it writes its own activity
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert _api_activities() == 2
    assert IdempotencyRecord.objects.filter(key="shared-key").count() == 2


@pytest.mark.django_db
def test_a_refused_request_is_replayed_as_refused_and_a_valid_retry_needs_a_new_key(
    api: Any,
) -> None:
    # Given a request the API refuses on its merits
    bad = api.post(URL, {"kind": "teleport"}, headers={"Idempotency-Key": "k3"})
    assert bad.status_code == 422

    # When it is retried unchanged
    again = api.post(URL, {"kind": "teleport"}, headers={"Idempotency-Key": "k3"})

    # Then the same refusal comes back and nothing was written
    assert (again.status_code, again.content) == (422, bad.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _api_activities() == 0


@pytest.mark.django_db
def test_an_unauthenticated_request_with_a_key_stores_nothing(
    client: Client, operator: Any
) -> None:
    response = client.post(
        URL, json.dumps(BODY), content_type="application/json", headers={"Idempotency-Key": "k4"}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert IdempotencyRecord.objects.count() == 0
    assert _api_activities() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_a_malformed_key_is_refused_and_writes_nothing(api: Any, key: str) -> None:
    response = api.post(URL, BODY, headers={"Idempotency-Key": key})

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "Idempotency-Key": ["Idempotency-Key must be 1-255 printable characters."]
    }
    assert IdempotencyRecord.objects.count() == 0
    assert _api_activities() == 0


@pytest.mark.django_db
def test_a_key_older_than_its_lifetime_is_handled_afresh(api: Any, settings: Any) -> None:
    # Given a record from long ago
    first = api.post(URL, BODY, headers={"Idempotency-Key": "old"})
    long_ago = clock.now() - timedelta(hours=settings.QUANZI_IDEMPOTENCY_TTL_HOURS + 1)
    IdempotencyRecord.objects.filter(key="old").update(created_at=long_ago)

    # When
    again = api.post(URL, BODY, headers={"Idempotency-Key": "old"})

    # Then
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert _api_activities() == 2


@pytest.mark.django_db
def test_a_request_still_in_progress_is_answered_409_and_writes_nothing(
    api: Any, operator: Any
) -> None:
    # Given the first request with this key has begun and not finished
    from quanzi.core.services.idempotency import idempotency_begin

    idempotency_begin(
        user_id=operator.pk, key="busy", method="POST", path=URL, body=json.dumps(BODY).encode()
    )

    # When
    response = api.post(URL, BODY, headers={"Idempotency-Key": "busy"})

    # Then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert _api_activities() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_write_exactly_once(api_token: str) -> None:
    # Given ten clients about to send the same request at the same moment
    threads = 10
    barrier = threading.Barrier(threads)
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(
                URL,
                json.dumps(BODY),
                content_type="application/json",
                headers={"Authorization": f"Bearer {api_token}", "Idempotency-Key": "race"},
            )
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    # When
    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    # Then
    assert len(answers) == threads
    assert _api_activities() == 1
    created = Activity.objects.get(source="api")
    for status, body in answers:
        assert status in {201, 409}
        if status == 201:
            assert body["id"] == created.pk
        else:
            assert body["error"]["code"] == "idempotency_in_progress"
    assert any(status == 201 for status, _ in answers)
    record = IdempotencyRecord.objects.get(key="race")
    assert record.status_code == 201
