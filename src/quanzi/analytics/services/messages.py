"""Group chat in: a bot's batches and chat-history exports, checked whole, stored once.

A batch is checked message by message first; if any message is wrong, every problem is
reported (with its position or file line and field) and nothing is written. A good batch is
written in one transaction:

- each sender identity becomes a ``ChatSender`` of the community, resolved to a member when it
  can be: an identity the member holds (WeCom external id, unionid, phone, e-mail), a sender an
  operator linked before, or — for exports that carry only a nickname — the one member of the
  community with that display name. Anything else stays an *unknown* sender: its messages count
  in message volume and ad ratio, never in member metrics;
- a message the group already has (same chat message id, or without one, same sender, time,
  kind and text) is a duplicate and is skipped, so a bot may resend and an export be
  re-imported;
- promotion is detected; operators' accounts (``role: operator`` or a sender marked as one) are
  marked so their own announcements do not count as ads; KOL seats of the group mark KOL
  messages;
- for a known sender, the activity log gets a MESSAGE, a REPLY to the member replied to, and a
  MENTION for each member mentioned — the interactions strangeness is measured from.

Batches of one community are written one at a time (the community row is locked).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.analytics.models import ChatMessage, ChatSender, MessageKind, MessageSource
from quanzi.analytics.services.promotion import promotion_reasons
from quanzi.communities.models import Community, Group, GroupMembership, KolSeat, SeatStatus
from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import Member
from quanzi.members.selectors import member_ids_by_identity_value

MAX_BATCH = 5000
FUTURE_SLACK = timedelta(minutes=5)
TEXT_LIMIT = 500


@dataclass
class IncomingMessage:
    """One message as a bot or an export gives it. ``line`` is where it came from (a file line
    or a batch position), for error reports."""

    group: str  # the group's id or its exact name
    sent_at: datetime | None
    kind: str = MessageKind.TEXT
    sender_id: str = ""  # the chat's identity of the sender (wxid, WeCom external id, ...)
    sender_name: str = ""
    text: str = ""
    message_id: str = ""
    reply_to: str = ""  # the message id replied to, or the sender identity / name replied to
    mentions: list[str] = field(default_factory=list)
    member_id: int | None = None  # the bridge already knows the member
    role: str = ""  # "operator" for the owner's or an assistant's account
    line: int = 0


@dataclass(frozen=True, slots=True)
class MessageError:
    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class IngestReport:
    messages: int
    created: int
    duplicates: int
    unknown_senders: int  # messages whose sender is not (yet) a member
    promotions: int
    errors: tuple[MessageError, ...]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Checked:
    message: IncomingMessage
    group: Group
    sent_at: datetime
    sender_key: str
    fingerprint: str


def _sender_key(message: IncomingMessage) -> str:
    if message.sender_id.strip():
        return message.sender_id.strip()[:120]
    return "name:" + message.sender_name.strip()[:115]


def _fingerprint(message: IncomingMessage, sender_key: str, sent_at: datetime) -> str:
    if message.message_id.strip():
        return "id:" + message.message_id.strip()[:120]
    raw = "\x1f".join([sender_key, sent_at.isoformat(), message.kind, message.text])
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()[:60]


def _check(
    community: Community, messages: Sequence[IncomingMessage]
) -> tuple[list[_Checked], list[MessageError]]:
    groups = list(Group.objects.filter(community=community))
    by_id = {str(g.pk): g for g in groups}
    by_name: dict[str, list[Group]] = {}
    for g in groups:
        by_name.setdefault(g.name, []).append(g)
    known_members: set[int] = set()
    hinted = {m.member_id for m in messages if m.member_id is not None}
    if hinted:
        known_members = set(Member.objects.filter(pk__in=hinted).values_list("pk", flat=True))
    latest = clock.now() + FUTURE_SLACK
    checked: list[_Checked] = []
    errors: list[MessageError] = []

    def bad(message: IncomingMessage, name: str, reason: str) -> None:
        errors.append(MessageError(message.line, name, reason))

    for message in messages:
        before = len(errors)
        ref = str(message.group).strip()
        group = by_id.get(ref)
        if group is None:
            named = by_name.get(ref, [])
            group = named[0] if len(named) == 1 else None
            if len(named) > 1:
                bad(
                    message,
                    "group",
                    _("Two groups are named %(name)r: use the group's id.") % {"name": ref},
                )
            elif not named:
                bad(message, "group", _("No group %(group)r in this community.") % {"group": ref})
        if group is not None and group.archived_at is not None:
            bad(message, "group", _("Group %(group)r is archived.") % {"group": group.name})
        if not message.sender_id.strip() and not message.sender_name.strip():
            bad(message, "sender", _("A message needs its sender's id or name."))
        if message.kind not in MessageKind.values:
            bad(
                message,
                "kind",
                _("Unknown message kind %(kind)r; one of: %(kinds)s.")
                % {"kind": message.kind, "kinds": ", ".join(MessageKind.values)},
            )
        sent_at = message.sent_at
        if sent_at is None:
            bad(message, "sent_at", _("A message needs the time it was sent."))
        elif timezone.is_naive(sent_at):
            bad(
                message, "sent_at", _("The time needs a time zone, like 2024-05-01T10:00:00+08:00.")
            )
        elif sent_at > latest:
            bad(message, "sent_at", _("%(time)s is in the future.") % {"time": sent_at.isoformat()})
        if message.member_id is not None and message.member_id not in known_members:
            bad(message, "member_id", _("No member #%(id)s.") % {"id": message.member_id})
        if "\x00" in message.text or "\x00" in message.sender_name or "\x00" in message.sender_id:
            bad(message, "text", _("The text may not contain the NUL character."))
        if len(errors) == before and group is not None and sent_at is not None:
            key = _sender_key(message)
            checked.append(
                _Checked(message, group, sent_at, key, _fingerprint(message, key, sent_at))
            )
    return checked, errors


def messages_check(
    *, community: Community, messages: Sequence[IncomingMessage]
) -> list[MessageError]:
    """Every problem of the messages (group, sender, kind, time, member), writing nothing: lets
    an import report a file's bad lines all together, parse errors and these alike."""
    return _check(community, messages)[1]


