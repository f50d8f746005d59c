"""``quanzi community``, ``quanzi import members`` and ``quanzi export members`` as an operator
runs them: real processes on a fresh data folder, and in-process for the finer cases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from quanzi.cli import main
from quanzi.cli.members import _display_width
from quanzi.members.models import Member

CSV_HEADER = "姓名,手机号,邮箱,标签,渠道,群\n"


def quanzi(*args: str, home: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process, on the embedded database in ``home``."""
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environ["QUANZI_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "quanzi", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
    )


def workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("home")
    migrated = quanzi("migrate", home=folder)
    assert migrated.returncode == 0, migrated.stderr
    return folder


def count_members(home: Path) -> int:
    result = quanzi(
        "manage",
        "shell",
        "-c",
        "from quanzi.members.models import Member; print(Member.objects.count())",
        home=home,
    )
    return int(result.stdout.strip().splitlines()[-1])


def test_help_lists_the_new_commands() -> None:
    result = quanzi("--help", home=Path("/nonexistent"))
    for command in ("community", "import", "export"):
        assert f"  {command}" in result.stdout


def test_community_create_and_list(home: Path) -> None:
    created = quanzi(
        "community", "create", "english", "--name", "英语学习圈", "--kind", "resource",
        "--vertical", "education", home=home,
    )  # fmt: skip
    again = quanzi("community", "create", "english", "--name", "Again", home=home)
    bad_slug = quanzi("community", "create", "Not A Slug", "--name", "x", home=home)
    bad_kind = quanzi("community", "create", "x", "--name", "x", "--kind", "cult", home=home)
    listed = quanzi("community", "list", home=home)

    assert created.returncode == 0, created.stderr
    assert created.stdout == "Community english created: 英语学习圈 (resource).\n"
    assert (again.returncode, again.stderr) == (
        1,
        "quanzi: A community with slug 'english' exists already.\n",
    )
    assert (bad_slug.returncode, bad_slug.stderr) == (
        1,
        "quanzi: A slug is 1-50 lowercase letters, digits and dashes, e.g. english-circle.\n",
    )
    assert bad_kind.returncode == 2
    assert len(bad_kind.stderr.strip().splitlines()) == 1
    assert "'cult' is not one of 'product', 'resource', 'charisma'" in bad_kind.stderr
    header, _rule, row = listed.stdout.strip().splitlines()
    assert header.split() == ["SLUG", "NAME", "KIND", "VERTICAL", "GROUPS", "PLANS", "CREATED"]
    assert row.split()[:6] == ["english", "英语学习圈", "resource", "education", "0", "0"]
    # Columns line up although Chinese characters are twice as wide
    assert _display_width(row[: row.index("resource")]) == header.index("KIND")


def test_import_dry_run_then_all_or_nothing_then_clean_then_again_then_export(
    home: Path, tmp_path: Path
) -> None:
    # Given a community, and a workbook with good and bad rows
    quanzi("community", "create", "seafood", "--name", "海鲜水果圈", home=home)
    rows: list[list[object]] = [
        ["name", "Phone", "email", "tags", "channel", "group"],
        ["张三", 13812345678, None, "VIP、老客户", "douyin", None],
        ["李四", "123", None, None, None, None],
        [None, "13912340001", None, None, None, None],
        ["王五", "+86 138-1234-5678", None, None, None, None],
        ["赵六", "13912340002", None, None, None, "核心群"],
    ]
    bad = workbook(tmp_path / "bad.xlsx", rows)

    # When
    dry = quanzi("import", "members", str(bad), "--community", "seafood", "--dry-run", home=home)
    real = quanzi("import", "members", str(bad), "--community", "seafood", home=home)

    # Then every bad line is listed with its reason, and nothing is written either time
    expected = [
        "bad.xlsx: 5 rows checked, 4 bad:",
        "  line 3: '123' is not a valid phone number",
        "  line 4: the name is empty",
        "  line 5: the same phone as line 2",
        "  line 6: no group named '核心群' in this community",
    ]
    for result in (dry, real):
        assert result.returncode == 1
        assert result.stdout.splitlines() == expected
        assert result.stderr == "quanzi: 4 bad row(s) in bad.xlsx; nothing was imported.\n"
    assert count_members(home) == 0

    # When the file is fixed and imported twice
    good = workbook(tmp_path / "good.xlsx", [rows[0], rows[1], ["李四", "13912340003"]])
    first = quanzi("import", "members", str(good), "--community", "seafood", home=home)
    second = quanzi("import", "members", str(good), "--community", "seafood", home=home)

    # Then
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "good.xlsx: 2 rows imported into seafood: 2 created, 0 matched existing members, "
        "0 seated in groups.\n"
    )
    assert second.stdout == (
        "good.xlsx: 2 rows imported into seafood: 0 created, 2 matched existing members, "
        "0 seated in groups.\n"
    )
    assert count_members(home) == 2

    # When exported masked, unmasked without an operator, and with one
    masked = quanzi(
        "export", "members", "--community", "seafood", "--output", str(tmp_path / "m.xlsx"),
        home=home,
    )  # fmt: skip
    refused = quanzi(
        "export", "members", "--community", "seafood", "--output", str(tmp_path / "u.xlsx"),
        "--unmasked", home=home,
    )  # fmt: skip
    quanzi("createoperator", "boss", home=home)
    unmasked = quanzi(
        "export", "members", "--community", "seafood", "--output", str(tmp_path / "u.xlsx"),
        "--unmasked", "--operator", "boss", home=home,
    )  # fmt: skip

    # Then
    assert masked.returncode == 0, masked.stderr
    assert masked.stdout == f"{tmp_path / 'm.xlsx'}: 2 members, 0 memberships (masked).\n"
    assert refused.returncode == 1
    assert refused.stderr == (
        "quanzi: An unmasked export needs --operator USERNAME: an operator with the "
        "personal-data permission.\n"
    )
    assert unmasked.returncode == 0, unmasked.stderr
    phones = {
        name: [row[2] for row in openpyxl.load_workbook(tmp_path / name)["members"].values]
        for name in ("m.xlsx", "u.xlsx")
    }
    assert phones == {
        "m.xlsx": ["phone", "138****5678", "139****0003"],
        "u.xlsx": ["phone", "13812345678", "13912340003"],
    }


