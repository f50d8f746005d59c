from __future__ import annotations

from quanzi.core.errors import ApplicationError, Conflict


class PaymentError(ApplicationError):
    code = "payment_invalid"


class AmountMismatch(ApplicationError):
    code = "amount_mismatch"


class OverRefund(Conflict):
    code = "over_refund"


class PaymentClosed(Conflict):
    code = "payment_closed"
