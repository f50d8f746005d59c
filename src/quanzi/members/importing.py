"""Member lists from CSV or Excel: reading the file, and checking every row before a write.

Two parts. The reader turns a file an operator exported from Excel, WPS or a platform back-office
into rows of text keyed by column (``name``, ``phone``, ...), or refuses the file with one clear
reason. The checker validates each row as the members domain would (name, identities normalised,
lengths, the same person twice in one file, identities that belong to two members) and says what
is wrong with each bad row, by the line number the operator sees in Excel (the header is line 1).

The import itself, which also seats members in a community's groups, is
``quanzi.communities.importing.members_import``: communities sit above members.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Protocol, TypeVar

from django.utils.translation import gettext as _

from quanzi.core.errors import ApplicationError
from quanzi.members.identities import IdentityInvalid, lookup_hash, normalise
from quanzi.members.models import Identity, IdentityKind, Member
from quanzi.members.services import IdentityIn, member_identify, member_update

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000
MAX_TAGS = 30
HEADER_SEARCH_ROWS = 5  # title lines tolerated above the header row
DEFAULT_CHANNEL = "import"

# Canonical column -> the header texts that mean it (compared after _header_key).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "displayname", "nickname", "姓名", "昵称", "名字", "微信昵称", "会员"),
    "phone": ("phone", "mobile", "tel", "手机", "手机号", "手机号码", "电话", "联系电话"),
    "email": ("email", "mail", "邮箱", "电子邮箱", "电子邮件"),
    "unionid": ("unionid", "wechatunionid", "微信unionid"),
    "tags": ("tags", "tag", "标签"),
    "channel": ("channel", "source", "sourcechannel", "渠道", "来源", "来源渠道"),
    "note": ("note", "notes", "remark", "备注"),
    "group": ("group", "groupname", "群", "群名", "群名称", "社群"),
}
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
_IDENTITY_COLUMNS = {
    "phone": IdentityKind.PHONE,
    "email": IdentityKind.EMAIL,
    "unionid": IdentityKind.WECHAT_UNIONID,
}
_LABELS = {"phone": "phone", "email": "e-mail", "unionid": "unionid"}
_TAG_SEPARATORS = re.compile(r"[,，;；|、]")
_LIMITS = {"name": 100, "note": 500, "channel": 64, "group": 100}

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc) container

T = TypeVar("T")


class Track(Protocol):
    """Wraps the rows a long step walks through, e.g. in a progress bar."""

    def __call__(self, items: Sequence[T], /, *, desc: str) -> Iterable[T]: ...


def no_track(items: Sequence[T], /, *, desc: str) -> Iterable[T]:
    return items


class ImportFileInvalid(ApplicationError):
    code = "import_file_invalid"


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One row below the header: its line as Excel numbers it, and its text by column."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class MemberSheet:
    name: str
    rows: list[SheetRow]
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A row read as a member; ``problems`` empty means it can be imported as it is."""

    line: int
    display_name: str
    identities: tuple[IdentityIn, ...]
    tags: tuple[str, ...]
    channel: str
    note: str
    group: str
    existing_member_id: int | None
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str


# Reading ---------------------------------------------------------------------------------------


