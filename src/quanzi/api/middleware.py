"""HTTP plumbing: the language of each answer, idempotent API writes, one error shape per 4xx."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import language_code_re, parse_accept_lang_header

from quanzi.api.errors import _CODES, error_response
from quanzi.core.errors import ApplicationError
from quanzi.core.services.idempotency import (
    Replay,
    idempotency_abandon,
    idempotency_begin,
    idempotency_complete,
)
from quanzi.core.services.tokens import api_token_authenticate

API_PREFIX = "/api/"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Refusals that say "not now" or "not you" are not the answer to the request; a retry should
# be handled again rather than replayed.
_NOT_STORED = {401, 403, 409, 429}
API_LANGUAGE = "en"


def api_language(request: HttpRequest) -> str:
    """English, unless Accept-Language asks for a language Quanzi speaks (zh-CN → zh-hans).

    An API client's error ``code`` is the contract and its message is for a person reading a log
    or a screen; neither the language cookie of the console nor the hub's default language is
    a request from that person, so only the header counts.
    """
    for code, _q in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        if not language_code_re.search(code):
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_LANGUAGE


class LanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware for pages (cookie, then Accept-Language, then LANGUAGE_CODE);
    the API speaks English unless Accept-Language asks for a supported language.

    It sits before ApiMiddleware, so that a refusal ApiMiddleware answers itself (a reused
    Idempotency-Key, an unknown endpoint) is worded in the request's language too.
    """

    def process_request(self, request: HttpRequest) -> None:
        if not request.path.startswith(API_PREFIX):
            super().process_request(request)
            return
        translation.activate(api_language(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not request.path.startswith(API_PREFIX):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class ApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        key = request.headers.get("Idempotency-Key")
        if key is not None and request.method in WRITE_METHODS:
            response = self._idempotent(request, key)
        else:
            response = self.get_response(request)
        return _shaped(response)

    def _idempotent(self, request: HttpRequest, key: str) -> HttpResponse:
        auth = request.headers.get("Authorization", "")
        scheme, _sep, raw = auth.partition(" ")
        user = api_token_authenticate(raw.strip()) if scheme.lower() == "bearer" else None
        request.quanzi_token_user = (raw.strip(), user)  # type: ignore[attr-defined]
        if user is None or not user.is_authenticated:
            # Not ours to scope: the API answers 401 and nothing is written.
            return self.get_response(request)
        try:
            begun = idempotency_begin(
                user_id=user.pk,
                key=key,
                method=request.method or "POST",
                path=request.get_full_path(),
                body=request.body,
            )
        except ApplicationError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.fields)
        if isinstance(begun, Replay):
            replayed = HttpResponse(
                begun.body, status=begun.status_code, content_type=begun.content_type
            )
            replayed["Idempotent-Replayed"] = "true"
            return replayed
        try:
            response = self.get_response(request)
        except BaseException:
            idempotency_abandon(record=begun)
            raise
        if response.status_code >= 500 or response.status_code in _NOT_STORED:
            idempotency_abandon(record=begun)
        else:
            idempotency_complete(
                record=begun,
                status_code=response.status_code,
                body=response.content,
                content_type=response.get("Content-Type", "application/json"),
            )
        return response


def _shaped(response: HttpResponse) -> HttpResponse:
    """Give a 4xx that Django answered itself (unknown URL, wrong method) the API's shape."""
    status = response.status_code
    if not 400 <= status < 500 or getattr(response, "streaming", False):
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            if "error" in json.loads(response.content):
                return response
        except ValueError:
            pass
    messages = {
        404: _("No such API endpoint."),
        405: _("This endpoint does not take that method."),
    }
    shaped = error_response(
        status, _CODES.get(status, "error"), messages.get(status, response.reason_phrase)
    )
    if "Allow" in response:
        shaped["Allow"] = response["Allow"]
    return shaped
