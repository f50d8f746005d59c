"""Cash rewards for contributors, paid out with commission.

A cash reward is commission expense owed to the member: it lands on their payable account and
leaves with the next payout batch, like matured commission.
"""

from __future__ import annotations

from django.db import transaction

from quanzi.communities.models import Community
from quanzi.core.lock_objects import ledger_accounts_for_update
from quanzi.core.models import ActivityKind, LedgerTransaction
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.distribution.services.accounts import expense_account, payable_account
from quanzi.members.models import Member
from quanzi.rewards.services.earning import member_check
from quanzi.rewards.services.rules import text, whole

MAX_CASH_REWARD_MINOR = 100_000_000  # ¥1,000,000


def cash_reward_grant(
    *,
    community: Community,
    member: Member,
    amount_minor: int,
    reason: str,
    actor_id: int | None = None,
    idempotency_key: str,
) -> LedgerTransaction:
    """Owe ``member`` ``amount_minor`` for their contribution: commission expense to their
    payable balance. A retry with the same ``idempotency_key`` returns the first posting."""
    whole(amount_minor, "amount_minor", 1, MAX_CASH_REWARD_MINOR)
    reason = text(reason, "reason", 200, required=True)
    idempotency_key = text(idempotency_key, "idempotency_key", 120, required=True)
    member_check(member)
    key = f"cash_reward:{community.pk}:{idempotency_key}"
    expense = expense_account(community.pk)
    payable = payable_account(community.pk, member.pk)
    with transaction.atomic():
        ledger_accounts_for_update([expense.pk, payable.pk])
        first = LedgerTransaction.objects.filter(idempotency_key=key).first()
        txn = ledger_post(
            legs=[Leg(expense, -amount_minor), Leg(payable, amount_minor)],
            kind="reward.cash",
            memo=f"cash reward: {reason}"[:255],
            idempotency_key=key,
            actor_id=actor_id,
            object_type="member",
            object_id=member.pk,
        )
        if first is None:
            activity_record(
                kind=ActivityKind.OPERATOR,
                member_id=member.pk,
                community_id=community.pk,
                actor_id=actor_id,
                amount=Money(amount_minor, expense.currency),
                object_type="ledger_transaction",
                object_id=txn.pk,
                data={"action": "cash_reward", "reason": reason},
            )
        return txn