def messages_ingest(
    *,
    community: Community,
    messages: Sequence[IncomingMessage],
    source: str = MessageSource.API,
    dry_run: bool = False,
    track: Callable[[int], object] | None = None,
) -> IngestReport:
    """Check every message; with none wrong (and not a dry run), store them all at once."""
    checked, errors = _check(community, messages)
    if errors:
        return IngestReport(len(messages), 0, 0, 0, 0, tuple(errors), dry_run)
    with transaction.atomic():
        Community.objects.select_for_update().get(pk=community.pk)
        report = _write(community, checked, source, dry_run, track)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _resolve_senders(community: Community, checked: list[_Checked]) -> dict[str, ChatSender]:
    keys = {c.sender_key for c in checked}
    senders = {
        s.external_id: s
        for s in ChatSender.objects.filter(community=community, external_id__in=keys)
    }
    seen: dict[str, tuple[datetime, datetime, IncomingMessage]] = {}
    for c in checked:
        first, last, _m = seen.get(c.sender_key, (c.sent_at, c.sent_at, c.message))
        seen[c.sender_key] = (min(first, c.sent_at), max(last, c.sent_at), c.message)
    names = _unique_names(community)
    for key, (first, last, message) in seen.items():
        sender = senders.get(key)
        if sender is None:
            sender = ChatSender(
                community=community,
                external_id=key,
                display_name=message.sender_name.strip()[:100],
                first_seen_at=first,
                last_seen_at=last,
            )
        else:
            sender.first_seen_at = min(sender.first_seen_at, first)
            sender.last_seen_at = max(sender.last_seen_at, last)
            if message.sender_name.strip():
                sender.display_name = message.sender_name.strip()[:100]
        if message.role == "operator":
            sender.is_operator = True
        if sender.member_id is None:
            sender.member_id = _member_for(message, names)
        sender.save()
        senders[key] = sender
    return senders


def _unique_names(community: Community) -> dict[str, int]:
    """Display names that exactly one member seated in the community has."""
    counts: dict[str, list[int]] = {}
    seated = GroupMembership.objects.filter(
        group__community=community, status__in=[SeatStatus.ACTIVE, SeatStatus.LEFT]
    ).values_list("member_id", "member__display_name", "member__merged_into_id")
    for member_id, name, merged in seated:
        if merged is None and name:
            ids = counts.setdefault(name, [])
            if member_id not in ids:
                ids.append(member_id)
    return {name: ids[0] for name, ids in counts.items() if len(ids) == 1}


def _member_for(message: IncomingMessage, names: dict[str, int]) -> int | None:
    if message.member_id is not None:
        return message.member_id
    if message.sender_id.strip():
        found = set(member_ids_by_identity_value(message.sender_id.strip()))
        if len(found) == 1:
            return found.pop()
        return None
    return names.get(message.sender_name.strip())


