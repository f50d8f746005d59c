"""Operators and their API tokens: shown once, stored as a digest, refused once revoked."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from quanzi.core.errors import ApplicationError, Conflict, NotFound
from quanzi.core.models import Activity, ApiToken
from quanzi.core.services.tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    operator_create,
)

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_only_as_a_digest_and_authenticates_its_operator(operator: Any) -> None:
    # When
    token, raw = api_token_create(username="owner", name="bot")

    # Then
    assert raw.startswith("qz_")
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:10]
    assert not ApiToken.objects.filter(digest=raw).exists()
    assert api_token_authenticate(raw).pk == operator.pk
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    assert (
        Activity.objects.filter(
            kind="operator", object_type="api_token", object_id=str(token.pk)
        ).count()
        == 1
    )


def test_a_revoked_token_is_refused_by_the_api(operator: Any, client: Client) -> None:
    # Given
    token, raw = api_token_create(username="owner")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/activities", headers=headers).status_code == 200

    # When
    api_token_revoke(token_id=token.pk, actor_id=operator.pk)
    api_token_revoke(token_id=token.pk, actor_id=operator.pk)  # twice changes nothing more

    # Then
    listed = client.get("/api/v1/activities", headers=headers)
    posted = client.post(
        "/api/v1/activities",
        json.dumps({"kind": "join"}),
        content_type="application/json",
        headers={**headers, "Idempotency-Key": "after-revoke"},
    )
    assert (listed.status_code, posted.status_code) == (401, 401)
    assert posted.json()["error"]["code"] == "unauthorized"
    assert not Activity.objects.filter(source="api").exists()
    assert api_token_authenticate(raw).is_authenticated is False
    assert (
        Activity.objects.filter(object_id=str(token.pk), data__action="token_revoked").count() == 1
    )


def test_an_operator_cannot_revoke_someone_elses_token(operator: Any) -> None:
    token, raw = api_token_create(username="owner")
    other, _ = operator_create(username="other", password="another-Long-pass-77")

    with pytest.raises(NotFound):
        api_token_revoke(token_id=token.pk, actor_id=other.pk)

    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert api_token_authenticate(raw).pk == operator.pk


def test_a_deactivated_operators_token_is_refused(operator: Any) -> None:
    _, raw = api_token_create(username="owner")

    get_user_model().objects.filter(pk=operator.pk).update(is_active=False)

    assert api_token_authenticate(raw).is_authenticated is False


def test_operator_create_refuses_a_taken_name_a_bad_name_and_a_weak_password(operator: Any) -> None:
    users = get_user_model().objects.count()

    with pytest.raises(Conflict):
        operator_create(username="owner", password="a-Long-enough-pass-42")
    with pytest.raises(ApplicationError) as bad_name:
        operator_create(username="no spaces", password="a-Long-enough-pass-42")
    with pytest.raises(ApplicationError) as weak:
        operator_create(username="fresh", password="123")

    assert list(bad_name.value.fields) == ["username"]
    assert list(weak.value.fields) == ["password"]
    assert get_user_model().objects.count() == users


def test_a_token_for_an_unknown_operator_is_refused() -> None:
    with pytest.raises(NotFound):
        api_token_create(username="ghost")
    assert ApiToken.objects.count() == 0
