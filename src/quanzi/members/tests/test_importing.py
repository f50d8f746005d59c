"""Reading member lists (CSV in every encoding Excel writes, .xlsx) and checking their rows."""

from __future__ import annotations

import io
import os
import zipfile

import openpyxl
import pytest

from quanzi.members.importing import (
    ImportFileInvalid,
    MemberRow,
    SheetRow,
    member_row_apply,
    member_rows_check,
    member_sheet_parse,
    member_sheet_read,
)
from quanzi.members.models import Member
from quanzi.members.tests.factories import member, members_state

HEADER = "姓名,手机号,邮箱,unionid,标签,渠道,备注,群\n"


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def values(sheet_rows: list[SheetRow]) -> list[tuple[int, str, str]]:
    return [(r.line, r.values["name"], r.values.get("phone", "")) for r in sheet_rows]


# Reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""), ("utf-16", b"")],
)
def test_csv_is_read_in_every_encoding_excel_writes(encoding: str, prefix: bytes) -> None:
    # Given a list saved as UTF-8, UTF-8 with BOM, GB18030 (Chinese Excel) or UTF-16 text
    text = HEADER + "张三,138 1234 5678,,,老客户、VIP,抖音,,\n李四,13912345678,,,,,,\n"
    if encoding == "utf-16":
        text = text.replace(",", "\t")
    data = prefix + text.encode(encoding)

    # When
    sheet = member_sheet_parse(data, filename="会员.csv")

    # Then
    assert values(sheet.rows) == [(2, "张三", "138 1234 5678"), (3, "李四", "13912345678")]
    assert sheet.rows[0].values["tags"] == "老客户、VIP"
    assert sheet.rows[0].values["channel"] == "抖音"
    assert sheet.ignored_columns == ()


def test_line_numbers_are_excel_rows_with_blank_rows_and_line_breaks_in_cells() -> None:
    # Given a title above the header, a blank row, and a note with a line break in it
    data = (
        "Customers exported 2025-03-01\n"
        "Name,Phone (optional),Note,Age\n"
        '王五,13912340001,"first line\nsecond line",30\n'
        ",,,\n"
        "赵六,13912340002,,\n"
    ).encode()

    # When
    sheet = member_sheet_parse(data, filename="list.csv")

    # Then: the title row is skipped, unknown columns are named, line numbers match Excel
    assert values(sheet.rows) == [(3, "王五", "13912340001"), (5, "赵六", "13912340002")]
    assert sheet.rows[0].values["note"] == "first line\nsecond line"
    assert sheet.ignored_columns == ("Age",)


def test_xlsx_numbers_typed_as_phone_are_read_as_text(tmp_path) -> None:
    # Given a workbook where Excel stored the phone number as a number
    path = tmp_path / "members.xlsx"
    path.write_bytes(
        xlsx(
            [
                ["NAME", "Mobile", "Tags"],
                ["张三", 13812345678, "a|b"],
                [None],
                ["李四", "139 1234 0003", None],
            ]
        )
    )

    # When
    sheet = member_sheet_read(path)

    # Then
    assert values(sheet.rows) == [(2, "张三", "13812345678"), (4, "李四", "139 1234 0003")]
    assert sheet.rows[0].values["tags"] == "a|b"


def _zip_that_is_not_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("empty.csv", b"", "empty.csv is empty."),
        ("blank.csv", b"\n \n,,\n", "blank.csv is empty."),
        ("header.csv", HEADER.encode(), "header.csv has a header row but no members below it."),
        (
            "noname.csv",
            b"phone,email\n13812345678,a@b.cn\n",
            "noname.csv has no name column (姓名); the first row names the columns: "
            "name, phone, email, unionid, tags, channel, note, group.",
        ),
        (
            "twice.csv",
            "name,姓名\na,b\n".encode(),
            "twice.csv: columns 'name' and '姓名' both read as name; keep one.",
        ),
        ("junk.csv", b"\x00\x01\x02binary\xff\xfe\x00", "junk.csv is not a text (CSV) file."),
        (
            "junk2.csv",
            b"name\n\x81\x30\x81\x30\x1b\x07bell",
            "junk2.csv is not a readable CSV file (expected UTF-8 or GB18030 text).",
        ),
        (
            "fake.xlsx",
            b"name,phone\na,13812345678\n",
            "fake.xlsx is not an Excel .xlsx workbook (it is not a zip).",
        ),
        (
            "other.xlsx",
            _zip_that_is_not_a_workbook(),
            "other.xlsx cannot be read as an Excel .xlsx workbook (damaged, or another kind "
            "of zip file).",
        ),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
            "old.xls is an old Excel .xls workbook; save it as .xlsx (Excel Workbook) or as "
            "CSV, then import that.",
        ),
        (
            "scan.pdf",
            b"%PDF-1.4 name",
            "scan.pdf: members are imported from CSV (.csv) or Excel (.xlsx) files.",
        ),
    ],
)
def test_malformed_files_are_refused_with_one_reason(
    filename: str, data: bytes, message: str
) -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        member_sheet_parse(data, filename=filename)

    assert refused.value.message == message
    assert refused.value.code == "import_file_invalid"


