"""Members to Excel: the sheet's rows, masked unless the operator may see personal data, and
the layout every exported sheet shares (bold frozen header, columns sized to their contents).

The workbook a community exports (members and their memberships) is put together by
``quanzi.communities.exporting``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook

from quanzi.core import crypto
from quanzi.core.errors import NotFound
from quanzi.members.models import IdentityKind, Member
from quanzi.members.selectors import PermissionRefused, can_see_personal_data

MEMBER_COLUMNS = ("id", "name", "phone", "tags", "stage", "level", "source channel", "joined")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_WIDTH = 60


def export_operator(username: str) -> AbstractBaseUser:
    """The active operator named ``username``, on whose behalf an export is made."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active or not user.is_staff:
        raise NotFound(
            _("No active operator named %(username)r.") % {"username": username}, field="operator"
        )
    return user


def check_reveal(user: AbstractBaseUser | AnonymousUser | None) -> None:
    """Refuse an unmasked export to anyone without the personal-data permission (PIPL)."""
    if user is None:
        raise PermissionRefused(
            _(
                "An unmasked export needs --operator USERNAME: an operator with the "
                "personal-data permission."
            ),
            field="operator",
        )
    if not can_see_personal_data(user):
        raise PermissionRefused(
            _(
                "%(username)s may not export phone numbers unmasked: that needs the "
                "personal-data permission (members.view_personal_data)."
            )
            % {"username": user.get_username()},
            field="reveal",
        )


def excel_time(moment: datetime | None) -> datetime | None:
    """Local wall-clock time without a zone: Excel has no time zones."""
    if moment is None:
        return None
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


def member_phone(member: Member, *, reveal: bool) -> str:
    """The member's phone, masked (138****5678) unless ``reveal``; mainland numbers without +86."""
    for identity in member.identities.all():
        if identity.kind == IdentityKind.PHONE:
            if not reveal:
                return identity.value_masked
            return crypto.decrypt(identity.value_encrypted).removeprefix("+86")
    return ""


def member_export_rows(
    members: Iterable[Member], *, reveal: bool, joined: Mapping[int, datetime] | None = None
) -> Iterator[tuple[Any, ...]]:
    """One row per member in ``MEMBER_COLUMNS`` order. Prefetch ``tags`` and ``identities``."""
    joined = joined or {}
    for member in members:
        yield (
            member.pk,
            member.display_name,
            member_phone(member, reveal=reveal),
            ", ".join(t.name for t in member.tags.all()),
            member.stage,
            member.level,
            member.source_channel,
            excel_time(joined.get(member.pk, member.created_at)),
        )


def _width(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    text = "" if value is None else str(value)
    # Chinese characters take two columns of Excel's width unit.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def sheet_write(
    workbook: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Add a sheet to a write-only workbook: bold frozen header, sized columns. Returns rows."""
    sheet = workbook.create_sheet(title)
    body = [list(row) for row in rows]
    widths = [_width(h) for h in header]
    for row in body:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _width(value))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for title_text in header:
        cell = WriteOnlyCell(sheet, value=title_text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in body:
        out: list[Any] = []
        for value in row:
            if isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = DATETIME_FORMAT
                out.append(cell)
            elif isinstance(value, str) and value.startswith("="):
                # A member named "=HYPERLINK(...)" stays text, not a formula Excel would run.
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
    return len(body)
