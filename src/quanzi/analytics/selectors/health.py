"""Reading group health: open warnings with their reasons and actions, and each group's score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from quanzi.analytics.models import GroupScore, HealthWarning, WarningStatus
from quanzi.analytics.services.health import (
    group_score,
    settings_for,
    signal_action,
    signal_label,
)
from quanzi.communities.models import Community, Group


@dataclass(frozen=True, slots=True)
class SignalView:
    code: str
    label: str
    value: float
    points: int
    action: str


@dataclass(frozen=True, slots=True)
class WarningView:
    id: int
    group_id: int
    group_name: str
    day: str
    score: int
    signals: list[SignalView]


def signal_views(raw: list[dict[str, object]]) -> list[SignalView]:
    out = []
    for s in raw:
        code, value = str(s["code"]), float(s["value"])  # type: ignore[arg-type]
        out.append(
            SignalView(
                code=code,
                label=signal_label(code),
                value=value,
                points=int(s["points"]),  # type: ignore[call-overload]
                action=signal_action(code, value, str(s.get("detail", ""))),
            )
        )
    return out


def open_warnings(community: Community) -> list[WarningView]:
    """The community's open warnings, highest score first."""
    rows = (
        HealthWarning.objects.filter(community=community, status=WarningStatus.OPEN)
        .select_related("group")
        .order_by("-score", "group__name")
    )
    return [
        WarningView(
            w.pk, w.group_id, w.group.name, w.day.isoformat(), w.score, signal_views(w.signals)
        )
        for w in rows
    ]


@dataclass(frozen=True, slots=True)
class HealthView:
    score: int | None
    reason: str  # why there is no score: too_small, no_history
    signals: list[SignalView]
    threshold: int
    warns: bool
    evaluated_at: datetime | None = None  # None: worked out now


def group_health(group: Group) -> HealthView:
    """The group's score today, computed from the rollups, with every signal."""
    result, conf = group_score(group)
    signals = signal_views([s.as_json() for s in result.signals])
    warns = result.score is not None and result.score >= conf.threshold
    return HealthView(result.score, result.reason, signals, conf.threshold, warns)


def group_health_stored(community: Community, groups: Sequence[Group]) -> dict[int, HealthView]:
    """Each group's score at the last evaluation (the health job's, every 6 hours); a group
    never evaluated yet is scored now."""
    threshold = settings_for(community).threshold
    stored = {s.group_id: s for s in GroupScore.objects.filter(group__in=list(groups))}
    out = {}
    for group in groups:
        row = stored.get(group.pk)
        if row is None:
            out[group.pk] = group_health(group)
            continue
        warns = row.score is not None and row.score >= threshold
        out[group.pk] = HealthView(
            row.score, row.reason, signal_views(row.signals), threshold, warns, row.evaluated_at
        )
    return out
