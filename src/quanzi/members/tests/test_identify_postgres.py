"""Identifying one new person from many requests at once (PostgreSQL only, real threads)."""

from __future__ import annotations

import pytest

from quanzi.members.models import Identity, IdentityKind, Member
from quanzi.members.services import DuplicateIdentity, IdentityIn, member_identify
from quanzi.members.tests.factories import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_requests_with_one_new_phone_make_one_member() -> None:
    # Given: ten requests for the same new phone, each writing it its own way
    ways = ["13812345678", "138 1234 5678", "+86 138-1234-5678", "+8613812345678"]

    # When
    def identify(i: int) -> tuple[Member, bool]:
        return member_identify(
            display_name=f"request {i}",
            identities=[IdentityIn(IdentityKind.PHONE, ways[i % len(ways)])],
        )

    results = in_threads(10, identify)

    # Then: one member holds the phone; every other request attached to it or was told to retry
    unexpected = [r for r in results if not isinstance(r, (tuple, DuplicateIdentity))]
    assert unexpected == []
    found = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, DuplicateIdentity)]
    assert len(found) + len(refused) == 10
    assert [created for _, created in found].count(True) == 1
    assert {m.pk for m, _ in found} == set(Member.objects.values_list("pk", flat=True))
    assert Member.objects.count() == 1
    assert Identity.objects.filter(kind=IdentityKind.PHONE).count() == 1
    assert all((r.code, r.status) == ("duplicate_identity", 409) for r in refused)
