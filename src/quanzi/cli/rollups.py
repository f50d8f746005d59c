"""``quanzi analytics refresh``: bring the rollups up to date now."""

from __future__ import annotations

import sys

import click

from quanzi.cli.analytics import analytics_group
from quanzi.cli.setup import django_setup

__all__ = ["analytics_group", "refresh"]


@analytics_group.command("refresh")
@click.option(
    "--now",
    "immediately",
    is_flag=True,
    help="Fold in rows recorded a moment ago too (when nothing else is writing).",
)
def refresh(immediately: bool) -> None:
    """Fold new activity and chat into the health rollups (the job does it every 5 minutes)."""
    django_setup()
    from datetime import timedelta

    from tqdm import tqdm

    from quanzi.analytics.rollups import rollup_refresh

    with tqdm(desc="rollups", unit="row", file=sys.stderr, leave=False) as bar:

        def folded(rows: int) -> None:
            bar.update(rows)

        report = rollup_refresh(track=folded, settle=timedelta(0) if immediately else None)
    click.echo(f"Rollups: {report}.")
