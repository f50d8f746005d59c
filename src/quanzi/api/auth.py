from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from quanzi.core.services.tokens import api_token_authenticate


class OperatorToken(HttpBearer):
    """``Authorization: Bearer qz_...`` from ``quanzi token create`` or the console."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        # ApiMiddleware checked the token already for an idempotent write: once is enough.
        checked = getattr(request, "quanzi_token_user", None)
        user = checked[1] if checked and checked[0] == token else api_token_authenticate(token)
        if not user.is_authenticated:
            return None
        request.user = user  # type: ignore[assignment]
        return user


# Tokens only: a session cookie would drag CSRF rules into an API meant for scripts. The docs
# page's "Authorize" button takes a token too.
operator_auth = [OperatorToken()]
