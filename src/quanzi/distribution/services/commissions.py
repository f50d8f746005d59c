"""Commission: accrued at payment, reversed or clawed back on refunds, matured by a job.

Only real sales pay (DESIGN.md, Rules that protect people): a paid order line, attributed to
an approved distributor, on the amount actually paid for it after discounts (shipping is not
a sale). The direct referrer earns at level 1; the one who referred them earns at level 2 only
when the operator enabled it, and nothing ever reaches a third. Membership fees pay only for a
plan the operator opened to commission; recruiting pays nothing.

Ledger (see ``accounts``): accrual ``pending +c / expense −c``; maturity ``pending −n / payable
+n``; a refund before the return window closes ``pending −d / expense +d``; after it
``payable −d / expense +d`` (payable may go negative and then blocks payouts). Every posting
has an idempotency key and the row is unique per (line, beneficiary, level), so a hook or a job
run twice, or killed half-way and run again, posts each thing exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from quanzi.catalog.models import ProductKind
from quanzi.core import clock
from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.distribution.models import (
    Commission,
    CommissionKind,
    CommissionRule,
    CommissionStatus,
    Distributor,
    DistributorStatus,
    MemberReferral,
)
from quanzi.distribution.services.accounts import expense_account, payable_account, pending_account
from quanzi.distribution.services.attribution import order_attribute
from quanzi.distribution.services.identity import same_person
from quanzi.distribution.services.settings import distribution_settings_get
from quanzi.orders.models import PAID_STATUSES, Order, OrderLine, OrderStatus

log = logging.getLogger(__name__)

S = CommissionStatus


@dataclass(frozen=True)
class Earning:
    distributor: Distributor
    rule: CommissionRule
    amount: int


def commission_amount(
    *, kind: str, percent_bp: int, fixed_minor: int, quantity: int, base_minor: int, paid_minor: int
) -> int:
    """What a rule pays on ``base_minor`` still paid of ``paid_minor`` (the line's original
    amount): a percentage of it, or the fixed amount per unit scaled down by what was refunded.
    Never more than the amount itself; rounded down to the fen."""
    if base_minor <= 0 or paid_minor <= 0:
        return 0
    if kind == CommissionKind.PERCENT:
        return base_minor * percent_bp // 10_000
    full = min(fixed_minor * quantity, paid_minor)
    return full * base_minor // paid_minor


def _rules(community_id: int, level: int) -> list[CommissionRule]:
    return list(
        CommissionRule.objects.filter(community_id=community_id, level=level, active=True).order_by(
            "pk"
        )
    )


def _best_rule(rules: list[CommissionRule], line: OrderLine, role: str) -> CommissionRule | None:
    """The most specific rule for the line and role: product, then category, then the whole
    community; a rule for this role before one for every role; the newest last wins ties."""
    category = line.product.category or ""

    def rank(rule: CommissionRule) -> tuple[int, int, int] | None:
        if rule.role and rule.role != role:
            return None
        if rule.product_id is not None:
            if rule.product_id != line.product_id:
                return None
            scope = 3
        elif rule.category:
            if rule.category != category:
                return None
            scope = 2
        else:
            scope = 1
        return (scope, 1 if rule.role else 0, rule.pk)

    ranked = [(r, rule) for rule in rules if (r := rank(rule)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def _earning(
    member_id: int, community_id: int, line: OrderLine, level: int, rules: list[CommissionRule]
) -> Earning | None:
    """The best-paying approved role of ``member_id`` for this line at ``level``."""
    best: Earning | None = None
    for distributor in Distributor.objects.filter(
        community_id=community_id, member_id=member_id, status=DistributorStatus.APPROVED
    ).order_by("pk"):
        rule = _best_rule(rules, line, distributor.role)
        if rule is None:
            continue
        amount = commission_amount(
            kind=rule.kind,
            percent_bp=rule.percent_bp,
            fixed_minor=rule.fixed_minor,
            quantity=line.quantity,
            base_minor=line.total_minor - line.refunded_minor,
            paid_minor=line.total_minor,
        )
        if amount > 0 and (best is None or amount > best.amount):
            best = Earning(distributor, rule, amount)
    return best


def _earns_commission(line: OrderLine) -> bool:
    if line.kind != ProductKind.MEMBERSHIP:
        return True
    plan = line.product.plan
    return plan is not None and plan.commission_enabled


def commissions_accrue(order: Order) -> list[Commission]:
    """Accrue the commission a paid order earns (inside the payment's transaction)."""
    if (
        order.paid_at is None
        or order.status not in PAID_STATUSES
        or order.status == OrderStatus.REFUNDED
    ):
        return []
    attribution = order_attribute(order)
    if attribution is None:
        return []
    terms = distribution_settings_get(order.community)
    upline_id: int | None = None
    if terms.second_level:
        upline_id = (
            MemberReferral.objects.filter(
                community_id=order.community_id, member_id=attribution.sharer_id
            )
            .values_list("referrer_id", flat=True)
            .first()
        )
        if upline_id is not None and (
            same_person(upline_id, order.member_id) or same_person(upline_id, attribution.sharer_id)
        ):
            upline_id = None
    levels = [(1, attribution.sharer_id)] + ([(2, upline_id)] if upline_id else [])
    made: list[Commission] = []
    lines = order.lines.select_related("product", "product__plan").order_by("pk")
    rules = {level: _rules(order.community_id, level) for level, _who in levels}
    for line in lines:
        if not _earns_commission(line):
            continue
        for level, member_id in levels:
            earning = _earning(member_id, order.community_id, line, level, rules[level])
            if earning is None:
                continue
            commission = _accrue_one(order, line, level, earning, terms.return_window_days)
            if commission is not None:
                made.append(commission)
    return made


def _accrue_one(
    order: Order, line: OrderLine, level: int, earning: Earning, window_days: int
) -> Commission | None:
    rule = earning.rule
    moment = order.paid_at or clock.now()
    try:
        with transaction.atomic():
            commission = Commission.objects.create(
                community_id=order.community_id,
                order=order,
                line=line,
                buyer_id=order.member_id,
                beneficiary_id=earning.distributor.member_id,
                distributor=earning.distributor,
                level=level,
                rule=rule,
                rule_kind=rule.kind,
                percent_bp=rule.percent_bp,
                fixed_minor=rule.fixed_minor,
                quantity=line.quantity,
                base_minor=line.total_minor,
                amount_minor=earning.amount,
                currency=order.currency,
                window_days=window_days,
                accrued_at=moment,
            )
    except IntegrityError:
        return None  # accrued already (a hook heard twice)
    ledger_post(
        legs=[
            Leg(
                pending_account(order.community_id, commission.beneficiary_id, order.currency),
                commission.amount_minor,
            ),
            Leg(expense_account(order.community_id, order.currency), -commission.amount_minor),
        ],
        kind="commission.accrue",
        memo=f"{order.number} L{level}",
        idempotency_key=f"commission:{commission.pk}:accrue",
        object_type="commission",
        object_id=commission.pk,
        occurred_at=moment,
    )
    activity_record(
        kind=ActivityKind.REFERRAL,
        occurred_at=moment,
        member_id=commission.beneficiary_id,
        target_member_id=order.member_id,
        community_id=order.community_id,
        amount=Money(commission.amount_minor, order.currency),
        object_type="commission",
        object_id=commission.pk,
        data={
            "action": "commission_accrued",
            "order": order.number,
            "line": line.pk,
            "level": level,
        },
    )
    return commission


def closes_at(commission: Commission, order: Order) -> datetime | None:
    """When the return window closes: ``window_days`` after the goods were received (at
    payment for virtual goods); unknown while physical goods are on their way."""
    if order.received_at is None:
        return None
    return order.received_at + timedelta(days=commission.window_days)


def _mature_locked(commission: Commission, order: Order, now: datetime) -> bool:
    """Mature a locked pending commission whose window has closed by ``now``."""
    closing = closes_at(commission, order)
    if commission.status != S.PENDING or closing is None or closing > now:
        return False
    net = commission.net_minor
    if net > 0:
        ledger_post(
            legs=[
                Leg(
                    pending_account(
                        commission.community_id, commission.beneficiary_id, commission.currency
                    ),
                    -net,
                ),
                Leg(
                    payable_account(
                        commission.community_id, commission.beneficiary_id, commission.currency
                    ),
                    net,
                ),
            ],
            kind="commission.mature",
            memo=order.number,
            idempotency_key=f"commission:{commission.pk}:mature",
            object_type="commission",
            object_id=commission.pk,
            occurred_at=now,
        )
    commission.status = S.MATURED if net > 0 else S.REVERSED
    commission.matured_at = now
    commission.save(update_fields=["status", "matured_at"])
    return True


def commission_mature(commission: Commission, *, now: datetime | None = None) -> bool:
    """Mature one commission if its return window has closed. True when it did."""
    moment = now or clock.now()
    with transaction.atomic():
        locked = Commission.objects.select_for_update().get(pk=commission.pk)
        order = Order.objects.get(pk=locked.order_id)
        return _mature_locked(locked, order, moment)


def commissions_mature_due(*, now: datetime | None = None, chunk: int = 500) -> int:
    """The maturation job: every pending commission whose return window has closed, each in
    its own transaction (a worker killed half-way leaves the rest for the next run). Rows are
    walked in primary-key order, so one that keeps failing (logged) never holds up the rest."""
    moment = now or clock.now()
    done = 0
    windows = set(
        Commission.objects.filter(status=S.PENDING).values_list("window_days", flat=True).distinct()
    )
    due = Q(pk__in=[])
    for days in windows:
        due |= Q(window_days=days, order__received_at__lte=moment - timedelta(days=days))
    last = 0
    while True:
        ids = list(
            Commission.objects.filter(due, status=S.PENDING, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return done
        for pk in ids:
            try:
                if commission_mature(Commission(pk=pk), now=moment):
                    done += 1
            except Exception:  # one bad row must not stop the batch
                log.exception("commission %s could not mature", pk)
        last = ids[-1]


def commissions_on_refund(order: Order, *, refund_no: str, at: datetime) -> int:
    """Bring the order's commissions down to what its lines are still paid for (inside the
    refund's transaction). Before the window closes the pending commission is reversed;
    after it, the matured commission is clawed back from the payable balance."""
    changed = 0
    commissions = list(Commission.objects.select_for_update().filter(order=order).order_by("pk"))
    if not commissions:
        return 0
    lines = {line.pk: line for line in OrderLine.objects.filter(order=order)}
    for commission in commissions:
        line = lines[commission.line_id]
        target = min(
            commission.amount_minor,
            commission_amount(
                kind=commission.rule_kind,
                percent_bp=commission.percent_bp,
                fixed_minor=commission.fixed_minor,
                quantity=commission.quantity,
                base_minor=line.total_minor - line.refunded_minor,
                paid_minor=commission.base_minor,
            ),
        )
        delta = commission.net_minor - target
        if delta <= 0:
            continue
        _mature_locked(commission, order, at)  # the window closed before this refund
        community_id, member_id, currency = (
            commission.community_id,
            commission.beneficiary_id,
            commission.currency,
        )
        if commission.status == S.PENDING:
            source = pending_account(community_id, member_id, currency)
            commission.reversed_minor += delta
            action, field = "reverse", "reversed_minor"
        else:
            source = payable_account(community_id, member_id, currency)
            commission.clawed_minor += delta
            action, field = "claw", "clawed_minor"
        ledger_post(
            legs=[Leg(source, -delta), Leg(expense_account(community_id, currency), delta)],
            kind=f"commission.{action}",
            memo=f"{order.number} {refund_no}",
            idempotency_key=f"commission:{commission.pk}:{action}:{refund_no}",
            object_type="commission",
            object_id=commission.pk,
            occurred_at=at,
        )
        fields = [field]
        if commission.status == S.PENDING and commission.net_minor == 0:
            commission.status = S.REVERSED
            fields.append("status")
        commission.save(update_fields=fields)
        activity_record(
            kind=ActivityKind.REFERRAL,
            occurred_at=at,
            member_id=member_id,
            target_member_id=order.member_id,
            community_id=community_id,
            amount=Money(-delta, currency),
            object_type="commission",
            object_id=commission.pk,
            data={"action": f"commission_{action}", "order": order.number, "refund": refund_no},
        )
        changed += 1
    return changed
