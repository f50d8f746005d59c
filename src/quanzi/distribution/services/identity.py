"""Is it the same person? Self-referral and referral between merged identities earn nothing."""

from __future__ import annotations

from quanzi.members.models import Member
from quanzi.members.selectors import member_ids_for


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


def records_of(member_id: int) -> list[int]:
    """Every record of the person ``member_id`` belongs to: theirs and the ones merged in."""
    return member_ids_for(Member(pk=person_of(member_id)))
