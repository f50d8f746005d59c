"""The pagination convention: ``?limit=&offset=``, answered with ``items`` and ``count``.

``limit`` is 1-200 (default 50); ``next_offset`` is null on the last page.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

MAX_LIMIT = 200


class Page(PaginationBase):
    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Items per page, 1-200.")
        offset: int = Field(0, ge=0, description="Items to skip.")

    class Output(Schema):
        items: list[Any]
        count: int
        limit: int
        offset: int
        next_offset: int | None

    def paginate_queryset(
        self, queryset: QuerySet[Any], pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        count = self._items_count(queryset)
        end = pagination.offset + pagination.limit
        return {
            "items": list(queryset[pagination.offset : end]),
            "count": count,
            "limit": pagination.limit,
            "offset": pagination.offset,
            "next_offset": end if end < count else None,
        }
