"""Dead-group early warning (死群预警): a score per group, the signals that drove it, and who
was told.

Each live group is compared over two windows of ``window_days`` (14 by default): the last one
and the one before. Five signals add points (out of 100):

=================  =========================================================  ======
signal             measured                                                   points
=================  =========================================================  ======
activity_trend     activity rate (engaged in 7 days / members), fall          30 / 15
                   ≥ 50 % / ≥ 25 % from the window before
message_trend      messages in the window, fall ≥ 60 % / ≥ 30 %                25 / 12
ad_ratio           ads not by operators / messages in the window ≥ 30 % / 15 % 20 / 10
kol_silence        KOL seats who spoke in the window before and not in this    15 / 8
                   one: all of them / some
strangeness        members with no interaction in the window ≥ 80 % / 60 %     10 / 5
=================  =========================================================  ======

A score at or above the community's threshold (50 by default) opens a warning; the group's
warning stays open (its figures updated) while it scores high, and resolves when it drops back.
A group with fewer than ``MIN_MEMBERS`` members, or with no activity at all in the window
before, gets no score ("not enough data") — a new, empty group is not a dying one.

A warning opened is told once: on the console's health page, and by a webhook POST to the
operator's URL when one is set (signed with HMAC-SHA256, retried with backoff until it gets a
2xx; see ``quanzi.analytics.webhooks``). The hub has no operator inbox, and the outbox is for
members, so those two are the channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from quanzi.analytics.calendar import day_start, local_day
from quanzi.analytics.models import (
    ChatMessage,
    GroupScore,
    HealthSettings,
    HealthWarning,
    ScopeDay,
    WarningStatus,
    WebhookDelivery,
)
from quanzi.analytics.selectors.metrics import Period, Scope, kpis
from quanzi.communities.models import Community, Group, KolSeat
from quanzi.core import clock
from quanzi.core.errors import ApplicationError

MIN_MEMBERS = 5
SIGNALS = ("activity_trend", "message_trend", "ad_ratio", "kol_silence", "strangeness")


@dataclass(frozen=True, slots=True)
class Windows:
    """A group's figures over the last window and the one before (the score's only inputs)."""

    members: int
    activity_now: float | None
    activity_before: float | None
    messages_now: int
    messages_before: int
    ads_now: int
    kols_spoke_before: frozenset[str]
    kols_spoke_now: frozenset[str]
    strangeness_now: float | None
    anything_before: bool


@dataclass(frozen=True, slots=True)
class Signal:
    code: str
    value: float
    points: int
    detail: str = ""  # e.g. the silent KOLs' names

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "value": self.value,
            "points": self.points,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Score:
    score: int | None  # None: not enough data
    signals: list[Signal] = field(default_factory=list)
    reason: str = ""


def _fall(before: float | None, now: float | None) -> float:
    if not before or now is None:
        return 0.0
    return max(0.0, (before - now) / before)


def score(w: Windows) -> Score:
    """The score from a group's two windows: pure arithmetic, the table in the module doc."""
    if w.members < MIN_MEMBERS:
        return Score(None, reason="too_small")
    if not w.anything_before:
        return Score(None, reason="no_history")
    signals: list[Signal] = []
    fall = _fall(w.activity_before, w.activity_now)
    signals.append(
        Signal("activity_trend", round(fall, 4), 30 if fall >= 0.5 else 15 if fall >= 0.25 else 0)
    )
    fall = _fall(w.messages_before, w.messages_now)
    signals.append(
        Signal("message_trend", round(fall, 4), 25 if fall >= 0.6 else 12 if fall >= 0.3 else 0)
    )
    ads = w.ads_now / w.messages_now if w.messages_now else 0.0
    signals.append(
        Signal("ad_ratio", round(ads, 4), 20 if ads >= 0.3 else 10 if ads >= 0.15 else 0)
    )
    silent = w.kols_spoke_before - w.kols_spoke_now
    share = len(silent) / len(w.kols_spoke_before) if w.kols_spoke_before else 0.0
    signals.append(
        Signal(
            "kol_silence",
            round(share, 4),
            15 if share >= 1 else 8 if share > 0 else 0,
            "、".join(sorted(silent)),
        )
    )
    stranger = w.strangeness_now or 0.0
    signals.append(
        Signal(
            "strangeness",
            round(stranger, 4),
            10 if stranger >= 0.8 else 5 if stranger >= 0.6 else 0,
        )
    )
    signals.sort(key=lambda s: (-s.points, SIGNALS.index(s.code)))
    return Score(sum(s.points for s in signals), signals)


