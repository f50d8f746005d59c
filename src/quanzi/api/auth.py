from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuthIsStaff

from quanzi.core.services.tokens import api_token_authenticate


class OperatorToken(HttpBearer):
    """``Authorization: Bearer qz_...`` from ``quanzi token create`` or the console."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if not user.is_authenticated:
            return None
        request.user = user
        return user


# A signed-in operator may call the API from the browser too (the docs page's "Try it out").
operator_auth = [OperatorToken(), SessionAuthIsStaff()]
