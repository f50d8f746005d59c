"""Display names for the channel codes the activity log carries.

The log stores whatever code an integration sends (``douyin``, ``wechat_channels``); an owner
reads 抖音 and 视频号. Codes not listed here are shown as they are. When the channels domain
exists, its channel names replace this table.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CHANNELS: dict[str, str | Promise] = {
    "douyin": _("Douyin"),
    "xiaohongshu": _("Xiaohongshu"),
    "weibo": _("Weibo"),
    "toutiao": _("Toutiao"),
    "wechat_channels": _("WeChat Channels"),
    "wechat": _("WeChat"),
    "wecom": _("WeCom"),
    "taobao": _("Taobao"),
    "bilibili": _("Bilibili"),
    "kuaishou": _("Kuaishou"),
    "pinduoduo": _("Pinduoduo"),
    "jd": _("JD.com"),
    "offline": _("Offline"),
}


def channel_label(code: str) -> str:
    return str(CHANNELS.get(code, code))


def channel_choices(
    extra: Sequence[str] = (), *, only_given: bool = False
) -> list[tuple[str, str]]:
    """(code, name) pairs for a select: the known platforms, then any other code seen."""
    codes = list(extra) if only_given else [*CHANNELS, *(c for c in extra if c not in CHANNELS)]
    return [(code, channel_label(code)) for code in dict.fromkeys(codes)]


ACTIONS: dict[str, str | Promise] = {
    "created": _("record created"),
    "identified": _("identified again"),
    "updated": _("profile updated"),
    "identity_added": _("identity added"),
    "identity_removed": _("identity removed"),
    "opted_out": _("opted out of marketing"),
    "opted_in": _("opted in to marketing"),
    "consented": _("agreed to the privacy notice"),
    "merged": _("records merged"),
    "anonymised": _("personal data deleted"),
    "personal_data_revealed": _("personal data viewed by an operator"),
    "sign_in_link_created": _("personal sign-in link sent"),
    "started": _("membership started"),
    "activated": _("membership activated"),
    "renewed_early": _("renewed early"),
    "renewed_late": _("renewed after expiry"),
    "reminded": _("renewal reminder"),
    "expired": _("membership expired"),
    "cancelled": _("membership cancelled"),
    "kol_seat_assigned": _("KOL seat assigned"),
    "kol_seat_released": _("KOL seat released"),
}


def action_label(action: str) -> str:
    label = ACTIONS.get(action)
    return str(label) if label is not None else action.replace("_", " ")


MESSAGE_TEMPLATES: dict[str, str | Promise] = {
    "group_welcome": _("Group welcome"),
    "membership_reminder": _("Renewal reminder"),
    "sign_in_link": _("Personal sign-in link"),
}

SUPPRESSION_REASONS: dict[str, str | Promise] = {
    "member opted out of marketing": _("The member opted out of marketing."),
    "member record closed": _("The member record is closed (merged or deleted)."),
}


def message_template(code: str) -> str:
    return str(MESSAGE_TEMPLATES.get(code, code.replace("_", " ")))


def suppression_reason(reason: str) -> str:
    return str(SUPPRESSION_REASONS.get(reason, reason))