def _write(
    community: Community,
    checked: list[_Checked],
    source: str,
    dry_run: bool,
    track: Callable[[int], object] | None = None,
) -> IngestReport:
    groups = {c.group.pk for c in checked}
    existing = set(
        ChatMessage.objects.filter(
            group_id__in=groups, fingerprint__in=[c.fingerprint for c in checked]
        ).values_list("group_id", "fingerprint")
    )
    fresh: list[_Checked] = []
    for c in checked:
        key = (c.group.pk, c.fingerprint)
        if key not in existing:
            existing.add(key)
            fresh.append(c)
    duplicates = len(checked) - len(fresh)
    senders = _resolve_senders(community, fresh) if fresh else {}
    kols = set(KolSeat.objects.filter(group_id__in=groups).values_list("group_id", "member_id"))
    # Message ids of this batch and of earlier ones, for replies given as a message id.
    by_message_id = {
        ("id:" + c.message.message_id.strip()[:120]): senders[c.sender_key].member_id
        for c in fresh
        if c.message.message_id.strip()
    }
    names = {s.display_name: s.member_id for s in senders.values() if s.display_name}
    rows: list[ChatMessage] = []
    for c in fresh:
        sender = senders[c.sender_key]
        m = c.message
        reasons = promotion_reasons(m.kind, m.text)
        operator = sender.is_operator or m.role == "operator"
        reply_to = _reply_target(community, c.group, m.reply_to, by_message_id, names)
        mentioned = sorted(
            {
                mid
                for mid in (_identity_member(community, ref, names) for ref in m.mentions)
                if mid is not None and mid != sender.member_id
            }
        )
        rows.append(
            ChatMessage(
                community=community,
                group=c.group,
                sender=sender,
                member_id=sender.member_id,
                fingerprint=c.fingerprint,
                sent_at=c.sent_at,
                kind=m.kind,
                text=m.text[:TEXT_LIMIT],
                reply_to_member_id=reply_to if reply_to != sender.member_id else None,
                mentioned_member_ids=mentioned,
                is_promotion=bool(reasons),
                promotion_reasons=reasons,
                from_operator=operator,
                from_kol=(c.group.pk, sender.member_id) in kols,
                source=source,
            )
        )
        if track is not None and len(rows) % 500 == 0:
            track(500)
    if not dry_run:
        ChatMessage.objects.bulk_create(rows, batch_size=1000)
        _record_activity(community, rows)
    return IngestReport(
        messages=len(checked),
        created=len(rows),
        duplicates=duplicates,
        unknown_senders=sum(1 for r in rows if r.member_id is None),
        promotions=sum(1 for r in rows if r.is_promotion and not r.from_operator),
        errors=(),
        dry_run=dry_run,
    )


def _identity_member(community: Community, ref: str, names: dict[str, int | None]) -> int | None:
    ref = (ref or "").strip().lstrip("@")
    if not ref:
        return None
    sender = ChatSender.objects.filter(community=community, external_id=ref).first()
    if sender is not None:
        return sender.member_id
    if ref in names:
        return names[ref]
    sender = ChatSender.objects.filter(community=community, display_name=ref).first()
    return sender.member_id if sender else None


def _reply_target(
    community: Community,
    group: Group,
    ref: str,
    by_message_id: dict[str, int | None],
    names: dict[str, int | None],
) -> int | None:
    ref = (ref or "").strip()
    if not ref:
        return None
    key = "id:" + ref[:120]
    if key in by_message_id:
        return by_message_id[key]
    earlier = ChatMessage.objects.filter(group=group, fingerprint=key).values_list(
        "member_id", flat=True
    )
    for member_id in earlier:
        return member_id
    return _identity_member(community, ref, names)


def _record_activity(community: Community, rows: list[ChatMessage]) -> None:
    facts: list[Activity] = []
    for row in rows:
        if row.member_id is None:
            continue
        common = {
            "occurred_at": row.sent_at,
            "member_id": row.member_id,
            "community_id": community.pk,
            "group_id": row.group_id,
            "source": "chat",
            "object_type": "chat_message",
            "object_id": str(row.pk),
        }
        facts.append(
            Activity(
                kind=ActivityKind.MESSAGE,
                data={"kind": row.kind, "ad": row.is_promotion and not row.from_operator},
                **common,
            )
        )
        if row.reply_to_member_id:
            facts.append(
                Activity(kind=ActivityKind.REPLY, target_member_id=row.reply_to_member_id, **common)
            )
        for mentioned in row.mentioned_member_ids:
            facts.append(Activity(kind=ActivityKind.MENTION, target_member_id=mentioned, **common))
    Activity.objects.bulk_create(facts, batch_size=1000)


def sender_link(*, sender: ChatSender, member: Member) -> int:
    """Link an unknown sender to a member: their past messages become the member's (with the
    activity they would have recorded) and so do future ones. Returns the messages moved."""
    from quanzi.core.errors import Conflict

    with transaction.atomic():
        sender = ChatSender.objects.select_for_update().get(pk=sender.pk)
        if sender.member_id is not None and sender.member_id != member.pk:
            raise Conflict(_("This sender is already linked to another member."), field="member_id")
        if sender.member_id == member.pk:
            return 0
        sender.member = member
        sender.save(update_fields=["member"])
        past = list(ChatMessage.objects.filter(sender=sender, member_id__isnull=True))
        ChatMessage.objects.filter(pk__in=[m.pk for m in past]).update(member_id=member.pk)
        for message in past:
            message.member_id = member.pk
        _record_activity(sender.community, past)
    return len(past)