@pytest.mark.django_db
def test_gb18030_csv_imports_and_matches_a_phone_written_differently(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a member known by phone, and a CSV saved by Chinese Excel (GB18030)
    run(capsys, "community", "create", "slim", "--name", "瘦身圈", "--kind", "charisma")
    from quanzi.members.services import IdentityIn, member_identify

    known, _ = member_identify(
        display_name="老会员", identities=[IdentityIn("phone", "13812345678")]
    )
    path = tmp_path / "会员.csv"
    path.write_bytes(
        (
            CSV_HEADER + "老会员,+86 138 1234 5678,,铁粉,,\n新人,,new@example.cn,,xiaohongshu,\n"
        ).encode("gb18030")
    )

    # When
    code, out, err = run(capsys, "import", "members", str(path), "--community", "slim")

    # Then
    assert (code, err) == (0, "")
    assert out == (
        "会员.csv: 2 rows imported into slim: 1 created, 1 matched existing members, "
        "0 seated in groups.\n"
    )
    assert Member.objects.count() == 2
    assert [t.name for t in Member.objects.get(pk=known.pk).tags.all()] == ["铁粉"]
    assert Member.objects.get(display_name="新人").source_channel == "xiaohongshu"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("empty.csv", b"", "quanzi: empty.csv is empty.\n"),
        ("junk.csv", b"\x00\xff\x13binary", "quanzi: junk.csv is not a text (CSV) file.\n"),
        (
            "fake.xlsx",
            b"name\nx\n",
            "quanzi: fake.xlsx is not an Excel .xlsx workbook (it is not a zip).\n",
        ),
        (
            "noname.csv",
            b"phone\n13812345678\n",
            "quanzi: noname.csv has no name column (姓名); the first row names the columns: "
            "name, phone, email, unionid, tags, channel, note, group.\n",
        ),
    ],
)
def test_malformed_files_are_one_line_and_write_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, filename: str, data: bytes, message: str
) -> None:
    run(capsys, "community", "create", "c", "--name", "C")
    path = tmp_path / filename
    path.write_bytes(data)

    code, out, err = run(capsys, "import", "members", str(path), "--community", "c", "--dry-run")

    assert (code, out, err) == (1, "", message)
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_missing_file_and_unknown_community_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("name,phone\na,13812345678\n")

    missing = run(capsys, "import", "members", str(tmp_path / "nope.csv"), "--community", "c")
    unknown = run(capsys, "import", "members", str(path), "--community", "nope")
    no_export = run(capsys, "export", "members", "--community", "nope", "--output", "x.xlsx")

    assert missing[0] == 2
    assert len(missing[2].splitlines()) == 1
    assert "does not exist" in missing[2]
    assert unknown == (1, "", "quanzi: No community 'nope'.\n")
    assert no_export == (1, "", "quanzi: No community 'nope'.\n")


@pytest.mark.django_db
def test_a_long_file_shows_a_progress_bar_and_a_dry_run_forecast(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "community", "create", "big", "--name", "Big")
    path = tmp_path / "big.csv"
    lines = [f"member {n},1391234{n:04d}" for n in range(250)]
    path.write_text("name,phone\n" + "\n".join(lines) + "\n")

    code, out, err = run(capsys, "import", "members", str(path), "--community", "big", "--dry-run")

    assert code == 0
    assert out.splitlines() == [
        "big.csv: 250 rows checked, all good (dry run: nothing written).",
        "Would create 250 members, match 0 existing, seat 0 in groups.",
    ]
    assert "Reading" in err
    assert "/250 " in err  # a bar counting rows, on stderr only
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_community_list_empty_and_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    empty = run(capsys, "community", "list")
    run(capsys, "community", "create", "pets", "--name", "猫咪圈", "--vertical", "pets")
    as_json = run(capsys, "community", "list", "--json")

    assert empty == (
        0,
        "No communities yet. Create one: quanzi community create SLUG --name NAME\n",
        "",
    )
    assert as_json == (
        0,
        '{"slug": "pets", "name": "猫咪圈", "kind": "product", "vertical": "pets", '
        '"groups": 0, "plans": 0, "archived": false}\n',
        "",
    )
