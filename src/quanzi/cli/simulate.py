"""``quanzi simulate``: a realistic community at any scale, for benchmarks."""

from __future__ import annotations

import click


@click.command("simulate")
def simulate() -> None:
    """Generate a realistic community (not built yet)."""
    raise click.ClickException("not built yet")
