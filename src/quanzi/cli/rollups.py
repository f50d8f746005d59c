"""``quanzi analytics refresh``: bring the rollups up to date now."""

from __future__ import annotations

from quanzi.cli.analytics import analytics_group

__all__ = ["analytics_group"]
