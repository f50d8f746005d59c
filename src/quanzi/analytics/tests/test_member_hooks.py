"""A merge moves a person's chat identities, messages and imported orders; a deletion erases
what they said but keeps the counts; the data export lists both."""

from __future__ import annotations

from datetime import timedelta

import pytest

from quanzi.analytics.models import ChatMessage, ChatSender, HistoricOrder, MessageKind
from quanzi.communities.tests.factories import community, group
from quanzi.core import clock
from quanzi.members.services import member_anonymise, member_merge
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db


def _said(circle, chat, sender, text: str, n: int) -> ChatMessage:
    return ChatMessage.objects.create(
        community=circle,
        group=chat,
        sender=sender,
        member_id=sender.member_id,
        fingerprint=f"m{n}",
        sent_at=clock.now() - timedelta(hours=n),
        kind=MessageKind.TEXT,
        text=text,
        source="api",
    )


def _history():
    circle = community()
    chat = group(circle)
    old, kept = member(), member()
    sender = ChatSender.objects.create(
        community=circle,
        external_id="wxid:old",
        display_name="老王",
        member=old,
        first_seen_at=clock.now(),
        last_seen_at=clock.now(),
    )
    _said(circle, chat, sender, "今天的螃蟹真肥", 1)
    _said(circle, chat, sender, "明天几点团?", 2)
    HistoricOrder.objects.create(
        community=circle,
        order_ref="YZ-1",
        member=old,
        member_ref="13800138000",
        paid_at=clock.now() - timedelta(days=40),
        amount_minor=1250,
        imported_at=clock.now(),
    )
    return circle, old, kept, sender


def test_merge_moves_chat_identities_messages_and_imported_orders() -> None:
    _, old, kept, sender = _history()

    member_merge(source=old, target=kept)

    sender.refresh_from_db()
    assert sender.member_id == kept.pk
    assert ChatMessage.objects.filter(member_id=kept.pk).count() == 2
    assert not ChatMessage.objects.filter(member_id=old.pk).exists()
    assert HistoricOrder.objects.get(order_ref="YZ-1").member_id == kept.pk


def test_deleting_a_member_erases_what_they_said_but_keeps_the_count() -> None:
    _, old, _, sender = _history()

    member_anonymise(member=old)

    texts = list(ChatMessage.objects.filter(member_id=old.pk).values_list("text", flat=True))
    assert texts == ["", ""]
    sender.refresh_from_db()
    assert sender.display_name == ""
    assert HistoricOrder.objects.get(order_ref="YZ-1").member_ref == ""


def test_data_export_lists_chat_and_imported_orders() -> None:
    from quanzi.members import hooks

    _, old, _, _ = _history()

    section = hooks.export_sections["analytics"](old)

    assert section["chat_messages_total"] == 2
    assert {m["text"] for m in section["chat_messages"]} == {"今天的螃蟹真肥", "明天几点团?"}
    assert section["chat_identities"][0]["identity"] == "wxid:old"
    assert [o["order_ref"] for o in section["imported_orders"]] == ["YZ-1"]
