"""The operator activity a catalog change leaves: what was done to which object."""

from __future__ import annotations

from typing import Any

from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record


def recorded(
    action: str,
    object_type: str,
    object_id: int,
    *,
    actor_id: int | None,
    community_id: int,
    data: dict[str, Any] | None = None,
) -> None:
    activity_record(
        kind=ActivityKind.OPERATOR,
        actor_id=actor_id,
        community_id=community_id,
        object_type=object_type,
        object_id=object_id,
        data={"action": action, **(data or {})},
    )