def signal_action(code: str, value: float, detail: str = "") -> str:
    """What the operator can do about a signal, in the reader's language."""
    percent = round(value * 100)
    if code == "activity_trend":
        return _(
            "Activity fell %(percent)s%%: start a weekly ritual (a check-in, a Q&A night) and "
            "greet the quiet members by name."
        ) % {"percent": percent}
    if code == "message_trend":
        return _(
            "Messages fell %(percent)s%%: post a topic this group cares about, or host a live "
            "Q&A with a guest."
        ) % {"percent": percent}
    if code == "ad_ratio":
        return _(
            "%(percent)s%% of messages are ads: post the group rules, remove repeat advertisers "
            "and keep promotion to one fixed slot a day."
        ) % {"percent": percent}
    if code == "kol_silence":
        return ngettext(
            "Your KOL %(names)s went quiet: invite them back with a topic or a guest session.",
            "Your KOLs %(names)s went quiet: invite them back with a topic or a guest session.",
            max(1, detail.count("、") + 1),
        ) % {"names": detail or "—"}
    if code == "strangeness":
        return _(
            "%(percent)s%% of members talked with no one: run an ice-breaker (introductions, a "
            "small group-buy) so members meet each other."
        ) % {"percent": percent}
    return ""


def signal_label(code: str) -> str:
    return {
        "activity_trend": _("Activity trend"),
        "message_trend": _("Message volume"),
        "ad_ratio": _("Ad ratio"),
        "kol_silence": _("KOL silence"),
        "strangeness": _("Strangeness"),
    }.get(code, code)


def settings_for(community: Community) -> HealthSettings:
    found, _created = HealthSettings.objects.get_or_create(community=community)
    return found


