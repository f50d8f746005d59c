"""The ledger postings a payment and a refund leave: money at the provider against sales."""

from __future__ import annotations

from quanzi.core.models import AccountKind, LedgerAccount, LedgerTransaction
from quanzi.core.services.ledger import Leg, ledger_account_get_or_create, ledger_post
from quanzi.payments.models import Payment, Refund


def _clearing(payment: Payment) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=f"payments:{payment.provider}:clearing:{payment.currency}",
        kind=AccountKind.ASSET,
        currency=payment.currency,
        name=f"{payment.provider} clearing",
    )


def _sales(payment: Payment) -> LedgerAccount:
    return ledger_account_get_or_create(
        code=f"community:{payment.community_id}:sales:{payment.currency}",
        kind=AccountKind.INCOME,
        currency=payment.currency,
        name=f"community {payment.community_id} sales",
    )


def post_payment(payment: Payment, *, actor_id: int | None) -> LedgerTransaction:
    return ledger_post(
        legs=[
            Leg(_clearing(payment), payment.amount_minor),
            Leg(_sales(payment), -payment.amount_minor),
        ],
        kind="payment",
        memo=payment.reference,
        idempotency_key=f"payment:{payment.pk}",
        actor_id=actor_id,
        object_type="payment",
        object_id=payment.pk,
        occurred_at=payment.paid_at,
    )


def post_refund(refund: Refund, *, actor_id: int | None) -> LedgerTransaction:
    payment = refund.payment
    return ledger_post(
        legs=[
            Leg(_sales(payment), refund.amount_minor),
            Leg(_clearing(payment), -refund.amount_minor),
        ],
        kind="refund",
        memo=refund.reference,
        idempotency_key=f"refund:{refund.pk}",
        actor_id=actor_id,
        object_type="refund",
        object_id=refund.pk,
        occurred_at=refund.succeeded_at,
    )
