from quanzi.core.models.activity import Activity, ActivityKind
from quanzi.core.models.idempotency import IdempotencyRecord
from quanzi.core.models.jobs import JobRun, JobStatus
from quanzi.core.models.ledger import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from quanzi.core.models.tokens import ApiToken

__all__ = [
    "AccountKind",
    "Activity",
    "ActivityKind",
    "ApiToken",
    "IdempotencyRecord",
    "JobRun",
    "JobStatus",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
]
