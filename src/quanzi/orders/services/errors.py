from __future__ import annotations

from quanzi.core.errors import ApplicationError, Conflict


class OrderError(ApplicationError):
    code = "order_invalid"


class LimitReached(Conflict):
    code = "limit_reached"


class WrongState(Conflict):
    code = "wrong_state"


class DropClosed(Conflict):
    code = "drop_closed"
