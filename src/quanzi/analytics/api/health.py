"""API v1: dead-group early warning — each group's score and signals, open warnings, and the
community's threshold, window and webhook."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from quanzi.analytics.models import HealthWarning, WarningStatus
from quanzi.analytics.selectors.health import group_health, signal_views
from quanzi.analytics.services.health import health_evaluate, settings_for, settings_update
from quanzi.api.schemas import ERRORS
from quanzi.communities.models import Group
from quanzi.communities.selectors import community_by_slug
from quanzi.distribution.api._common import In, one_of, path_text

router = Router(tags=["group health"])

MAX_GROUPS = 200


class SignalOut(Schema):
    code: str = Field(
        description=one_of(
            ["activity_trend", "message_trend", "ad_ratio", "kol_silence", "strangeness"]
        )
    )
    label: str
    value: float = Field(description="A fall or a share, 0-1.")
    points: int
    action: str = Field(description="What to do about it.")


class GroupHealthOut(Schema):
    group_id: int
    group_name: str
    score: int | None = Field(description="0-100; null: not enough data (see reason).")
    reason: str
    threshold: int
    warns: bool
    signals: list[SignalOut]


class WarningOut(Schema):
    id: int
    group_id: int
    group_name: str
    day: str
    score: int
    status: str
    signals: list[SignalOut]


class WarningFilters(In):
    status: str | None = Field(None, description=one_of(WarningStatus.values))


class SettingsIn(In):
    threshold: int | None = Field(None, ge=1, le=100)
    window_days: int | None = Field(None, ge=7, le=60)
    webhook_url: str | None = Field(None, max_length=200)
    webhook_secret: str | None = Field(None, max_length=128)


class SettingsOut(Schema):
    threshold: int
    window_days: int
    webhook_url: str
    webhook_secret_set: bool


def _settings_out(conf: Any) -> dict[str, Any]:
    return {
        "threshold": conf.threshold,
        "window_days": conf.window_days,
        "webhook_url": conf.webhook_url,
        "webhook_secret_set": bool(conf.webhook_secret),
    }


@router.get("/communities/{slug}/analytics/health", response={200: list[GroupHealthOut], **ERRORS})
def health_groups(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """Every live group's score today with all five signals (the first 200 groups)."""
    community = community_by_slug(path_text(slug, 50))
    out = []
    for group in Group.objects.filter(community=community, archived_at__isnull=True).order_by("pk")[
        :MAX_GROUPS
    ]:
        view = group_health(group)
        out.append(
            {
                "group_id": group.pk,
                "group_name": group.name,
                "score": view.score,
                "reason": view.reason,
                "threshold": view.threshold,
                "warns": view.warns,
                "signals": [asdict(s) for s in view.signals],
            }
        )
    return out


@router.get(
    "/communities/{slug}/analytics/health/warnings", response={200: list[WarningOut], **ERRORS}
)
def health_warnings(
    request: HttpRequest, slug: str, q: Query[WarningFilters]
) -> list[dict[str, Any]]:
    """Warnings raised, newest first; ``status=open`` for the ones still standing."""
    community = community_by_slug(path_text(slug, 50))
    rows = HealthWarning.objects.filter(community=community).select_related("group")
    if q.status is not None:
        rows = rows.filter(status=path_text(q.status, 16))
    return [
        {
            "id": w.pk,
            "group_id": w.group_id,
            "group_name": w.group.name,
            "day": w.day.isoformat(),
            "score": w.score,
            "status": w.status,
            "signals": [asdict(s) for s in signal_views(w.signals)],
        }
        for w in rows.order_by("-raised_at", "-pk")[:500]
    ]


@router.get("/communities/{slug}/analytics/health/settings", response={200: SettingsOut, **ERRORS})
def health_settings(request: HttpRequest, slug: str) -> dict[str, Any]:
    """The warning threshold, the window and the webhook (the secret is never shown)."""
    return _settings_out(settings_for(community_by_slug(path_text(slug, 50))))


@router.put("/communities/{slug}/analytics/health/settings", response={200: SettingsOut, **ERRORS})
def health_settings_update(request: HttpRequest, slug: str, payload: SettingsIn) -> dict[str, Any]:
    """Change what is sent; a field left out keeps its value. The webhook address must be
    http(s); an empty one turns webhooks off."""
    community = community_by_slug(path_text(slug, 50))
    return _settings_out(settings_update(community=community, **payload.model_dump()))


@router.post(
    "/communities/{slug}/analytics/health/actions/evaluate",
    response={200: list[GroupHealthOut], **ERRORS},
)
def health_evaluate_now(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """Score every group now and open or resolve warnings (the job does this every 6 hours)."""
    community = community_by_slug(path_text(slug, 50))
    conf = settings_for(community)
    return [
        {
            "group_id": r.group.pk,
            "group_name": r.group.name,
            "score": r.score.score,
            "reason": r.score.reason,
            "threshold": conf.threshold,
            "warns": r.warns,
            "signals": [asdict(s) for s in signal_views([x.as_json() for x in r.score.signals])],
        }
        for r in health_evaluate(community=community)[:MAX_GROUPS]
    ]
