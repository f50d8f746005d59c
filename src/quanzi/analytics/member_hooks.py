"""What analytics tells the members domain: a merge moves a person's chat identities and
imported orders; a deletion erases what they said; their data export includes both."""

from __future__ import annotations

from typing import Any

from quanzi.analytics.models import ChatMessage, ChatSender, HistoricOrder
from quanzi.members import hooks
from quanzi.members.models import Member

# A data export lists this many of a member's most recent chat messages (and counts them all).
EXPORT_MESSAGES = 500


def on_merge(source: Member, target: Member) -> None:
    """Point ``source``'s chat identities, messages and imported orders at ``target``.

    The activity log keeps the ids it was written with (it is history); the rollups follow it.
    """
    ChatSender.objects.filter(member=source).update(member=target)
    ChatMessage.objects.filter(member_id=source.pk).update(member_id=target.pk)
    ChatMessage.objects.filter(reply_to_member_id=source.pk).update(reply_to_member_id=target.pk)
    HistoricOrder.objects.filter(member=source).update(member=target)


def on_anonymise(member: Member) -> None:
    """Erase what the member wrote and how the chat named them. The message rows stay (without
    text) so last month's message counts do not change."""
    ChatMessage.objects.filter(member_id=member.pk).update(text="")
    ChatSender.objects.filter(member=member).update(display_name="")
    HistoricOrder.objects.filter(member=member).update(member_ref="")


def export_section(member: Member) -> dict[str, Any]:
    messages = ChatMessage.objects.filter(member_id=member.pk).select_related("group")
    return {
        "chat_identities": [
            {"identity": s.external_id, "name": s.display_name, "community": s.community.name}
            for s in ChatSender.objects.filter(member=member).select_related("community")
        ],
        "chat_messages_total": messages.count(),
        "chat_messages": [
            {
                "group": m.group.name,
                "sent_at": m.sent_at.isoformat(),
                "kind": m.kind,
                "text": m.text,
            }
            for m in messages.order_by("-sent_at")[:EXPORT_MESSAGES]
        ],
        "imported_orders": [
            {
                "order_ref": o.order_ref,
                "paid_at": o.paid_at.isoformat(),
                "amount_minor": o.amount_minor,
                "currency": o.currency,
                "product": o.product,
            }
            for o in HistoricOrder.objects.filter(member=member)
        ],
    }


hooks.merge_handlers.append(on_merge)
hooks.anonymise_handlers.append(on_anonymise)
hooks.export_sections["analytics"] = export_section
