"""Group chat as it happened in WeChat: who said what kind of thing, when, to whom.

Senders are kept by the identity the chat gave them (a wxid, a WeCom external id, or a nickname
in an export). One that resolves to a member points at it; one that does not stays an
"unknown" sender, counted in message volume and ad ratio but never in member metrics.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from quanzi.communities.models import Community, Group
from quanzi.members.models import Member


class MessageKind(models.TextChoices):
    TEXT = "text", _("Text")
    LINK = "link", _("Link")
    IMAGE = "image", _("Image")
    MINI_PROGRAM = "mini_program", _("Mini-program card")
    QR = "qr", _("QR code")
    RED_PACKET = "red_packet", _("Red packet")


class MessageSource(models.TextChoices):
    API = "api", _("Ingestion API")
    IMPORT = "import", _("Chat-history import")


class ChatSender(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="chat_senders")
    # The identity as the chat knows it: "wxid:…", "wecom:…", or "name:<nickname>" from an export.
    external_id = models.CharField(max_length=128)
    display_name = models.CharField(max_length=100, blank=True, default="")
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_senders"
    )
    # The owner's or an assistant's account: their promotion is not counted as ads.
    is_operator = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "external_id"], name="chat_sender_unique_identity"
            )
        ]
        verbose_name = _("chat sender")
        verbose_name_plural = _("chat senders")

    def __str__(self) -> str:
        return self.display_name or self.external_id

    @property
    def known(self) -> bool:
        return self.member_id is not None


class ChatMessage(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="chat_messages")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="chat_messages")
    sender = models.ForeignKey(ChatSender, on_delete=models.CASCADE, related_name="messages")
    # Copied from the sender when it resolved, so metrics join on plain integers.
    member_id = models.BigIntegerField(null=True, blank=True)
    # The chat's own message id, or a digest of (sender, time, kind, text) when it has none:
    # sending or importing the same message twice keeps one row.
    fingerprint = models.CharField(max_length=128)
    sent_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    text = models.CharField(max_length=500, blank=True, default="")
    reply_to_member_id = models.BigIntegerField(null=True, blank=True)
    mentioned_member_ids = models.JSONField(default=list, blank=True)
    is_promotion = models.BooleanField(default=False)
    promotion_reasons = models.JSONField(default=list, blank=True)
    from_operator = models.BooleanField(default=False)
    from_kol = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=MessageSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "fingerprint"], name="chat_message_unique_fingerprint"
            )
        ]
        indexes = [
            models.Index(fields=["group", "sent_at"], name="chat_message_group_time"),
            models.Index(fields=["community", "sent_at"], name="chat_message_community_time"),
        ]
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")

    def __str__(self) -> str:
        return f"{self.kind} in {self.group_id} at {self.sent_at:%Y-%m-%d %H:%M}"