def member_sheet_read(path: Path) -> MemberSheet:
    """Read a CSV or .xlsx member list from disk (see ``member_sheet_parse``)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportFileInvalid(
                _(
                    "%(file)s is %(size).0f MB; import at most %(max)s MB at a time "
                    "(split the file)."
                )
                % {
                    "file": path.name,
                    "size": size / 1024 / 1024,
                    "max": MAX_FILE_BYTES // 1024 // 1024,
                }
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileInvalid(
            _("Cannot read %(file)s: %(reason)s.") % {"file": path.name, "reason": exc.strerror}
        ) from None
    return member_sheet_parse(data, filename=path.name)


def member_sheet_parse(data: bytes, *, filename: str) -> MemberSheet:
    """Rows of a member list given as bytes: an Excel workbook, or CSV text.

    CSV may be UTF-8 (with or without the BOM Excel writes), GB18030 (what Chinese Excel and
    WPS write for "CSV"), or UTF-16 (Excel's "Unicode text"); separated by commas, tabs or
    semicolons. The first non-blank row names the columns.
    """
    unsupported = _("%(file)s: members are imported from CSV (.csv) or Excel (.xlsx) files.")
    return _sheet(sheet_table(data, filename, unsupported=unsupported), filename)


def sheet_table(
    data: bytes, filename: str, *, unsupported: str = ""
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of a CSV or .xlsx file, for any import: the encodings and separators of
    ``member_sheet_parse``; an unreadable file is ImportFileInvalid saying why."""
    if not data.strip():
        raise ImportFileInvalid(_("%(file)s is empty.") % {"file": filename})
    suffix = Path(filename).suffix.lower()
    if data.startswith(_ZIP):
        table = _xlsx_table(data, filename)
    elif data.startswith(_OLE):
        raise ImportFileInvalid(
            _(
                "%(file)s is an old Excel .xls workbook; save it as .xlsx "
                "(Excel Workbook) or as CSV, then import that."
            )
            % {"file": filename}
        )
    elif suffix in (".xlsx", ".xlsm"):
        raise ImportFileInvalid(
            _("%(file)s is not an Excel .xlsx workbook (it is not a zip).") % {"file": filename}
        )
    elif suffix in ("", ".csv", ".txt", ".tsv"):
        table = _csv_table(data, filename)
    else:
        message = unsupported or _("%(file)s: import a CSV (.csv) or Excel (.xlsx) file.")
        raise ImportFileInvalid(message % {"file": filename})
    return table


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        # A phone number typed into Excel is stored as a number: 13812345678.0.
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value).strip()


def _xlsx_table(data: bytes, filename: str) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a dozen kinds for a damaged or foreign zip
        raise ImportFileInvalid(
            _(
                "%(file)s cannot be read as an Excel .xlsx workbook (damaged, or another kind "
                "of zip file)."
            )
            % {"file": filename}
        ) from None
    try:
        sheet = workbook.active or workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        for line, values in enumerate(rows, start=1):
            yield line, [_cell_text(v) for v in values]
    except ImportFileInvalid:
        raise
    except Exception:
        raise ImportFileInvalid(
            _("%(file)s cannot be read as an Excel .xlsx workbook (damaged).") % {"file": filename}
        ) from None
    finally:
        workbook.close()


def _decode(data: bytes, filename: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    elif data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    elif b"\x00" in data:
        raise ImportFileInvalid(_("%(file)s is not a text (CSV) file.") % {"file": filename})
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
            break
        return text
    raise ImportFileInvalid(
        _("%(file)s is not a readable CSV file (expected UTF-8 or GB18030 text).")
        % {"file": filename}
    )


def _csv_table(data: bytes, filename: str) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data, filename)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", "\t", ";"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    try:
        # A record is one Excel row even when a quoted cell holds a line break.
        for line, values in enumerate(reader, start=1):
            yield line, [v.strip() for v in values]
    except csv.Error as exc:
        raise ImportFileInvalid(
            _("%(file)s line %(line)s: not valid CSV (%(reason)s).")
            % {"file": filename, "line": line + 1, "reason": exc}
        ) from None


def _header_key(text: str) -> str:
    text = re.sub(r"[（(].*?[）)]", "", text)  # "手机号（必填）", "phone (optional)"
    return re.sub(r"[\s_*:：\-]", "", text).lower()


def _no_name_column(filename: str) -> ImportFileInvalid:
    return ImportFileInvalid(
        _(
            "%(file)s has no name column (姓名); the first row names the columns: "
            "name, phone, email, unionid, tags, channel, note, group."
        )
        % {"file": filename}
    )


