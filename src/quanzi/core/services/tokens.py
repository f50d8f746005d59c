"""Operators and their API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.core import clock
from quanzi.core.errors import ApplicationError, Conflict, NotFound
from quanzi.core.models import ActivityKind, ApiToken
from quanzi.core.services.activity import activity_record

TOKEN_PREFIX = "qz_"  # noqa: S105  (a public marker, not a secret)
_USERNAME = re.compile(r"^[\w.@+-]{1,150}$")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def operator_create(
    *, username: str, password: str | None = None, email: str = ""
) -> tuple[AbstractBaseUser, str]:
    """Create an operator (owner) who can sign in to the console and the back-office.

    Returns the user and the password: the one given, or a generated one to show once.
    """
    User = get_user_model()
    if not _USERNAME.match(username or ""):
        raise ApplicationError(
            _("A username is 1-150 letters, digits or . @ + - _ characters."), field="username"
        )
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    if not generated:
        try:
            validate_password(password, user=User(username=username))
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages), field="password") from None
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(
                _("An operator named %(username)r exists already.") % {"username": username},
                field="username",
            )
        user = User.objects.create_superuser(username=username, email=email, password=password)
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=user.pk,
            source="cli",
            object_type="operator",
            object_id=user.pk,
            data={"action": "created"},
        )
    return user, password


def operator_set_password(*, username: str, password: str | None = None) -> str:
    User = get_user_model()
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username, is_staff=True).first()
        if user is None:
            raise NotFound(
                _("No operator named %(username)r.") % {"username": username}, field="username"
            )
        user.set_password(password)
        user.save(update_fields=["password"])
    return password


def api_token_create(*, username: str, name: str = "") -> tuple[ApiToken, str]:
    """A new token for an operator. The raw token is returned once and never stored."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None or not user.is_active or not user.is_staff:
        raise NotFound(
            _("No active operator named %(username)r.") % {"username": username}, field="username"
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], prefix=raw[:10], digest=_digest(raw)
        )
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=user.pk,
            object_type="api_token",
            object_id=token.pk,
            data={"action": "token_created", "name": token.name},
        )
    return token, raw


def api_token_revoke(*, token_id: int, actor_id: int) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, user_id=actor_id).first()
        if token is None:
            raise NotFound(_("No such token."), field="token")
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            token.save(update_fields=["revoked_at"])
            activity_record(
                kind=ActivityKind.OPERATOR,
                actor_id=actor_id,
                object_type="api_token",
                object_id=token.pk,
                data={"action": "token_revoked"},
            )
    return token


def api_token_authenticate(raw: str) -> AbstractBaseUser | AnonymousUser:
    """The operator a bearer token belongs to, or an anonymous user for any bad token."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return AnonymousUser()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active or not token.user.is_staff:
        return AnonymousUser()
    moment = clock.now()
    # One write a minute at most, not one per request.
    if token.last_used_at is None or moment - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    return token.user
