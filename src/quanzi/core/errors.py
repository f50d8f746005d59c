"""One error type for every refusal a person or client can act on.

A service raises a subclass with a stable ``code``; the API maps it to
``{"error": {"code", "message", "fields"}}`` with the class's HTTP status, the console shows the
message, and the CLI prints it on one line and exits non-zero.
"""

from __future__ import annotations

from typing import ClassVar


class ApplicationError(Exception):
    code: str = "invalid"
    status: ClassVar[int] = 422

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(message)
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(ApplicationError):
    code = "not_found"
    status = 404


class Conflict(ApplicationError):
    """The request was well formed but the current state refuses it (stock, balance, state)."""

    code = "conflict"
    status = 409
