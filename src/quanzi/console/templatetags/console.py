"""Icons and navigation for the console and member pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from quanzi.console import labels
from quanzi.console.nav import SECTIONS
from quanzi.core.money import Money
from quanzi.members.models import IdentityKind

register = template.Library()


def _circle(cx: float, cy: float, r: float) -> str:
    return f'<circle cx="{cx}" cy="{cy}" r="{r}"/>'


def _path(d: str) -> str:
    return f'<path d="{d}"/>'


# Line icons on a 24x24 grid, drawn with the current text colour.
ICONS: dict[str, str] = {
    "home": _path("M3 11.5 12 4l9 7.5M5.5 9.5V20h4.5v-6h4v6h4.5V9.5"),
    "members": _circle(9, 8, 3.5)
    + _path("M2.5 20v-.5A5.5 5.5 0 0 1 8 14h2a5.5 5.5 0 0 1 5.5 5.5v.5")
    + _path("M15.5 4.6a3.5 3.5 0 0 1 0 6.8M21.5 20v-.5a5.5 5.5 0 0 0-3.5-5.1"),
    "communities": _circle(9, 12, 5.5) + _circle(15, 12, 5.5),
    "products": _path("M20.5 7.5 12 3 3.5 7.5v9L12 21l8.5-4.5zM3.5 7.5 12 12l8.5-4.5M12 12v9"),
    "orders": _path("M6 3h12v18l-3-2-3 2-3-2-3 2zM9 8h6M9 12h6M9 16h3"),
    "distribution": _circle(18, 5.5, 2.5)
    + _circle(6, 12, 2.5)
    + _circle(18, 18.5, 2.5)
    + _path("M8.2 10.8l7.6-4.1M8.2 13.2l7.6 4.1"),
    "crystals": _path("M7 3.5h10l4 5.5-9 11.5L3 9zM3 9h18M12 20.5 8.5 9 12 3.5 15.5 9z"),
    "events": '<rect x="3.5" y="5" width="17" height="15.5" rx="2"/>'
    + _path("M16 3v4M8 3v4M3.5 10h17M8 14h2M14 14h2"),
    "campaigns": _path("M3.5 10v4a1 1 0 0 0 1 1H7l5 4V5L7 9H4.5a1 1 0 0 0-1 1z")
    + _path("M16 9a4 4 0 0 1 0 6M18.5 6.5a7.5 7.5 0 0 1 0 11"),
    "channels": _path(
        "M10 13.5a4.5 4.5 0 0 0 6.8.5l2.7-2.7a4.5 4.5 0 0 0-6.4-6.4l-1.5 1.5"
        "M14 10.5a4.5 4.5 0 0 0-6.8-.5l-2.7 2.7a4.5 4.5 0 0 0 6.4 6.4l1.5-1.5"
    ),
    "analytics": _path("M3.5 3.5v17h17M8 16.5v-4M12.5 16.5V8M17 16.5v-6.5"),
    "activity": _path("M21 12h-4l-3 8-4-16-3 8H3"),
    "jobs": _circle(12, 12, 8.5) + _path("M12 7.5V12l3 2"),
    "tokens": _circle(7.5, 15.5, 4) + _path("M10.4 12.6 20 3M15.5 7.5l2.5 2.5M18 5l2 2"),
    "api_docs": _path("M8 8.5 4 12l4 3.5M16 8.5l4 3.5-4 3.5M13.5 5l-3 14"),
    "admin": _path("M4 20v-6M4 10V4M12 20v-8M12 8V4M20 20v-4M20 12V4M2 14h4M10 8h4M18 16h4"),
    "globe": _circle(12, 12, 8.5)
    + _path("M3.5 12h17M12 3.5a13 13 0 0 1 0 17M12 3.5a13 13 0 0 0 0 17"),
    "logout": _path(
        "M9 20.5H5.5a2 2 0 0 1-2-2v-13a2 2 0 0 1 2-2H9M15.5 16.5 20 12l-4.5-4.5M20 12H9"
    ),
    "menu": _path("M3.5 6.5h17M3.5 12h17M3.5 17.5h17"),
    "close": _path("M6 6l12 12M18 6 6 18"),
    "shop": _path("M6 3 3.5 6.5V19a2 2 0 0 0 2 2h13a2 2 0 0 0 2-2V6.5L18 3zM3.5 6.5h17")
    + _path("M15.5 10a3.5 3.5 0 0 1-7 0"),
    "me": _circle(12, 8, 4)
    + _path("M4.5 20.5v-.5a6.5 6.5 0 0 1 6.5-6.5h2a6.5 6.5 0 0 1 6.5 6.5v.5"),
    "copy": '<rect x="9" y="9" width="12" height="12" rx="2"/>'
    + _path("M5 15H4.5a2 2 0 0 1-2-2V4.5a2 2 0 0 1 2-2H13a2 2 0 0 1 2 2V5"),
    "play": _path("M7 4.5v15l12.5-7.5z"),
    "external": _path(
        "M14 4h6v6M10 14 20 4M18 13.5V19a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 4 19V7.5A1.5 1.5 0 0 1 5.5 6H11"
    ),
    "check": _path("M5 12.5l4.5 4.5L19 7.5"),
    "alert": _circle(12, 12, 8.5) + _path("M12 7.5v5.5M12 16.5v.01"),
    "filter": _path("M3.5 5h17l-6.5 8v6l-4 1.5V13z"),
    "gift": '<rect x="3.5" y="8" width="17" height="4" rx="1"/>'
    + _path(
        "M5 12v8.5h14V12M12 8v12.5M12 8S10.5 3.5 8 3.5a2.2 2.2 0 0 0 0 4.5zM12 8s1.5-4.5 4-4.5a2.2 2.2 0 0 1 0 4.5z"
    ),
    "outbox": _path("M3.5 6.5h17v11a2 2 0 0 1-2 2h-13a2 2 0 0 1-2-2z")
    + _path("M3.5 7l8.5 6.5L20.5 7"),
    "search": _circle(11, 11, 6.5) + _path("M20 20l-4.3-4.3"),
    "plus": _path("M12 5v14M5 12h14"),
    "eye": _path("M2.5 12S6 5.5 12 5.5 21.5 12 21.5 12 18 18.5 12 18.5 2.5 12 2.5 12z")
    + _circle(12, 12, 3),
    "download": _path("M12 4v11M7.5 10.5 12 15l4.5-4.5M4.5 19.5h15"),
    "merge": _path("M7 4v4a4 4 0 0 0 4 4h2a4 4 0 0 1 4 4v4M17 4v4a4 4 0 0 1-4 4")
    + _path("M4.5 6.5 7 4l2.5 2.5"),
    "trash": _path("M4.5 7h15M9.5 7V4.5h5V7M6.5 7l1 13h9l1-13M10 11v5.5M14 11v5.5"),
    "link": _path(
        "M10 13.5a4.5 4.5 0 0 0 6.8.5l2.7-2.7a4.5 4.5 0 0 0-6.4-6.4l-1.5 1.5"
        "M14 10.5a4.5 4.5 0 0 0-6.8-.5l-2.7 2.7a4.5 4.5 0 0 0 6.4 6.4l1.5-1.5"
    ),
    "lock": '<rect x="5" y="10.5" width="14" height="10" rx="2"/>'
    + _path("M8 10.5V7.5a4 4 0 0 1 8 0v3"),
    "back": _path("M15 5l-7 7 7 7"),
    "chevron": _path("M9 5l7 7-7 7"),
    "clock": _circle(12, 12, 8.5) + _path("M12 7.5V12l3 2"),
    "chat": _path("M20.5 11.5a8 8 0 0 1-11.8 7l-5.2 1.5 1.5-4.8a8 8 0 1 1 15.5-3.7z"),
}


@register.simple_tag
def icon(name: str, size: int = 18) -> SafeString:
    body = ICONS.get(name, ICONS["alert"])
    return format_html(
        '<svg class="icon" width="{}" height="{}" viewBox="0 0 24 24" fill="none" '
        'stroke="currentColor" stroke-width="1.7" stroke-linecap="round" '
        'stroke-linejoin="round" aria-hidden="true" focusable="false">{}</svg>',
        size,
        size,
        mark_safe(body),  # noqa: S308 - constant markup defined above, no user input
    )


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context: dict[str, Any]) -> dict[str, Any]:
    return {"sections": SECTIONS, "current": context.get("section", "")}


@register.filter
def schedule(seconds: int) -> str:
    """``86400`` → "Every day"; the schedule of a job in words."""
    seconds = int(seconds)
    if seconds % 86400 == 0:
        days = seconds // 86400
        if days == 1:
            return gettext("Every day")
        return ngettext("Every %(n)d day", "Every %(n)d days", days) % {"n": days}
    if seconds % 3600 == 0:
        hours = seconds // 3600
        if hours == 1:
            return gettext("Every hour")
        return ngettext("Every %(n)d hour", "Every %(n)d hours", hours) % {"n": hours}
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("Every %(n)d minute", "Every %(n)d minutes", minutes) % {"n": minutes}
    return ngettext("Every %(n)d second", "Every %(n)d seconds", seconds) % {"n": seconds}


@register.filter
def duration(run: Any) -> str:
    """How long a finished run took, in words short enough for a table cell."""
    if not getattr(run, "finished_at", None) or not getattr(run, "started_at", None):
        return ""
    seconds = max((run.finished_at - run.started_at).total_seconds(), 0)
    if seconds < 1:
        return gettext("under a second")
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", int(seconds)) % {"n": int(seconds)}
    minutes = int(seconds // 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


@register.filter
def money(minor: int | None, currency: str = "CNY") -> str:
    """``19900|money:"CNY"`` → ¥199.00."""
    if minor is None:
        return ""
    return Money(int(minor), currency or "CNY").format()


@register.filter
def channel(code: str) -> str:
    """``wechat_channels`` → 视频号: a channel code as an owner calls it."""
    return labels.channel_label(code)


@register.filter
def identity_kind(kind: str) -> str:
    """``wechat_unionid`` → 微信 unionid."""
    return str(dict(IdentityKind.choices).get(kind, kind))


@register.filter
def action_label(action: str) -> str:
    """What an activity's ``data.action`` says, in words; unknown actions as they are."""
    return labels.action_label(action)


@register.filter
def message_template(code: str) -> str:
    return labels.message_template(code)


@register.filter
def suppression_reason(reason: str) -> str:
    return labels.suppression_reason(reason)
