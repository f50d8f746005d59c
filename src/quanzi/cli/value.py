"""``quanzi analytics clv``: fit BG/NBD and Gamma-Gamma on a community's orders."""

from __future__ import annotations

from quanzi.cli.analytics import analytics_group

__all__ = ["analytics_group"]
