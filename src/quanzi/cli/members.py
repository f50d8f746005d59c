"""``quanzi community``, ``quanzi import members`` and ``quanzi export members``.

Each command reads its options, calls a service or selector, and prints what happened; the rules
live in the services. Django models are imported inside the commands, after ``django_setup``.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from tqdm import tqdm

from quanzi.cli.setup import django_setup

if TYPE_CHECKING:
    from quanzi.communities.importing import ImportReport

T = TypeVar("T")

KINDS = ("product", "resource", "charisma")
VERTICALS = (
    "education",
    "pets",
    "health",
    "beauty",
    "food",
    "local_life",
    "parenting",
    "fitness",
    "travel",
    "other",
)
# Below this many rows an import is over before a bar would be worth drawing.
PROGRESS_FROM = 200


def _progress(items: Sequence[T], /, *, desc: str) -> Iterable[T]:
    return tqdm(
        items,
        desc=desc,
        total=len(items),
        unit="row",
        file=sys.stderr,
        leave=False,
        disable=len(items) < PROGRESS_FROM,
    )


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(_display_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c + " " * (w - _display_width(c)) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


@click.group()
def community() -> None:
    """Communities (圈子): create and list."""


@community.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. 英语学习圈.")
@click.option(
    "--kind", type=click.Choice(KINDS), default="product", show_default=True, help="Community type."
)
@click.option(
    "--vertical", type=click.Choice(VERTICALS), default="other", show_default=True, help="Market."
)
@click.option("--description", default="", help="A sentence or two about the community.")
def community_create_command(
    slug: str, name: str, kind: str, vertical: str, description: str
) -> None:
    """Create a community with the URL name SLUG (lowercase letters, digits, dashes)."""
    django_setup()
    from quanzi.communities.services.setup import community_create

    created = community_create(
        slug=slug, name=name, kind=kind, vertical=vertical, description=description
    )
    click.echo(f"Community {created.slug} created: {created.name} ({created.kind}).")


@community.command("list")
@click.option("--archived", is_flag=True, help="Include archived communities.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def community_list_command(archived: bool, as_json: bool) -> None:
    """List communities with their groups and plans."""
    django_setup()
    from quanzi.communities.selectors import community_list

    communities = list(community_list(include_archived=archived).order_by("slug"))
    if as_json:
        for c in communities:
            click.echo(
                json.dumps(
                    {
                        "slug": c.slug,
                        "name": c.name,
                        "kind": c.kind,
                        "vertical": c.vertical,
                        "groups": c.group_count,  # type: ignore[attr-defined]
                        "plans": c.plan_count,  # type: ignore[attr-defined]
                        "archived": c.archived_at is not None,
                    },
                    ensure_ascii=False,
                )
            )
        return
    if not communities:
        click.echo("No communities yet. Create one: quanzi community create SLUG --name NAME")
        return
    rows = [
        [
            c.slug,
            c.name,
            c.kind,
            c.vertical,
            str(c.group_count),  # type: ignore[attr-defined]
            str(c.plan_count),  # type: ignore[attr-defined]
            c.created_at.date().isoformat() + (" (archived)" if c.archived_at else ""),
        ]
        for c in communities
    ]
    click.echo(_table(["SLUG", "NAME", "KIND", "VERTICAL", "GROUPS", "PLANS", "CREATED"], rows))


@click.group("import")
def import_group() -> None:
    """Import data from CSV or Excel (.xlsx) files."""


def _report_lines(report: ImportReport, *, filename: str, slug: str) -> list[str]:
    if report.errors:
        lines = [f"{filename}: {report.rows} rows checked, {len(report.errors)} bad:"]
        lines += [f"  line {e.line}: {e.reason}" for e in report.errors]
        return lines
    waiting = f", {report.waiting} on a waiting list" if report.waiting else ""
    if report.dry_run:
        return [
            f"{filename}: {report.rows} rows checked, all good (dry run: nothing written).",
            f"Would create {report.created} members, match {report.matched} existing, "
            f"seat {report.seated} in groups{waiting}.",
        ]
    return [
        f"{filename}: {report.rows} rows imported into {slug}: {report.created} created, "
        f"{report.matched} matched existing members, {report.seated} seated in groups{waiting}."
    ]


@import_group.command("members")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "slug", required=True, help="The community's slug.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
def import_members(file: Path, slug: str, dry_run: bool) -> None:
    """Import members from FILE (.csv or .xlsx): all rows, or none if any row is bad.

    \b
    Columns (header row; Chinese names work too):
      name (姓名/昵称, required), phone (手机号), email (邮箱), unionid,
      tags (标签, separated by , ; | 、), channel (渠道), note (备注),
      group (群: a group of the community to seat the member in)
    Each row needs a phone, e-mail or unionid; members already known by one are matched.
    """
    django_setup()
    from quanzi.communities.importing import members_import
    from quanzi.communities.selectors import community_by_slug
    from quanzi.members.importing import member_sheet_read

    target = community_by_slug(slug)
    sheet = member_sheet_read(file)
    if sheet.ignored_columns:
        click.echo(f"Ignored columns: {', '.join(sheet.ignored_columns)}")
    report = members_import(rows=sheet.rows, community=target, dry_run=dry_run, track=_progress)
    click.echo("\n".join(_report_lines(report, filename=file.name, slug=slug)))
    if report.errors:
        click.echo(
            f"quanzi: {len(report.errors)} bad row(s) in {file.name}; nothing was imported.",
            err=True,
        )
        raise SystemExit(1)


@click.group("export")
def export_group() -> None:
    """Export data to Excel (.xlsx); personal data masked unless asked and allowed."""


@export_group.command("members")
@click.option("--community", "slug", required=True, help="The community's slug.")
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The .xlsx file to write.",
)
@click.option(
    "--unmasked", is_flag=True, help="Full phone numbers (needs the personal-data permission)."
)
@click.option("--operator", "username", default=None, help="Operator making the export.")
def export_members(slug: str, output: Path, unmasked: bool, username: str | None) -> None:
    """Write a community's members and memberships to an Excel workbook."""
    django_setup()
    from quanzi.communities.exporting import members_export
    from quanzi.communities.selectors import community_by_slug
    from quanzi.members.exporting import export_operator

    target = community_by_slug(slug)
    user = export_operator(username) if username else None
    result = members_export(community=target, output=output, user=user, reveal=unmasked)
    click.echo(
        f"{result.path}: {result.members} members, {result.memberships} memberships"
        f" ({'masked' if result.masked else 'UNMASKED: keep this file safe'})."
    )
