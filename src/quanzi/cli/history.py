"""``quanzi import orders``: a community's orders from before Quanzi."""

from __future__ import annotations

from pathlib import Path

import click

from quanzi.cli.setup import django_setup


@click.command("orders")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "slug", required=True, help="The community's slug.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
def import_orders(file: Path, slug: str, dry_run: bool) -> None:
    """Import orders paid before Quanzi from FILE (.csv or .xlsx): all rows, or none if any is bad.

    \b
    Columns: member_ref, order_ref, paid_at, amount (yuan, like 12.50); optional channel, product.
    A phone number or e-mail in member_ref is the member's identity; any other reference stays
    this community's, so it finds the same member next time. Importing the same file again
    changes nothing.
    """
    django_setup()
    from tqdm import tqdm

    from quanzi.analytics.services.history import order_file_read, orders_import
    from quanzi.communities.selectors import community_by_slug
    from quanzi.core.money import Money

    target = community_by_slug(slug)
    rows, errors = order_file_read(file.read_bytes(), file.name)
    with tqdm(
        total=len(rows), desc="orders", unit="row", leave=False, disable=len(rows) < 500
    ) as bar:
        report = orders_import(
            community=target,
            rows=rows,
            errors=errors,
            dry_run=dry_run,
            source_file=file.name,
            track=bar.update,
        )
    if report.errors:
        for error in report.errors:
            click.echo(f"  line {error.line}: {error.field}: {error.reason}")
        click.echo(
            f"quanzi: {len(report.errors)} bad row(s) in {file.name}; nothing was imported.",
            err=True,
        )
        raise SystemExit(1)
    total = Money(report.revenue_minor, target.currency)
    verb = "would import" if dry_run else "imported"
    click.echo(
        f"{file.name}: {report.rows} rows checked; {verb} {report.imported} orders ({total}) "
        f"into {slug}; {report.already} already imported; members: "
        f"{report.members_created} new, {report.members_matched} matched"
        + (" — dry run: nothing written." if dry_run else ".")
    )
