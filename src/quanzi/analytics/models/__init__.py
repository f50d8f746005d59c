from quanzi.analytics.models.health import (
    GroupScore,
    HealthSettings,
    HealthWarning,
    WarningStatus,
    WebhookDelivery,
)
from quanzi.analytics.models.history import HistoricOrder
from quanzi.analytics.models.messages import ChatMessage, ChatSender, MessageKind, MessageSource
from quanzi.analytics.models.rollups import (
    COMMUNITY_SCOPE,
    CohortCell,
    GroupPair,
    MemberDay,
    MemberFact,
    PendingKind,
    Purchase,
    RollupPending,
    RollupState,
    ScopeDay,
    SeatCount,
    Snapshot,
    SnapshotKind,
)
from quanzi.analytics.models.value import MemberValue, ValueFit

__all__ = [
    "COMMUNITY_SCOPE",
    "ChatMessage",
    "ChatSender",
    "CohortCell",
    "GroupPair",
    "GroupScore",
    "HealthSettings",
    "HealthWarning",
    "HistoricOrder",
    "MemberDay",
    "MemberFact",
    "MemberValue",
    "MessageKind",
    "MessageSource",
    "PendingKind",
    "Purchase",
    "RollupPending",
    "RollupState",
    "ScopeDay",
    "SeatCount",
    "Snapshot",
    "SnapshotKind",
    "ValueFit",
    "WarningStatus",
    "WebhookDelivery",
]
