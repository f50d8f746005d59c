"""Taking crystals back (a refund of the order that earned them).

What the grant itself still holds goes first, then the member's other crystals oldest first;
what was spent already becomes debt, repaid from the member's next earnings. A wallet never
goes below zero. Each clawback is posted under a key naming the grant and the reason (the
refund), so a refund applied twice takes back once.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F

from quanzi.core import clock
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.members.models import Member
from quanzi.rewards.models import CrystalGrant
from quanzi.rewards.services.levels import level_recompute
from quanzi.rewards.services.rules import text, whole
from quanzi.rewards.services.wallet import books_lock, posted, take_fifo


def crystal_grant_claw(
    *,
    grant: CrystalGrant,
    crystals: int,
    reference: str,
    actor_id: int | None = None,
    occurred_at: datetime | None = None,
) -> int:
    """Take back up to ``crystals`` of ``grant`` (never more than it gave, net of earlier
    clawbacks), for ``reference`` (a refund number): grant first, wallet next, debt last.
    Returns the crystals clawed; 0 when this reference already clawed this grant."""
    whole(crystals, "crystals", 1, 2_000_000_000)
    reference = text(reference, "reference", 100, required=True)
    key = f"crystals:claw:{grant.pk}:{reference}"
    with transaction.atomic():
        books = books_lock(grant.community_id, grant.member_id)
        grant = CrystalGrant.objects.select_for_update().get(pk=grant.pk)
        if posted(key):
            return 0
        claw = min(crystals, grant.amount - grant.clawed)
        if claw <= 0:
            return 0
        moment = occurred_at or clock.now()
        from_grant = min(claw, grant.remaining)
        CrystalGrant.objects.filter(pk=grant.pk).update(
            remaining=F("remaining") - from_grant, clawed=F("clawed") + claw
        )
        from_wallet = take_fifo(
            grant.community_id, grant.member_id, claw - from_grant, skip=grant.pk
        )
        to_debt = claw - from_grant - from_wallet
        legs = [Leg(books.issued, claw)]
        if from_grant + from_wallet:
            legs.append(Leg(books.wallet, -(from_grant + from_wallet)))
        if to_debt:
            legs.append(Leg(books.debt, -to_debt))
        ledger_post(
            legs=legs,
            kind="crystals.claw",
            memo=f"clawed {grant.action} {grant.source} ({reference})"[:255],
            idempotency_key=key,
            actor_id=actor_id,
            object_type="crystal_grant",
            object_id=grant.pk,
            occurred_at=moment,
        )
        activity_record(
            kind=ActivityKind.CRYSTALS,
            occurred_at=moment,
            member_id=grant.member_id,
            community_id=grant.community_id,
            actor_id=actor_id,
            object_type="crystal_grant",
            object_id=grant.pk,
            data={
                "direction": "claw",
                "action": grant.action,
                "source": grant.source,
                "reference": reference,
                "crystals": claw,
                "from_wallet": from_grant + from_wallet,
                "to_debt": to_debt,
            },
        )
        member = Member.objects.get(pk=grant.member_id)
        level_recompute(grant.community, member)
        return claw