def _sheet(table: Iterable[tuple[int, list[str]]], filename: str) -> MemberSheet:
    header: dict[int, str] | None = None
    ignored: list[str] = []
    rows: list[SheetRow] = []
    skipped = 0
    for line, cells in table:
        if not any(cells):
            continue
        if header is None:
            keys = {_ALIASES.get(_header_key(c)) for c in cells}
            if "name" not in keys and skipped < HEADER_SEARCH_ROWS:
                # A title line ("会员名单 2025-03") above the header, as exports often have.
                skipped += 1
                continue
            header = {}
            seen: dict[str, str] = {}
            for index, title in enumerate(cells):
                if not title:
                    continue
                column = _ALIASES.get(_header_key(title))
                if column is None:
                    ignored.append(title)
                    continue
                if column in seen:
                    raise ImportFileInvalid(
                        _(
                            "%(file)s: columns %(first)r and %(second)r both read as "
                            "%(column)s; keep one."
                        )
                        % {
                            "file": filename,
                            "first": seen[column],
                            "second": title,
                            "column": column,
                        }
                    )
                seen[column] = title
                header[index] = column
            if "name" not in seen:
                raise _no_name_column(filename)
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileInvalid(
                _("%(file)s has more than %(max)s rows; split it into smaller files.")
                % {"file": filename, "max": f"{MAX_ROWS:,}"}
            )
        values = {column: "" for column in header.values()}
        for index, column in header.items():
            if index < len(cells):
                values[column] = cells[index]
        rows.append(SheetRow(line, values))
    if header is None:
        if skipped:
            raise _no_name_column(filename)
        raise ImportFileInvalid(_("%(file)s is empty.") % {"file": filename})
    if not rows:
        raise ImportFileInvalid(
            _("%(file)s has a header row but no members below it.") % {"file": filename}
        )
    return MemberSheet(filename, rows, tuple(ignored))


# Checking --------------------------------------------------------------------------------------


def _split_tags(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in _TAG_SEPARATORS.split(text) if t.strip()))


