"""``quanzi simulate``: a realistic community at any scale, for benchmarks."""

from __future__ import annotations

import sys

import click

from quanzi.cli.setup import django_setup


@click.command("simulate")
@click.option("--members", type=int, required=True, help="Members to create.")
@click.option("--groups", type=int, required=True, help="Groups to spread them over.")
@click.option("--days", type=int, required=True, help="Days of history, ending now.")
@click.option(
    "--activities", type=int, default=None, help="Activities in all (default 10 per member)."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same community.")
@click.option("--community", "slug", default="", help="Slug of the new community.")
@click.option("--no-rollup", is_flag=True, help="Leave the analytics rollups for the job.")
def simulate(
    members: int,
    groups: int,
    days: int,
    activities: int | None,
    seed: int,
    slug: str,
    no_rollup: bool,
) -> None:
    """Generate a realistic community: members, groups, seats, chat, orders, visits and
    referrals over DAYS, with dying and growing groups; then fold it into the analytics rollups."""
    django_setup()
    from datetime import timedelta

    from tqdm import tqdm

    from quanzi.analytics.rollups import rollup_refresh
    from quanzi.analytics.simulate import simulate as run

    bars: dict[str, tqdm] = {}  # type: ignore[type-arg]

    def track(step: str, done: int, total: int) -> None:
        bar = bars.get(step)
        if bar is None:
            bar = bars[step] = tqdm(
                total=total, desc=step, unit="row", file=sys.stderr, leave=False
            )
        bar.update(done - bar.n)

    report = run(
        members=members,
        groups=groups,
        days=days,
        activities=activities,
        seed=seed,
        slug=slug,
        track=track,
    )
    for bar in bars.values():
        bar.close()
    click.echo(str(report))
    if no_rollup:
        return
    with tqdm(
        total=report.activities + report.messages,
        desc="rollups",
        unit="row",
        file=sys.stderr,
        leave=False,
    ) as bar:

        def folded(rows: int) -> None:
            bar.update(rows)

        rolled = rollup_refresh(track=folded, settle=timedelta(0))
    click.echo(f"Rollups: {rolled}.")
