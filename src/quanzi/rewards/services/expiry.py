"""Crystals past their expiry leave the wallet: what is left of each grant, once."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from quanzi.core import clock
from quanzi.rewards.models import CrystalGrant
from quanzi.rewards.services.accounts import expired_account
from quanzi.rewards.services.wallet import books_lock, expire_grant


def crystals_expire(*, now: datetime | None = None, batch: int = 200) -> int:
    """Expire every grant due by ``now``, each in a transaction of its own, ``batch`` at a
    time. Safe to run twice or after a crash: an expired grant has nothing left to expire.
    Returns the number of grants expired."""
    moment = now or clock.now()
    expired = 0
    after = 0  # grants are visited in pk order once each, however many a batch finds
    while True:
        due = list(
            CrystalGrant.objects.filter(expires_at__lte=moment, remaining__gt=0, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "community_id", "member_id")[:batch]
        )
        if not due:
            return expired
        for pk, community_id, member_id in due:
            after = pk
            with transaction.atomic():
                books = books_lock(community_id, member_id, expired=expired_account(community_id))
                if expire_grant(pk, books, moment):
                    expired += 1
