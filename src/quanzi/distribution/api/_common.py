"""What the distribution API modules share: look-ups that answer 404 naming the field, bounds,
list filters."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import field_validator

from quanzi.core.errors import ApplicationError, NotFound
from quanzi.distribution.models import Distributor, PayoutBatch
from quanzi.members.models import Member

# Bounds that keep a number inside a database column, so an absurd value is a 422, not a 500.
BIGINT = 2**63 - 1
INT = 2**31 - 1


class In(Schema):
    """An input that refuses the NUL character in any text: PostgreSQL cannot store it, and
    without this check it would surface as a 500 rather than as the field's 422."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("may not contain the NUL character")
        return value


_M = TypeVar("_M", bound=Model)


def matching(qs: QuerySet[_M], **values: Any) -> QuerySet[_M]:
    """The rows equal to every filter the client sent; a filter left out (None) keeps all."""
    sent = {name: value for name, value in values.items() if value is not None}
    return qs.filter(**sent) if sent else qs


def path_text(value: str, limit: int) -> str:
    """A text from the URL, as a look-up may use it: no NUL (PostgreSQL refuses it in a
    query), at most ``limit`` characters."""
    return value.replace("\x00", "").strip()[:limit]


def one_of(values: list[str]) -> str:
    return "One of: " + ", ".join(values)


def _in_range(pk: int) -> bool:
    return 1 <= pk <= BIGINT


def member_by_id(member_id: int, field: str = "member_id") -> Member:
    member = Member.objects.filter(pk=member_id).first() if _in_range(member_id) else None
    if member is None:
        raise NotFound(_("No member #%(pk)s.") % {"pk": member_id}, field=field)
    return member


def distributor_by_id(distributor_id: int) -> Distributor:
    distributor = (
        Distributor.objects.select_related("member").filter(pk=distributor_id).first()
        if _in_range(distributor_id)
        else None
    )
    if distributor is None:
        raise NotFound(
            _("No distributor #%(pk)s.") % {"pk": distributor_id}, field="distributor_id"
        )
    return distributor


def batch_by_number(number: str) -> PayoutBatch:
    number = path_text(number, 32)
    batch = PayoutBatch.objects.filter(number=number).first() if number else None
    if batch is None:
        raise NotFound(_("No payout batch %(number)s.") % {"number": number}, field="number")
    return batch


def masked_name(name: str) -> str:
    """王** : enough to recognise, not the whole real name."""
    if not name:
        return ""
    return name[:1] + "*" * max(len(name) - 1, 1)


@contextmanager
def fields_as_sent(**names: str) -> Iterator[None]:
    """A service names the field it refuses as it knows it (``group``); the client sent
    ``group_id``. Rename on the way out, so the error points at the field in the request."""
    try:
        yield
    except ApplicationError as exc:
        exc.fields = {names.get(key, key): value for key, value in exc.fields.items()}
        raise
