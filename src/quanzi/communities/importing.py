"""Importing a member list into a community: all rows or none.

The file is read and each row checked by ``quanzi.members.importing``; here the rows' groups are
checked against the community, and a real run writes every row in one transaction: the member
is identified (created, or found by phone / e-mail / unionid), tagged, and seated in the named
group (gates are not checked: the operator is placing people who are in the group already).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.communities.models import Community, Group, GroupMembership, SeatStatus
from quanzi.communities.selectors import group_list
from quanzi.communities.services.joining import group_join
from quanzi.core.errors import ApplicationError, Conflict
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.members.importing import (
    DEFAULT_CHANNEL,
    MemberRow,
    RowError,
    SheetRow,
    Track,
    member_row_apply,
    member_rows_check,
    no_track,
)

_LIVE = (SeatStatus.ACTIVE, SeatStatus.WAITING)
IMPORT_SOURCE = "import"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did, or in a dry run (or with bad rows) what it would do.

    ``errors`` lists every bad row; when there are any, nothing was written. The counts cover
    the good rows: members created or matched to existing ones, seats taken in groups, and
    members put on a full group's waiting list.
    """

    rows: int
    dry_run: bool
    errors: tuple[RowError, ...]
    created: int
    matched: int
    seated: int
    waiting: int

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run


def _check_groups(rows: list[MemberRow], groups: dict[str, Group]) -> list[MemberRow]:
    checked = []
    for row in rows:
        group = groups.get(row.group) if row.group else None
        problem = ""
        if row.group and group is None:
            problem = _("no group named %(group)r in this community") % {"group": row.group}
        elif group is not None and group.archived_at:
            problem = _("group %(group)r is archived") % {"group": row.group}
        if problem:
            row = MemberRow(
                line=row.line,
                display_name=row.display_name,
                identities=row.identities,
                tags=row.tags,
                channel=row.channel,
                note=row.note,
                group=row.group,
                existing_member_id=row.existing_member_id,
                problems=(*row.problems, problem),
            )
        checked.append(row)
    return checked


def _forecast_seats(rows: list[MemberRow], groups: dict[str, Group]) -> tuple[int, int]:
    """(seated, waiting) a real run would add, given who sits where and each group's room."""
    existing = {r.existing_member_id for r in rows if r.existing_member_id}
    live = set(
        GroupMembership.objects.filter(
            group__in=list(groups.values()), member_id__in=existing, status__in=_LIVE
        ).values_list("group_id", "member_id")
    )
    room = {
        g.pk: g.capacity - int(getattr(g, "seated", 0))
        for g in groups.values()
        if not g.archived_at
    }
    seated = waiting = 0
    for row in rows:
        group = groups.get(row.group) if row.group else None
        if group is None or (group.pk, row.existing_member_id) in live:
            continue
        if room[group.pk] > 0:
            room[group.pk] -= 1
            seated += 1
        else:
            waiting += 1
    return seated, waiting


def members_import(
    *,
    rows: Sequence[SheetRow],
    community: Community,
    dry_run: bool = False,
    actor_id: int | None = None,
    track: Track = no_track,
) -> ImportReport:
    """Import ``rows`` into ``community``: every row, or none when any row is bad.

    A dry run checks everything a real run would and writes nothing. Importing the same file
    again creates nothing new: rows find their members by phone, e-mail or unionid, and a seat
    already held is kept.
    """
    if community.archived_at:
        raise Conflict(
            _("%(community)s is archived.") % {"community": community.name}, field="community"
        )
    groups = {g.name: g for g in group_list(community=community, include_archived=True)}
    checked = _check_groups(member_rows_check(rows, track=track), groups)
    errors = tuple(RowError(r.line, "; ".join(r.problems)) for r in checked if not r.ok)
    good = [r for r in checked if r.ok]
    if errors or dry_run:
        matched = sum(1 for r in good if r.existing_member_id)
        seated, waiting = _forecast_seats(good, groups)
        return ImportReport(
            len(checked), dry_run, errors, len(good) - matched, matched, seated, waiting
        )

    counts: Counter[str] = Counter()
    with transaction.atomic():
        for row in track(good, desc="Importing"):
            try:
                member, created = member_row_apply(row, actor_id=actor_id)
                counts["created" if created else "matched"] += 1
                # Ties the member to the community even without a group seat (exports use it).
                activity_record(
                    kind=ActivityKind.MEMBER,
                    member_id=member.pk,
                    community_id=community.pk,
                    channel=row.channel or DEFAULT_CHANNEL,
                    actor_id=actor_id,
                    source=IMPORT_SOURCE,
                    object_type="member",
                    object_id=member.pk,
                    data={"action": "imported", "created": created},
                )
                group = groups.get(row.group) if row.group else None
                if group is None:
                    continue
                held = GroupMembership.objects.filter(
                    group=group, member=member, status__in=_LIVE
                ).exists()
                if held:
                    continue
                joined = group_join(
                    group=group,
                    member=member,
                    channel=row.channel or DEFAULT_CHANNEL,
                    check_gate=False,
                    actor_id=actor_id,
                )
                counts["seated" if joined.waiting_position is None else "waiting"] += 1
            except ApplicationError as exc:
                # Something changed since the check (another operator, a merge): all or none.
                raise type(exc)(
                    _("line %(line)s: %(problem)s; nothing was imported.")
                    % {"line": row.line, "problem": exc.message.rstrip(".。")},
                    fields=exc.fields,
                ) from None
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            source=IMPORT_SOURCE,
            object_type="community",
            object_id=community.pk,
            data={"action": "members_imported", "rows": len(good), **counts},
        )
    return ImportReport(
        len(checked),
        False,
        (),
        counts["created"],
        counts["matched"],
        counts["seated"],
        counts["waiting"],
    )
