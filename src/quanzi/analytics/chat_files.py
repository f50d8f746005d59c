"""Reading chat-history exports: CSV (UTF-8, with or without BOM, or GB18030 from Excel on
Chinese Windows) and JSON (a list of messages, or ``{"messages": [...]}``).

Columns and keys may be English or Chinese: time/时间, group/群/群名, sender/发送者/昵称,
sender_id/微信号/wxid, kind/type/类型, content/text/内容, message_id/消息ID, reply_to/回复,
mentions/提及 (separated by commas, spaces or ``@``). A time without a zone is read in the hub's
time zone (``TIME_ZONE``). Each problem is reported with its line (CSV: the file line, header =
1; JSON: the message's position, first = 1) and the file is then not imported at all.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from quanzi.analytics.models import MessageKind
from quanzi.analytics.services.messages import IncomingMessage, MessageError

ALIASES = {
    "time": ("time", "sent_at", "timestamp", "date", "时间", "发送时间", "日期"),
    "group": ("group", "group_name", "group_id", "群", "群名", "群聊", "群名称"),
    "sender_name": ("sender", "sender_name", "name", "nickname", "发送者", "昵称", "发言人"),
    "sender_id": ("sender_id", "wxid", "userid", "external_userid", "微信号", "发送者id"),
    "kind": ("kind", "type", "msg_type", "类型", "消息类型"),
    "text": ("content", "text", "message", "内容", "消息内容"),
    "message_id": ("message_id", "msgid", "id", "消息id"),
    "reply_to": ("reply_to", "quote", "回复", "引用"),
    "mentions": ("mentions", "at", "提及", "@"),
    "role": ("role", "身份"),
}
# Export tools name kinds in their own words; these are the common ones.
KIND_WORDS = {
    "text": MessageKind.TEXT,
    "文本": MessageKind.TEXT,
    "文字": MessageKind.TEXT,
    "link": MessageKind.LINK,
    "链接": MessageKind.LINK,
    "url": MessageKind.LINK,
    "image": MessageKind.IMAGE,
    "图片": MessageKind.IMAGE,
    "picture": MessageKind.IMAGE,
    "mini_program": MessageKind.MINI_PROGRAM,
    "miniprogram": MessageKind.MINI_PROGRAM,
    "小程序": MessageKind.MINI_PROGRAM,
    "qr": MessageKind.QR,
    "qrcode": MessageKind.QR,
    "二维码": MessageKind.QR,
    "red_packet": MessageKind.RED_PACKET,
    "redpacket": MessageKind.RED_PACKET,
    "红包": MessageKind.RED_PACKET,
}
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
_SPLIT = re.compile(r"[,，;；\s@]+")


@dataclass(frozen=True, slots=True)
class ChatFile:
    messages: list[IncomingMessage]
    errors: list[MessageError]


class ChatFileInvalid(ValueError):
    """The file cannot be read at all (not CSV/JSON, wrong encoding, no usable columns)."""


def chat_file_read(path: Path, *, group: str = "") -> ChatFile:
    """Every message of the file, and every problem with its line. ``group`` names the group
    for exports of one chat that carry no group column."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".json":
        return _read_json(_decode(raw), group)
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv(_decode(raw), group)
    raise ChatFileInvalid(_("%(name)s: give a .csv or .json file.") % {"name": path.name})


def chat_bytes_read(name: str, raw: bytes, *, group: str = "") -> ChatFile:
    if name.lower().endswith(".json"):
        return _read_json(_decode(raw), group)
    return _read_csv(_decode(raw), group)


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ChatFileInvalid(_("The file is neither UTF-8 nor GB18030 text."))


def _column_map(names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    lowered = {n.strip().lower(): n for n in names if n}
    for key, aliases in ALIASES.items():
        for alias in aliases:
            if alias.lower() in lowered:
                found[key] = lowered[alias.lower()]
                break
    return found


def _read_csv(text: str, group: str) -> ChatFile:
    reader = csv.DictReader(io.StringIO(text))
    columns = _column_map(list(reader.fieldnames or []))
    missing = [k for k in ("time", "text") if k not in columns]
    if not group and "group" not in columns:
        missing.append("group")
    if "sender_name" not in columns and "sender_id" not in columns:
        missing.append("sender")
    if missing:
        raise ChatFileInvalid(
            _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)}
        )
    messages: list[IncomingMessage] = []
    errors: list[MessageError] = []
    for row in reader:
        line = reader.line_num
        values = {k: (row.get(col) or "").strip() for k, col in columns.items()}
        _append(values, line, group, messages, errors)
    return ChatFile(messages, errors)


def _read_json(text: str, group: str) -> ChatFile:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChatFileInvalid(
            _("Not valid JSON (line %(line)s: %(reason)s).")
            % {"line": exc.lineno, "reason": exc.msg}
        ) from None
    if isinstance(data, dict):
        data = data.get("messages")
    if not isinstance(data, list):
        raise ChatFileInvalid(_('Expected a list of messages, or {"messages": [...]}.'))
    messages: list[IncomingMessage] = []
    errors: list[MessageError] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(MessageError(index, "message", _("Each message must be an object.")))
            continue
        columns = _column_map(list(item))
        values = {}
        for key, name in columns.items():
            value = item.get(name)
            if key == "mentions" and isinstance(value, list):
                value = ",".join(str(v) for v in value)
            values[key] = "" if value is None else str(value).strip()
        _append(values, index, group, messages, errors)
    return ChatFile(messages, errors)


def _append(
    values: dict[str, str],
    line: int,
    group: str,
    messages: list[IncomingMessage],
    errors: list[MessageError],
) -> None:
    sent_at, problem = parse_time(values.get("time", ""))
    if problem:
        errors.append(MessageError(line, "time", problem))
        return
    word = values.get("kind", "").lower() or MessageKind.TEXT
    kind = KIND_WORDS.get(word, word)
    mentions = [m for m in _SPLIT.split(values.get("mentions", "")) if m]
    messages.append(
        IncomingMessage(
            group=values.get("group") or group,
            sent_at=sent_at,
            kind=kind,
            sender_id=values.get("sender_id", ""),
            sender_name=values.get("sender_name", ""),
            text=values.get("text", ""),
            message_id=values.get("message_id", ""),
            reply_to=values.get("reply_to", ""),
            mentions=mentions,
            role=values.get("role", "").lower(),
            line=line,
        )
    )


def parse_time(raw: str, formats: Sequence[str] = _FORMATS) -> tuple[datetime | None, str]:
    """A time as exports write it (ISO 8601, a Unix timestamp, or one of ``formats``); one
    without a zone is in the hub's time zone (``settings.TIME_ZONE``, Asia/Shanghai by default),
    whatever zone a request activated. Returns the time, or None and why not."""
    hub = ZoneInfo(settings.TIME_ZONE)
    raw = raw.strip()
    if not raw:
        return None, _("The time is empty.")
    if raw.isdigit() and len(raw) in (10, 13):  # a Unix timestamp, in seconds or ms
        seconds = int(raw) / (1000 if len(raw) == 13 else 1)
        return datetime.fromtimestamp(seconds, tz=hub), ""
    moment: datetime | None = None
    try:
        moment = parse_datetime(raw.replace("/", "-") if "T" in raw else raw)
    except ValueError:
        moment = None
    if moment is None:
        for fmt in formats:
            try:
                moment = datetime.strptime(raw, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        return None, _("%(value)r is not a time (use 2024-05-01 10:00 or ISO 8601).") % {
            "value": raw
        }
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, hub)
    return moment, ""
