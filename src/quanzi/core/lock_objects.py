"""Row locks, always taken in primary-key order, so concurrent postings cannot deadlock."""

from __future__ import annotations

from collections.abc import Iterable

from quanzi.core.models import LedgerAccount


def ledger_accounts_for_update(ids: Iterable[int]) -> dict[int, LedgerAccount]:
    wanted = sorted(set(ids))
    rows = LedgerAccount.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    return {row.pk: row for row in rows}
