from __future__ import annotations

from quanzi.core.errors import ApplicationError


class DistributionError(ApplicationError):
    code = "distribution_invalid"
