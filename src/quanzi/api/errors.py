"""One error shape for every 4xx: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from quanzi.core.errors import ApplicationError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    response = JsonResponse(error_body(code, message, fields), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="quanzi"'
    return response


def _field_name(loc: list[Any]) -> str:
    # Ninja prefixes the parameter source ("body", "query", "path") and the schema argument name;
    # a client wants the field as it sent it.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
        if len(parts) > 1 and parts[0] in {"payload", "data", "filters", "params"}:
            parts = parts[1:]
    return ".".join(parts) or "body"


def _validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in errors:
        message = str(err.get("msg", "Invalid value.")).removeprefix("Value error, ")
        fields.setdefault(_field_name(list(err.get("loc", []))), []).append(message)
    return fields


def install(api: NinjaAPI) -> None:
    def application_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    def validation_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(
            422, "invalid", _("Some fields are invalid."), _validation_fields(exc.errors)
        )

    def http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        status = exc.status_code
        if isinstance(exc, AuthenticationError):
            return error_response(
                401,
                "unauthorized",
                _("Send a valid operator token: Authorization: Bearer qz_..."),
            )
        if isinstance(exc, AuthorizationError):
            return error_response(403, "forbidden", _("This operator may not do that."))
        if status == 400 and isinstance(exc.__cause__, (json.JSONDecodeError, UnicodeDecodeError)):
            return error_response(400, "malformed_json", _("The request body is not valid JSON."))
        return error_response(status, _CODES.get(status, "error"), str(exc.message))

    def not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(404, "not_found", _("Not found."))

    def unexpected(request: HttpRequest, exc: Any) -> HttpResponse:
        if isinstance(exc, ValueError | DataError) and "NUL" in str(exc):
            # psycopg refuses NUL in text before anything is sent: a bad input, not our fault.
            # Endpoints that check their text name the field; this is the backstop for the rest.
            return error_response(
                422, "invalid", _("Text may not contain the NUL character (\\u0000).")
            )
        log.exception("unhandled API error on %s %s", request.method, request.path)
        return JsonResponse(
            error_body("server_error", _("Something went wrong on our side; nothing was changed.")),
            status=500,
        )

    api.add_exception_handler(ApplicationError, application_error)
    api.add_exception_handler(ValidationError, validation_error)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(Exception, unexpected)
