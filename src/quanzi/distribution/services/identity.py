"""Is it the same person? Self-referral and referral between merged identities earn nothing."""

from __future__ import annotations

from quanzi.members.models import Member


def person_of(member_id: int) -> int:
    """The id of the record that absorbed ``member_id`` (merges may chain), else itself."""
    seen: set[int] = set()
    current = member_id
    while current not in seen:
        seen.add(current)
        parent = Member.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        if not parent:
            return current
        current = parent
    return current


def same_person(a_id: int, b_id: int) -> bool:
    return a_id == b_id or person_of(a_id) == person_of(b_id)
