from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, field_validator


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorOut(Schema):
    error: ErrorDetail


# Declared on every operation so the OpenAPI document tells clients the shape of a refusal.
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
# Operations that may show personal data unmasked (``?reveal=true``) refuse it without the
# permission.
FORBIDDEN = {403: ErrorOut}


def _aware(value: datetime) -> datetime:
    # A time without a zone means a different moment on every server; refuse it at the door.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("The time needs a time zone, like 2024-05-01T10:00:00+08:00.")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class PatchIn(Schema):
    """Input of a PATCH: a field left out stays as it is; ``null`` is refused, not a way to
    empty a field (send "" or [] for that)."""

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value
