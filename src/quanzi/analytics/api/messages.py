"""API v1: group chat in. A bot or bridge posts batches; an operator uploads chat-history
exports; unknown senders are listed so an operator can link each to a member."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate
from ninja.params import FileEx, FormEx, P

from quanzi.analytics.chat_files import ChatFileInvalid, chat_bytes_read
from quanzi.analytics.models import ChatSender, MessageKind, MessageSource
from quanzi.analytics.services.messages import (
    MAX_BATCH,
    IncomingMessage,
    IngestReport,
    MessageError,
    messages_check,
    messages_ingest,
    sender_link,
)
from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.communities.selectors import community_by_slug
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.distribution.api._common import BIGINT, In, member_by_id, one_of, path_text

router = Router(tags=["chat"])

MAX_UPLOAD = 20 * 1024 * 1024


class MessageIn(In):
    group: str = Field(max_length=100, description="The group's id or its exact name.")
    sent_at: datetime = Field(description="With its time zone, e.g. 2024-05-01T10:00:00+08:00.")
    kind: str = Field(MessageKind.TEXT, description=one_of(MessageKind.values))
    sender_id: str = Field("", max_length=120, description="The chat's id of the sender.")
    sender_name: str = Field("", max_length=100)
    text: str = Field("", max_length=5000, description="Kept up to 500 characters.")
    message_id: str = Field("", max_length=120, description="Makes resending safe.")
    reply_to: str = Field("", max_length=120, description="A message id, or a sender id/name.")
    mentions: list[str] = Field(default_factory=list, max_length=50)
    member_id: int | None = Field(None, ge=1, le=BIGINT, description="If the bridge knows it.")
    role: str = Field("", description="operator: the owner's or an assistant's account.")


class BatchIn(In):
    messages: list[MessageIn] = Field(max_length=MAX_BATCH, min_length=1)


class IngestOut(Schema):
    messages: int
    created: int
    duplicates: int = Field(description="Already stored: resent or re-imported.")
    unknown_senders: int = Field(description="New messages whose sender is not a member yet.")
    promotions: int = Field(description="New messages flagged as promotion, not by operators.")
    dry_run: bool


class SenderOut(Schema):
    id: int
    external_id: str
    display_name: str
    member_id: int | None
    is_operator: bool
    first_seen_at: datetime
    last_seen_at: datetime
    messages: int


class SenderFilters(In):
    known: bool | None = Field(None, description="false: only senders not linked to a member.")


class SenderLinkIn(In):
    member_id: int = Field(ge=1, le=BIGINT)


class SenderRoleIn(In):
    is_operator: bool


def _out(report: IngestReport) -> dict[str, Any]:
    return {
        "messages": report.messages,
        "created": report.created,
        "duplicates": report.duplicates,
        "unknown_senders": report.unknown_senders,
        "promotions": report.promotions,
        "dry_run": report.dry_run,
    }


def _refuse(errors: list[MessageError] | tuple[MessageError, ...], prefix: str) -> None:
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(f"{prefix}{error.line}.{error.field}", []).append(error.reason)
    raise ApplicationError(
        _("%(count)s message(s) are wrong; nothing was stored.") % {"count": len(errors)},
        fields=fields,
        code="invalid_messages",
    )


@router.post("/communities/{slug}/messages", response={201: IngestOut, **ERRORS})
def messages_post(request: HttpRequest, slug: str, payload: BatchIn) -> Status[dict[str, Any]]:
    """Store a batch of group messages (up to 5000). Every message is checked first: any wrong
    one is a 422 naming ``messages.<index>.<field>`` (index from 0) and nothing is stored.
    Messages already stored (same message_id, or same sender, time, kind and text) are counted
    as duplicates, so a bridge may resend a batch safely."""
    community = community_by_slug(path_text(slug, 50))
    incoming = [
        IncomingMessage(line=index, **message.model_dump())
        for index, message in enumerate(payload.messages)
    ]
    report = messages_ingest(community=community, messages=incoming, source=MessageSource.API)
    if report.errors:
        _refuse(report.errors, "messages.")
    return Status(201, _out(report))


@router.post("/communities/{slug}/messages/import", response={200: IngestOut, **ERRORS})
def messages_import(
    request: HttpRequest,
    slug: str,
    file: FileEx[UploadedFile, P(description="A chat-history export: .csv or .json, ≤ 20 MB.")],
    group: FormEx[str, P(max_length=100, description="For a one-chat export.")] = "",
    dry_run: FormEx[bool, P(description="Check and report; store nothing.")] = False,
) -> dict[str, Any]:
    """Import a chat-history export (multipart/form-data). Problems are a 422 naming
    ``line.<n>.<field>`` (CSV: file line; JSON: message position from 1); nothing is stored."""
    community = community_by_slug(path_text(slug, 50))
    if (file.size or 0) > MAX_UPLOAD:
        raise ApplicationError(_("The file is over 20 MB; split it."), field="file")
    try:
        parsed = chat_bytes_read(file.name or "chat.csv", file.read(), group=group)
    except ChatFileInvalid as exc:
        raise ApplicationError(str(exc), field="file") from None
    if parsed.errors:
        checked = messages_check(community=community, messages=parsed.messages)
        _refuse(sorted([*parsed.errors, *checked], key=lambda e: e.line), "line.")
    report = messages_ingest(
        community=community, messages=parsed.messages, source=MessageSource.IMPORT, dry_run=dry_run
    )
    if report.errors:
        _refuse(report.errors, "line.")
    return _out(report)


def _sender_out(sender: ChatSender) -> dict[str, Any]:
    return {
        "id": sender.pk,
        "external_id": sender.external_id,
        "display_name": sender.display_name,
        "member_id": sender.member_id,
        "is_operator": sender.is_operator,
        "first_seen_at": sender.first_seen_at,
        "last_seen_at": sender.last_seen_at,
        "messages": getattr(sender, "message_count", 0),
    }


@router.get("/communities/{slug}/chat-senders", response={200: list[SenderOut], **ERRORS})
@paginate(Page)
def chat_sender_list(
    request: HttpRequest, slug: str, filters: Query[SenderFilters]
) -> list[dict[str, Any]]:
    """Who speaks in the community's groups; ``known=false`` lists the senders not yet linked to
    a member, most talkative first."""
    from django.db.models import Count

    community = community_by_slug(path_text(slug, 50))
    senders = ChatSender.objects.filter(community=community).annotate(
        message_count=Count("messages")
    )
    if filters.known is not None:
        senders = senders.filter(member__isnull=not filters.known)
    return [_sender_out(s) for s in senders.order_by("-message_count", "pk")]


def _sender(sender_id: int) -> ChatSender:
    sender = ChatSender.objects.filter(pk=sender_id).first() if sender_id <= BIGINT else None
    if sender is None:
        raise NotFound(_("No chat sender #%(id)s.") % {"id": sender_id}, field="sender_id")
    return sender


@router.post("/chat-senders/{sender_id}/link", response={200: SenderOut, **ERRORS})
def chat_sender_link(request: HttpRequest, sender_id: int, payload: SenderLinkIn) -> dict[str, Any]:
    """Link a sender to a member: their past messages become the member's (with the replies and
    mentions they made) and so do future ones. Linked to someone else already: 409."""
    sender = _sender(sender_id)
    moved = sender_link(sender=sender, member=member_by_id(payload.member_id))
    sender.refresh_from_db()
    sender.message_count = moved  # type: ignore[attr-defined]
    return _sender_out(sender)


@router.put("/chat-senders/{sender_id}/role", response={200: SenderOut, **ERRORS})
def chat_sender_role(request: HttpRequest, sender_id: int, payload: SenderRoleIn) -> dict[str, Any]:
    """Mark a sender as the owner's or an assistant's account (their promotion is not counted
    as ads from now on), or unmark it."""
    sender = _sender(sender_id)
    ChatSender.objects.filter(pk=sender.pk).update(is_operator=payload.is_operator)
    sender.refresh_from_db()
    return _sender_out(sender)