def test_truncated_xlsx_is_refused() -> None:
    data = xlsx([["name"], ["a"]])

    with pytest.raises(ImportFileInvalid) as refused:
        member_sheet_parse(data[: len(data) // 2], filename="cut.xlsx")

    assert refused.value.message.startswith("cut.xlsx cannot be read as an Excel .xlsx workbook")


def test_random_bytes_are_refused_and_never_crash() -> None:
    for seed in range(20):
        data = os.urandom(256 + seed)
        with pytest.raises(ImportFileInvalid):
            member_sheet_parse(data, filename=f"junk{seed}.csv")


# Checking --------------------------------------------------------------------------------------


def rows(*lines: dict[str, str]) -> list[SheetRow]:
    return [SheetRow(line, values) for line, values in enumerate(lines, start=2)]


def problems(checked: list[MemberRow]) -> dict[int, tuple[str, ...]]:
    return {r.line: r.problems for r in checked if not r.ok}


@pytest.mark.django_db
def test_every_bad_row_is_reported_with_its_reasons_and_nothing_is_written() -> None:
    # Given
    before = members_state()
    sheet = rows(
        {"name": "好人", "phone": "13812345678", "tags": "a,b"},
        {"name": "", "phone": "13812340001"},
        {"name": "坏电话", "phone": "12345"},
        {"name": "坏邮箱", "email": "not-an-email"},
        {"name": "坏unionid", "unionid": "o!"},
        {"name": "x" * 101, "phone": "13812340002", "note": "n" * 501, "channel": "c" * 65},
        {"name": "长标签", "phone": "13812340003", "tags": "t" * 51},
        {"name": "没有身份"},
        {"name": "重复", "phone": "+86 138-1234-5678"},
    )

    # When
    checked = member_rows_check(sheet)

    # Then
    assert problems(checked) == {
        3: ("the name is empty",),
        4: ("'12345' is not a valid phone number",),
        5: ("'not-an-email' is not an e-mail address",),
        6: ("'o!' is not a valid wechat_unionid",),
        7: (
            "the name is longer than 100 characters",
            "the note is longer than 500 characters",
            "the channel is longer than 64 characters",
        ),
        8: ("tag 'tttttttttttttttttttt'… is longer than 50 characters",),
        9: ("no phone, e-mail or unionid: one is needed to recognise the member next time",),
        10: ("the same phone as line 2",),
    }
    assert checked[0].ok
    assert checked[0].tags == ("a", "b")
    assert members_state() == before


@pytest.mark.django_db
def test_existing_members_are_found_by_phone_written_differently() -> None:
    # Given a member whose phone was typed "139 0000 0001"
    known = member("老会员", phone="139 0000 0001")

    # When a file writes it as +86-13900000001
    (checked,) = member_rows_check(rows({"name": "老会员", "phone": "+86-13900000001"}))

    # Then
    assert checked.ok
    assert checked.existing_member_id == known.pk


@pytest.mark.django_db
def test_identities_of_two_members_and_one_member_twice_are_bad_rows() -> None:
    # Given two members
    a = member("A", phone="13900000011", unionid="union-a-0011")
    b = member("B", phone="13900000012")

    # When one row joins their identities, and two rows reach member A by different ids
    checked = member_rows_check(
        rows(
            {"name": "A+B", "unionid": "union-a-0011", "phone": "13900000012"},
            {"name": "A", "phone": "13900000011"},
            {"name": "A again", "unionid": "union-a-0011", "email": "a@example.cn"},
        )
    )

    # Then
    assert problems(checked) == {
        2: (f"its identities belong to different members (#{a.pk}, #{b.pk}); merge them first",),
        4: ("the same unionid as line 2", f"the same member (#{a.pk}) as line 3"),
    }


# Writing ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_applied_twice_creates_once_and_keeps_what_the_operator_set() -> None:
    # Given a checked row
    (row,) = member_rows_check(
        rows({"name": "张三", "phone": "13812345678", "tags": "VIP；老客户", "note": "from fair"})
    )

    # When it is applied, the operator edits the member, then it is applied again
    first, created = member_row_apply(row)
    first.note = "moved to Shanghai"
    first.save(update_fields=["note"])
    (again_row,) = member_rows_check(
        rows({"name": "张三", "phone": "138 1234 5678", "tags": "VIP|新标签", "note": "from fair"})
    )
    second, created_again = member_row_apply(again_row)

    # Then
    assert (created, created_again) == (True, False)
    assert second.pk == first.pk
    assert Member.objects.count() == 1
    second.refresh_from_db()
    assert second.note == "moved to Shanghai"
    assert second.source_channel == "import"
    assert sorted(t.name for t in second.tags.all()) == ["VIP", "新标签", "老客户"]


@pytest.mark.django_db
def test_a_bad_row_is_never_applied() -> None:
    (row,) = member_rows_check(rows({"name": "", "phone": "13812345678"}))

    with pytest.raises(ImportFileInvalid) as refused:
        member_row_apply(row)

    assert refused.value.message == "line 2: the name is empty."
    assert Member.objects.count() == 0
