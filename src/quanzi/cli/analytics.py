"""``quanzi analytics``: community health figures and member value from the command line."""

from __future__ import annotations

import click


@click.group("analytics")
def analytics_group() -> None:
    """Community health analytics and member value."""
