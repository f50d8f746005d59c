"""Orders from before Quanzi: imported once so a community keeps its past."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from quanzi.communities.models import Community
from quanzi.members.models import Member


class HistoricOrder(models.Model):
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="historic_orders"
    )
    order_ref = models.CharField(max_length=100)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="historic_orders")
    member_ref = models.CharField(max_length=100)
    paid_at = models.DateTimeField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=8, default="CNY")
    channel = models.CharField(max_length=64, blank=True, default="")
    product = models.CharField(max_length=200, blank=True, default="")
    source_file = models.CharField(max_length=255, blank=True, default="")
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "order_ref"], name="historic_order_unique_ref"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gte=0), name="historic_order_amount_not_negative"
            ),
        ]
        verbose_name = _("historic order")
        verbose_name_plural = _("historic orders")

    def __str__(self) -> str:
        return self.order_ref