def settings_update(
    *,
    community: Community,
    threshold: int | None = None,
    window_days: int | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> HealthSettings:
    current = settings_for(community)
    if threshold is not None:
        if not 1 <= threshold <= 100:
            raise ApplicationError(_("The threshold is 1 to 100."), field="threshold")
        current.threshold = threshold
    if window_days is not None:
        if not 7 <= window_days <= 60:
            raise ApplicationError(_("A window is 7 to 60 days."), field="window_days")
        current.window_days = window_days
    if webhook_url is not None:
        url = webhook_url.strip()
        if url and not url.startswith(("http://", "https://")):
            raise ApplicationError(
                _("The webhook address starts with http:// or https://."), field="webhook_url"
            )
        current.webhook_url = url[:200]
    if webhook_secret is not None:
        current.webhook_secret = webhook_secret.strip()[:128]
    current.save()
    return current


def windows(group: Group, day: date, window_days: int) -> Windows:
    """The group's figures for the window ending with ``day`` and the one before."""
    now = Period(day - timedelta(days=window_days - 1), day + timedelta(days=1))
    before = Period(now.start - timedelta(days=window_days), now.start)
    scope = Scope(group.community_id, group.pk)
    k_now, k_before = kpis(scope, now), kpis(scope, before)
    history = ScopeDay.objects.filter(
        community_id=group.community_id,
        group_id=group.pk,
        day__gte=before.start,
        day__lt=before.end,
    ).aggregate(messages=Sum("messages"), active=Sum("active_members"))
    kol_ids = set(KolSeat.objects.filter(group=group).values_list("member_id", flat=True))
    names = dict(
        KolSeat.objects.filter(group=group).values_list("member_id", "member__display_name")
    )

    def spoke(period: Period) -> frozenset[str]:
        ids = ChatMessage.objects.filter(
            group=group,
            member_id__in=kol_ids,
            sent_at__gte=day_start(period.start),
            sent_at__lt=day_start(period.end),
        ).values_list("member_id", flat=True)
        return frozenset(names[i] for i in set(ids) if i is not None)

    return Windows(
        members=k_now.members,
        activity_now=k_now.activity_rate,
        activity_before=k_before.activity_rate,
        messages_now=k_now.messages,
        messages_before=k_before.messages,
        ads_now=k_now.ad_messages,
        kols_spoke_before=spoke(before),
        kols_spoke_now=spoke(now),
        strangeness_now=k_now.strangeness_rate,
        anything_before=bool((history["messages"] or 0) + (history["active"] or 0)),
    )


@dataclass(frozen=True, slots=True)
class GroupHealth:
    group: Group
    score: Score
    warns: bool
    warning: HealthWarning | None


def group_score(group: Group, day: date | None = None) -> tuple[Score, HealthSettings]:
    conf = settings_for(group.community)
    return score(windows(group, day or local_day(clock.now()), conf.window_days)), conf


def health_evaluate(*, community: Community, day: date | None = None) -> list[GroupHealth]:
    """Score every live group; open, update or resolve warnings; queue the webhook for each
    warning opened. Running it twice for the same day changes nothing more."""
    day = day or local_day(clock.now())
    conf = settings_for(community)
    results = []
    for group in Group.objects.filter(community=community, archived_at__isnull=True).order_by("pk"):
        result = score(windows(group, day, conf.window_days))
        warns = result.score is not None and result.score >= conf.threshold
        with transaction.atomic():
            open_one = (
                HealthWarning.objects.select_for_update()
                .filter(group=group, status=WarningStatus.OPEN)
                .first()
            )
            if warns:
                assert result.score is not None
                signals = [s.as_json() for s in result.signals if s.points]
                if open_one is None:
                    open_one, created = HealthWarning.objects.get_or_create(
                        group=group,
                        day=day,
                        defaults={
                            "community": community,
                            "score": result.score,
                            "signals": signals,
                            "status": WarningStatus.OPEN,
                            "raised_at": clock.now(),
                        },
                    )
                    if created and conf.webhook_url:
                        WebhookDelivery.objects.get_or_create(
                            warning=open_one,
                            url=conf.webhook_url,
                            defaults={
                                "payload": webhook_payload(open_one),
                                "next_attempt_at": clock.now(),
                            },
                        )
                else:
                    open_one.score = result.score
                    open_one.signals = signals
                    open_one.save(update_fields=["score", "signals"])
            elif open_one is not None and result.score is not None:
                open_one.status = WarningStatus.RESOLVED
                open_one.resolved_at = clock.now()
                open_one.save(update_fields=["status", "resolved_at"])
                open_one = None
            GroupScore.objects.update_or_create(
                group=group,
                defaults={
                    "community": community,
                    "day": day,
                    "score": result.score,
                    "reason": result.reason,
                    "signals": [s.as_json() for s in result.signals],
                    "evaluated_at": clock.now(),
                },
            )
        results.append(GroupHealth(group, result, warns, open_one if warns else None))
    return results


def webhook_payload(warning: HealthWarning) -> dict[str, Any]:
    from django.urls import reverse

    return {
        "event": "group_health.warning",
        "community": warning.community.slug,
        "group": {"id": warning.group_id, "name": warning.group.name},
        "day": warning.day.isoformat(),
        "score": warning.score,
        "signals": [
            {
                **s,
                "label": signal_label(s["code"]),
                "action": signal_action(s["code"], s["value"], s.get("detail", "")),
            }
            for s in warning.signals
        ],
        "console_path": reverse(
            "console:analytics_group", args=[warning.community.slug, warning.group_id]
        ),
    }
