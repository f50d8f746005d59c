"""Display names for the channel codes the activity log carries.

The log stores whatever code an integration sends (``douyin``, ``wechat_channels``); an owner
reads 抖音 and 视频号. Codes not listed here are shown as they are. When the channels domain
exists, its channel names replace this table.
"""

from __future__ import annotations

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
