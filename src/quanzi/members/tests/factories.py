"""Test data for the members domain, made through the services the code itself uses."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import translation

from quanzi.core.models import Activity
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.members.models import Identity, IdentityKind, Member
from quanzi.members.services import IdentityIn, member_identify

_seq = itertools.count(1)


def phone_number() -> str:
    """A valid mainland mobile number no other test uses, written as people type it."""
    return f"139{next(_seq):08d}"


def member(
    name: str | None = None,
    *,
    phone: str | None = None,
    unionid: str | None = None,
    channel: str = "",
) -> Member:
    """A new member with a phone (a fresh one unless given) and optionally a unionid."""
    identities = [IdentityIn(IdentityKind.PHONE, phone or phone_number())]
    if unionid:
        identities.append(IdentityIn(IdentityKind.WECHAT_UNIONID, unionid))
    created, _ = member_identify(
        display_name=name or f"member {next(_seq)}", identities=identities, source_channel=channel
    )
    return created


def record(member: Member | int, kind: str, at: datetime, **kwargs: Any) -> Activity:
    """One fact in the activity log for a member at a given moment."""
    member_id = member if isinstance(member, int) else member.pk
    if kind == "pay" and "amount" not in kwargs:
        kwargs["amount"] = Money(9900, "CNY")
    return activity_record(kind=kind, occurred_at=at, member_id=member_id, **kwargs)


@dataclass(frozen=True)
class MembersState:
    members: list[tuple[Any, ...]]
    identities: list[tuple[Any, ...]]
    activities: int


def members_state() -> MembersState:
    """Everything a members service could change, to show a refused call changed nothing."""
    return MembersState(
        members=list(
            Member.objects.order_by("pk").values_list(
                "pk", "display_name", "merged_into_id", "anonymised_at", "marketing_opt_out"
            )
        ),
        identities=list(
            Identity.objects.order_by("pk").values_list("pk", "member_id", "kind", "value_hash")
        ),
        activities=Activity.objects.count(),
    )


def in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in ``count`` real threads released together; return what each gave
    (or the exception it met). Each thread closes its database connection at its end, and
    speaks the caller's language (the active language is per thread)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    language = translation.get_language()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=20)
            with translation.override(language):
                results[i] = target(i)
        except Exception as exc:  # the test asserts on what each thread met
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results
