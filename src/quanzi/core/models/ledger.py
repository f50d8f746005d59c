"""The double-entry ledger behind payments, commissions and crystals.

Signed amounts: an entry's amount is added to its account's balance, and every transaction's
entries sum to zero (checked by the posting service and, on PostgreSQL, by a deferred constraint
trigger). Balances are derived from the entries; ``LedgerAccount.balance`` is a cache written
only under the account's row lock, in the transaction that adds the entries.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanzi.core.models.activity import AppendOnlyError


class AccountKind(models.TextChoices):
    ASSET = "asset", _("Asset")
    LIABILITY = "liability", _("Liability")
    EQUITY = "equity", _("Equity")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


class LedgerAccount(models.Model):
    # A stable, human-readable key: "crystals:member:42", "commission:payable:7", "cash:wechatpay".
    code = models.CharField(max_length=160, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    currency = models.CharField(max_length=16)
    allow_negative = models.BooleanField(default=True)
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(allow_negative=True) | Q(balance__gte=0),
                name="ledger_account_non_negative",
                violation_error_message=_("This account may not go below zero."),
            )
        ]
        verbose_name = _("ledger account")

    def __str__(self) -> str:
        return self.code


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Ledger records are append-only; post a correcting transaction.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Ledger records are append-only; post a correcting transaction.")


class LedgerTransaction(models.Model):
    kind = models.CharField(max_length=64)
    memo = models.CharField(max_length=255, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"], name="ledger_txn_object")]
        verbose_name = _("ledger transaction")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Ledger records are append-only; post a correcting transaction.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        # Model.delete() goes through the deletion collector, not the queryset's delete().
        raise AppendOnlyError("Ledger records are append-only; post a correcting transaction.")


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=16)
    # The account's balance right after this entry: a statement needs no window function.
    balance_after = models.BigIntegerField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_not_zero"),
        ]
        indexes = [models.Index(fields=["account", "id"], name="ledger_entry_account")]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Ledger records are append-only; post a correcting transaction.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        # Model.delete() goes through the deletion collector, not the queryset's delete().
        raise AppendOnlyError("Ledger records are append-only; post a correcting transaction.")