def _owners(keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple[int, bool]]:
    """(kind, namespace, hash) -> (member id, whether that record is closed)."""
    wanted = list(dict.fromkeys(keys))
    found: dict[tuple[str, str, str], tuple[int, bool]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        hits = Identity.objects.filter(value_hash__in=[h for _, _, h in chunk]).values_list(
            "kind",
            "namespace",
            "value_hash",
            "member_id",
            "member__merged_into",
            "member__anonymised_at",
        )
        for kind, ns, digest, member_id, merged_into, anonymised_at in hits:
            closed = merged_into is not None or anonymised_at is not None
            found[(kind, ns, digest)] = (member_id, closed)
    return found


def _read_row(row: SheetRow) -> tuple[MemberRow, list[tuple[str, str, str, str]]]:
    """The row's fields, its problems so far, and its identities as (column, kind, ns, hash)."""
    values = row.values
    problems: list[str] = []
    name = values.get("name", "")
    if not name:
        problems.append(_("the name is empty"))
    for column, limit in _LIMITS.items():
        if len(values.get(column, "")) > limit:
            problems.append(
                _("the %(column)s is longer than %(limit)s characters")
                % {"column": column, "limit": limit}
            )
    tags = _split_tags(values.get("tags", ""))
    long_tags = [t for t in tags if len(t) > 50]
    if long_tags:
        problems.append(_("tag %(tag)r… is longer than 50 characters") % {"tag": long_tags[0][:20]})
    if len(tags) > MAX_TAGS:
        problems.append(_("more than %(max)s tags") % {"max": MAX_TAGS})
    identities: list[IdentityIn] = []
    keys: list[tuple[str, str, str, str]] = []
    for column, kind in _IDENTITY_COLUMNS.items():
        raw = values.get(column, "")
        if column == "phone":
            raw = raw.lstrip("'")  # typed as '138... so that Excel keeps it text
        if not raw:
            continue
        try:
            ns, value = normalise(kind, raw)
        except IdentityInvalid as exc:
            problems.append(exc.message.rstrip(".。"))
            continue
        identities.append(IdentityIn(kind, value, ns))
        keys.append((column, kind, ns, lookup_hash(kind, ns, value)))
    if not identities and not any(values.get(c) for c in _IDENTITY_COLUMNS):
        problems.append(
            _("no phone, e-mail or unionid: one is needed to recognise the member next time")
        )
    member_row = MemberRow(
        line=row.line,
        display_name=name,
        identities=tuple(identities),
        tags=tuple(tags),
        channel=values.get("channel", ""),
        note=values.get("note", ""),
        group=values.get("group", ""),
        existing_member_id=None,
        problems=tuple(problems),
    )
    return member_row, keys


def member_rows_check(rows: Sequence[SheetRow], *, track: Track = no_track) -> list[MemberRow]:
    """Every row read and checked against the file and the database; nothing is written.

    A row is bad when its name is missing, a field is too long, a phone, e-mail or unionid does
    not normalise, it repeats an identity of an earlier row, its identities belong to two
    different members (an operator merges them first), or it names the same member as an
    earlier row through another identity.
    """
    read = [_read_row(row) for row in track(rows, desc="Reading")]
    owners = _owners((kind, ns, digest) for _, keys in read for _, kind, ns, digest in keys)
    first_line: dict[tuple[str, str, str], int] = {}
    member_line: dict[int, int] = {}
    checked: list[MemberRow] = []
    for member_row, keys in read:
        problems = list(member_row.problems)
        row_owners: set[int] = set()
        for column, kind, ns, digest in keys:
            earlier = first_line.setdefault((kind, ns, digest), member_row.line)
            if earlier != member_row.line:
                problems.append(
                    _("the same %(column)s as line %(line)s")
                    % {"column": _LABELS[column], "line": earlier}
                )
            owner = owners.get((kind, ns, digest))
            if owner is not None:
                member_id, closed = owner
                if closed:
                    problems.append(
                        _("the %(column)s belongs to closed member #%(member)s")
                        % {"column": _LABELS[column], "member": member_id}
                    )
                row_owners.add(member_id)
        existing = None
        if len(row_owners) > 1:
            problems.append(
                _("its identities belong to different members (%(members)s); merge them first")
                % {"members": ", ".join(f"#{pk}" for pk in sorted(row_owners))}
            )
        elif row_owners:
            existing = row_owners.pop()
            earlier = member_line.setdefault(existing, member_row.line)
            if earlier != member_row.line:
                problems.append(
                    _("the same member (#%(member)s) as line %(line)s")
                    % {"member": existing, "line": earlier}
                )
        checked.append(
            MemberRow(
                line=member_row.line,
                display_name=member_row.display_name,
                identities=member_row.identities,
                tags=member_row.tags,
                channel=member_row.channel,
                note=member_row.note,
                group=member_row.group,
                existing_member_id=existing,
                problems=tuple(problems),
            )
        )
    return checked


# Writing ---------------------------------------------------------------------------------------


def member_row_apply(row: MemberRow, *, actor_id: int | None = None) -> tuple[Member, bool]:
    """Identify the row's member (created if new) and add what the row knows; (member, created).

    A member found again keeps what an operator set: tags are added, never removed; the note
    and source channel are filled in only where empty. Importing the same row twice changes
    nothing the second time.
    """
    if not row.ok:
        raise ImportFileInvalid(
            _("line %(line)s: %(problems)s.")
            % {"line": row.line, "problems": "; ".join(row.problems)}
        )
    channel = row.channel or DEFAULT_CHANNEL
    member, created = member_identify(
        display_name=row.display_name,
        identities=row.identities,
        source_channel=channel,
        actor_id=actor_id,
    )
    have = [t.name for t in member.tags.all()]
    new_tags = [t for t in row.tags if t not in have]
    note = row.note if row.note and not member.note else None
    source = channel if not member.source_channel else None
    if new_tags or note is not None or source is not None:
        member = member_update(
            member=member,
            actor_id=actor_id,
            tags=[*have, *new_tags] if new_tags else None,
            note=note,
            source_channel=source,
        )
    return member, created
