"""``quanzi import orders``: a community's orders from before Quanzi."""

from __future__ import annotations

import click


@click.command("orders")
def import_orders() -> None:
    """Orders from before Quanzi, from CSV or Excel (not built yet)."""
    raise click.ClickException("not built yet")
