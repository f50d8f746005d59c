"""A community's members and memberships as one Excel workbook, masked by default.

The members sheet lists everyone who has held a seat in one of the community's groups or a
membership of one of its plans, or was imported into it; "joined" is when they first came into
the community. Unmasked
phone numbers need an operator with the personal-data permission, and every export is recorded
in the activity log with who made it and whether it was masked.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Min, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from openpyxl import Workbook

from quanzi.communities.importing import IMPORT_SOURCE
from quanzi.communities.models import Community, GroupMembership, Membership
from quanzi.communities.selectors import membership_list
from quanzi.core.errors import ApplicationError
from quanzi.core.models import Activity, ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.members.exporting import (
    MEMBER_COLUMNS,
    check_reveal,
    excel_time,
    member_export_rows,
    sheet_write,
)
from quanzi.members.models import Member

MEMBERSHIP_COLUMNS = ("member id", "member", "plan", "status", "starts", "ends")


class ExportInvalid(ApplicationError):
    code = "export_invalid"


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    members: int
    memberships: int
    masked: bool


def _imported(community: Community) -> QuerySet[Activity]:
    return Activity.objects.filter(
        kind=ActivityKind.MEMBER, community_id=community.pk, source=IMPORT_SOURCE
    )


def community_members(community: Community) -> QuerySet[Member]:
    """Open member records that have had a seat or a membership in ``community``, or were
    imported into it."""
    return (
        Member.objects.filter(merged_into__isnull=True, anonymised_at__isnull=True)
        .filter(
            Q(pk__in=GroupMembership.objects.filter(group__community=community).values("member"))
            | Q(pk__in=Membership.objects.filter(plan__community=community).values("member"))
            | Q(pk__in=_imported(community).values("member_id"))
            # The activity log keeps the ids of records merged away since.
            | Q(
                pk__in=Member.objects.filter(
                    pk__in=_imported(community).values("member_id")
                ).values("merged_into")
            )
        )
        .prefetch_related("tags", "identities")
        .order_by("pk")
    )


def _first_joined(community: Community) -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    seats = (
        GroupMembership.objects.filter(group__community=community)
        .values("member_id")
        .annotate(at=Min(Coalesce("joined_at", "created_at")))
    )
    plans = (
        Membership.objects.filter(plan__community=community)
        .values("member_id")
        .annotate(at=Min(Coalesce("starts_at", "created_at")))
    )
    imports = _imported(community).values("member_id").annotate(at=Min("occurred_at"))
    for row in [*seats, *plans, *imports]:
        member_id, at = row["member_id"], row["at"]
        if at is not None and (member_id not in first or at < first[member_id]):
            first[member_id] = at
    return first


def _membership_rows(community: Community) -> Iterator[tuple[Any, ...]]:
    for membership in membership_list(community=community).order_by("member_id", "pk"):
        yield (
            membership.member_id,
            membership.member.display_name,
            membership.plan.name,
            membership.status,
            excel_time(membership.starts_at),
            excel_time(membership.ends_at),
        )


def members_export(
    *,
    community: Community,
    output: Path,
    user: AbstractBaseUser | None = None,
    reveal: bool = False,
) -> ExportResult:
    """Write ``community``'s members and memberships to the .xlsx file ``output``.

    The file appears whole or not at all: the workbook is written beside it and moved in place.
    """
    if reveal:
        check_reveal(user)
    if output.suffix.lower() != ".xlsx":
        raise ExportInvalid(
            _("%(file)s: the export is an Excel file; name it *.xlsx.") % {"file": output.name}
        )
    folder = output.resolve().parent
    if not folder.is_dir():
        raise ExportInvalid(
            _("No folder %(folder)r to write %(file)s in.")
            % {"folder": str(folder), "file": output.name}
        )

    workbook = Workbook(write_only=True)
    members = community_members(community).iterator(chunk_size=2000)
    member_count = sheet_write(
        workbook,
        "members",
        MEMBER_COLUMNS,
        member_export_rows(members, reveal=reveal, joined=_first_joined(community)),
    )
    membership_count = sheet_write(
        workbook, "memberships", MEMBERSHIP_COLUMNS, _membership_rows(community)
    )
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".quanzi-", suffix=".xlsx")
        os.close(handle)
    except OSError as exc:
        raise ExportInvalid(
            _("Cannot write in %(folder)r: %(reason)s.")
            % {"folder": str(folder), "reason": exc.strerror}
        ) from None
    try:
        workbook.save(temporary)
        os.replace(temporary, output)
    except OSError as exc:
        raise ExportInvalid(
            _("Cannot write %(file)s: %(reason)s.") % {"file": output.name, "reason": exc.strerror}
        ) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    with transaction.atomic():
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=user.pk if user is not None else None,
            community_id=community.pk,
            source="export",
            object_type="community",
            object_id=community.pk,
            data={
                "action": "members_exported",
                "masked": not reveal,
                "members": member_count,
                "memberships": membership_count,
            },
        )
    return ExportResult(output, member_count, membership_count, not reveal)
