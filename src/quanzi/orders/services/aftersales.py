"""After-sales: refund requests, "refund only" disputes with evidence, and their refunds.

A case opens with a stable ``refund_no`` (``<order number>R<n>``); approving it (once, under the
case's row lock) pays the refund out through the provider under that number. When the provider
confirms, ``after_sale_apply_refund`` (a payments hook) marks the case refunded, adds to the
order's refunded amount under a constraint that it never passes the total, restocks by the
case's policy and records the REFUND activity that commission and crystals claw back from.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from quanzi.catalog.models import Drop, ProductKind, Sku
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.orders.models import (
    OPEN_AFTER_SALE,
    PAID_STATUSES,
    AfterSale,
    AfterSaleKind,
    AfterSaleStatus,
    Evidence,
    EvidenceKind,
    Order,
    OrderLine,
    OrderStatus,
)
from quanzi.orders.services.errors import OrderError, WrongState
from quanzi.orders.services.paying import succeeded_payment
from quanzi.payments.models import Payment, PaymentStatus, Refund
from quanzi.payments.services.refunds import refund_start

log = logging.getLogger(__name__)

MAX_EVIDENCE = 9
MAX_FILE_BYTES = 10 * 1024 * 1024
# What evidence may be, told by its first bytes (the client's content type is not trusted).
SIGNATURES = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"%PDF-", "pdf"),
)


def _sniff(file: UploadedFile) -> str:
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for magic, extension in SIGNATURES:
        if head.startswith(magic):
            return extension
    raise OrderError(_("Attach a photo (JPEG, PNG, WebP, GIF) or a PDF."), field="file")


def refundable_minor(order: Order) -> int:
    """What can still be asked back: the total, less refunds and cases still open."""
    open_cases = (
        order.after_sales.filter(status__in=OPEN_AFTER_SALE, extra_payment=False).aggregate(
            s=Sum("amount_minor")
        )["s"]
        or 0
    )
    return max(order.total_minor - order.refunded_minor - open_cases, 0)


def _next_refund_no(order: Order) -> str:
    """``<order number>R<n>``, one past the highest the order has used (a case whose refund
    failed takes a new number, so counting the cases is not enough)."""
    used = [
        int(no.rsplit("R", 1)[1])
        for no in order.after_sales.values_list("refund_no", flat=True)
        if no.rsplit("R", 1)[-1].isdigit()
    ]
    return f"{order.number}R{max(used, default=0) + 1}"


def after_sale_open(
    *,
    order: Order,
    kind: str,
    amount_minor: int,
    reason: str,
    line_id: int | None = None,
    quantity: int | None = None,
    opened_by: str = "member",
    actor_id: int | None = None,
    now: datetime | None = None,
) -> AfterSale:
    """Ask for money back: ``refund_only`` (仅退款) or ``return_refund``, full or partial."""
    moment = now or clock.now()
    if kind not in AfterSaleKind.values:
        raise OrderError(_("Ask for a refund only, or a return and refund."), field="kind")
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise OrderError(_("Say why (1-200 characters)."), field="reason")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise OrderError(_("Ask for a positive amount, in fen."), field="amount_minor")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status not in PAID_STATUSES or order.status == OrderStatus.REFUNDED:
            raise WrongState(_("Only a paid order can be refunded."), field="order")
        line = None
        if line_id is not None:
            line = OrderLine.objects.filter(pk=line_id, order=order).first()
            if line is None:
                raise NotFound(_("No such line in this order."), field="line_id")
            if quantity is not None and not 1 <= quantity <= line.quantity:
                raise OrderError(
                    _("Return 1 to %(n)s units.") % {"n": line.quantity}, field="quantity"
                )
            # Cases still open on the line hold their amounts, as they do on the order.
            asked = (
                AfterSale.objects.filter(
                    line=line, status__in=OPEN_AFTER_SALE, extra_payment=False
                ).aggregate(s=Sum("amount_minor"))["s"]
                or 0
            )
            line_left = max(line.total_minor - line.refunded_minor - asked, 0)
            if amount_minor > line_left:
                raise OrderError(
                    _("At most %(left)s of this line is left to refund.")
                    % {"left": Money(line_left, order.currency)},
                    field="amount_minor",
                )
        if kind == AfterSaleKind.RETURN_REFUND and order.status == OrderStatus.PAID:
            raise OrderError(_("Nothing was shipped yet: ask for a refund only."), field="kind")
        if kind == AfterSaleKind.RETURN_REFUND and not order.needs_shipping:
            raise OrderError(
                _("Virtual goods are not returned: ask for a refund only."), field="kind"
            )
        left = refundable_minor(order)
        if amount_minor > left:
            raise OrderError(
                _("At most %(left)s of this order is left to refund.")
                % {"left": Money(left, order.currency)},
                field="amount_minor",
            )
        # Goods never shipped go back on the shelf; goods returned do once they arrive.
        restock = order.status == OrderStatus.PAID or kind == AfterSaleKind.RETURN_REFUND
        case = AfterSale.objects.create(
            order=order,
            refund_no=_next_refund_no(order),
            kind=kind,
            line=line,
            quantity=quantity if line is not None else None,
            amount_minor=amount_minor,
            reason=reason,
            restock=restock and order.needs_shipping,
            opened_by=opened_by,
            created_at=moment,
        )
        activity_record(
            kind=ActivityKind.OPERATOR if opened_by == "operator" else ActivityKind.ORDER,
            occurred_at=moment,
            member_id=order.member_id,
            community_id=order.community_id,
            actor_id=actor_id,
            object_type="after_sale",
            object_id=case.refund_no,
            amount=Money(amount_minor, order.currency),
            data={"action": "refund_requested", "kind": kind, "order": order.number},
        )
        return case


def after_sale_open_system(
    *, order: Order, payment: Payment, amount_minor: int, reason: str
) -> AfterSale:
    """A refund the hub owes without anyone asking (a lapsed order paid late, a double payment,
    a group-buy that missed its minimum): opened approved, paid out after commit."""
    existing = AfterSale.objects.filter(
        order=order, payment_id=payment.pk, opened_by="system"
    ).first()
    if existing is not None:
        return existing
    # Extra when another payment, not itself an extra one, paid the order.
    extras = AfterSale.objects.filter(
        order=order, extra_payment=True, payment_id__isnull=False
    ).values("payment_id")
    extra = (
        Payment.objects.filter(reference=order.number, status=PaymentStatus.SUCCEEDED)
        .exclude(pk=payment.pk)
        .exclude(pk__in=extras)
        .exists()
    )
    case = AfterSale.objects.create(
        order=order,
        refund_no=_next_refund_no(order),
        kind=AfterSaleKind.REFUND_ONLY,
        amount_minor=amount_minor,
        reason=reason[:200],
        status=AfterSaleStatus.REFUNDING,
        restock=False,
        opened_by="system",
        payment_id=payment.pk,
        extra_payment=extra,
        decided_at=clock.now(),
        created_at=clock.now(),
    )
    transaction.on_commit(lambda: _refund_after_commit(case))
    return case


def after_sale_add_evidence(
    *,
    case: AfterSale,
    kind: str,
    note: str = "",
    file: UploadedFile | None = None,
    submitted_by: str = "member",
) -> Evidence:
    """Attach proof to an open case: logistics proof, a photo, or a note."""
    if kind not in EvidenceKind.values:
        raise OrderError(_("Evidence is logistics proof, a photo or a note."), field="kind")
    note = (note or "").strip()
    if len(note) > 500:
        raise OrderError(_("A note is at most 500 characters."), field="note")
    if file is None and not note:
        raise OrderError(_("Attach a file or write a note."), field="file")
    extension = ""
    if file is not None:
        if file.size is None or file.size > MAX_FILE_BYTES:
            raise OrderError(_("A file is at most 10 MB."), field="file")
        extension = _sniff(file)
    with transaction.atomic():
        case = AfterSale.objects.select_for_update().get(pk=case.pk)
        if case.status not in OPEN_AFTER_SALE:
            raise WrongState(_("This case is closed."), field="case")
        if case.evidence.count() >= MAX_EVIDENCE:
            raise OrderError(
                _("At most %(n)s pieces of evidence.") % {"n": MAX_EVIDENCE}, field="file"
            )
        evidence = Evidence(
            after_sale=case, kind=kind, note=note, submitted_by=submitted_by, created_at=clock.now()
        )
        if file is not None:
            # Our name and the extension of what the bytes are: never the uploader's.
            evidence.file.save(f"{uuid.uuid4().hex}.{extension}", file, save=False)
        evidence.save()
        return evidence


def _decide(case: AfterSale, expected: tuple[str, ...]) -> AfterSale:
    case = AfterSale.objects.select_for_update().select_related("order").get(pk=case.pk)
    if case.status not in expected:
        raise WrongState(
            _("This case is already %(status)s.") % {"status": case.get_status_display()},
            field="status",
        )
    return case


def after_sale_approve(
    *,
    case: AfterSale,
    actor_id: int | None = None,
    note: str = "",
    restock: bool | None = None,
) -> AfterSale:
    """Approve: a return waits for the goods to come back; anything else is refunded now.

    Approving twice (or five times at once) refunds once: the case moves on under its row
    lock, and the rest are refused with 409 ``wrong_state``.
    """
    with transaction.atomic():
        case = _decide(case, (AfterSaleStatus.REQUESTED,))
        case.decided_by_id = actor_id
        case.decided_at = clock.now()
        case.decision_note = (note or "").strip()[:500]
        if restock is not None:
            case.restock = restock and case.order.needs_shipping
        if case.kind == AfterSaleKind.RETURN_REFUND:
            case.status = AfterSaleStatus.AWAITING_RETURN
        else:
            case.status = AfterSaleStatus.REFUNDING
        case.save()
        _record_decision(case, "approved", actor_id)
        if case.status == AfterSaleStatus.REFUNDING:
            transaction.on_commit(lambda: _refund_after_commit(case))
    return AfterSale.objects.get(pk=case.pk)


def after_sale_mark_returned(
    *, case: AfterSale, actor_id: int | None = None, restock: bool | None = None
) -> AfterSale:
    """The returned goods arrived: refund now."""
    with transaction.atomic():
        case = _decide(case, (AfterSaleStatus.AWAITING_RETURN,))
        if restock is not None:
            case.restock = restock
        case.status = AfterSaleStatus.REFUNDING
        case.save(update_fields=["status", "restock"])
        _record_decision(case, "returned", actor_id)
        transaction.on_commit(lambda: _refund_after_commit(case))
    return AfterSale.objects.get(pk=case.pk)


def after_sale_reject(*, case: AfterSale, note: str, actor_id: int | None = None) -> AfterSale:
    """Refuse, saying why (the member sees the reason)."""
    note = (note or "").strip()
    if not note or len(note) > 500:
        raise OrderError(_("Say why the request is refused (1-500 characters)."), field="note")
    with transaction.atomic():
        case = _decide(case, (AfterSaleStatus.REQUESTED, AfterSaleStatus.AWAITING_RETURN))
        case.status = AfterSaleStatus.REJECTED
        case.decision_note = note
        case.decided_by_id = actor_id
        case.decided_at = clock.now()
        case.save()
        _record_decision(case, "rejected", actor_id)
        return case


def after_sale_withdraw(*, case: AfterSale) -> AfterSale:
    with transaction.atomic():
        case = _decide(case, (AfterSaleStatus.REQUESTED, AfterSaleStatus.AWAITING_RETURN))
        case.status = AfterSaleStatus.WITHDRAWN
        case.save(update_fields=["status"])
        _record_decision(case, "withdrawn", None)
        return case


def after_sale_set_return_tracking(*, case: AfterSale, carrier: str, tracking_no: str) -> AfterSale:
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    if not carrier or len(carrier) > 50:
        raise OrderError(_("Name the carrier."), field="carrier")
    if not tracking_no or len(tracking_no) > 50:
        raise OrderError(_("Give the tracking number."), field="tracking_no")
    with transaction.atomic():
        case = _decide(case, (AfterSaleStatus.AWAITING_RETURN,))
        case.return_carrier, case.return_tracking_no = carrier, tracking_no
        case.save(update_fields=["return_carrier", "return_tracking_no"])
        return case


def _record_decision(case: AfterSale, action: str, actor_id: int | None) -> None:
    activity_record(
        kind=ActivityKind.OPERATOR if actor_id else ActivityKind.ORDER,
        member_id=case.order.member_id,
        community_id=case.order.community_id,
        actor_id=actor_id,
        object_type="after_sale",
        object_id=case.refund_no,
        data={"action": action, "order": case.order.number},
    )


def after_sale_refund_execute(*, case: AfterSale) -> Refund | None:
    """Pay the approved refund out under the case's number (safe to call again: the job does
    for cases whose refund is not yet confirmed)."""
    case = AfterSale.objects.select_related("order").get(pk=case.pk)
    if case.status != AfterSaleStatus.REFUNDING:
        return None
    order = case.order
    payment = (
        Payment.objects.filter(pk=case.payment_id).first()
        if case.payment_id
        else succeeded_payment(order)
    )
    if payment is None:
        raise WrongState(_("This order has no payment to refund."), field="order")
    return refund_start(
        payment=payment,
        amount_minor=case.amount_minor,
        out_refund_no=case.refund_no,
        reference=case.refund_no,
        reason=case.reason[:80],
        actor_id=case.decided_by_id,
    )


def _refund_after_commit(case: AfterSale) -> None:
    """Pay out right after the decision commits. The decision stands whatever happens here: a
    provider that is down leaves the refund to the ``orders.refunds_pending`` job."""
    try:
        after_sale_refund_execute(case=case)
    except ApplicationError as exc:
        log.warning("refund %s not sent yet, the job retries: %s", case.refund_no, exc)


def after_sales_refund_pending(*, limit: int = 200) -> int:
    """Start the refunds of approved cases that have none yet (a crash between approval and
    the provider call); returns how many were started."""
    started = 0
    pending = AfterSale.objects.filter(status=AfterSaleStatus.REFUNDING).order_by("pk")[:limit]
    for case in pending:
        if Refund.objects.filter(out_refund_no=case.refund_no).exists():
            continue  # started; the payments job follows it up
        try:
            after_sale_refund_execute(case=case)
        except ApplicationError as exc:
            # One case the provider refuses must not hold up the others.
            log.warning("refund %s refused: %s", case.refund_no, exc)
            continue
        started += 1
    return started


def after_sale_refund_failed(refund: Refund) -> None:
    """The provider refused the refund for good (WeChat Pay: ABNORMAL, CLOSED): its number is
    spent. The case goes back to the operator's queue under a new number, saying why, so
    approving it again is a new attempt and never a second refund under the old one."""
    case = (
        AfterSale.objects.select_for_update(of=("self",))
        .select_related("order")
        .filter(refund_no=refund.reference, status=AfterSaleStatus.REFUNDING)
        .first()
    )
    if case is None:
        return
    case.refund_no = _next_refund_no(case.order)
    case.status = AfterSaleStatus.REQUESTED
    case.decision_note = (
        _("The refund %(no)s failed at the provider (%(why)s); approve again to retry.")
        % {"no": refund.out_refund_no, "why": refund.failure or "?"}
    )[:500]
    case.save(update_fields=["refund_no", "status", "decision_note"])
    _record_decision(case, "refund_failed", None)


def after_sale_apply_refund(refund: Refund) -> None:
    """A refund succeeded (payments hook, inside its transaction): close the case, count the
    money against the order, restock, and record the REFUND activity."""
    case = (
        # of=self: PostgreSQL cannot lock the nullable side of the outer join to the line.
        AfterSale.objects.select_for_update(of=("self",))
        .select_related("order", "line")
        .filter(refund_no=refund.reference)
        .first()
    )
    if case is None or case.status == AfterSaleStatus.REFUNDED:
        return
    moment = refund.succeeded_at or clock.now()
    case.status = AfterSaleStatus.REFUNDED
    case.refunded_at = moment
    case.save(update_fields=["status", "refunded_at"])
    order = Order.objects.select_for_update().get(pk=case.order_id)
    if not case.extra_payment:
        Order.objects.filter(pk=order.pk).update(
            refunded_minor=F("refunded_minor") + refund.amount_minor
        )
        order.refresh_from_db()
        _spread_over_lines(order, case, refund.amount_minor)
        if order.refunded_minor >= order.total_minor:
            order.status = OrderStatus.REFUNDED
            order.save(update_fields=["status"])
        if case.restock:
            _restock(order, case)
    activity_record(
        kind=ActivityKind.REFUND,
        occurred_at=moment,
        member_id=order.member_id,
        community_id=order.community_id,
        channel=order.channel,
        amount=Money(refund.amount_minor, order.currency),
        object_type="order",
        object_id=order.number,
        data={
            "refund_no": refund.out_refund_no,
            "line": case.line_id,
            "product": case.line.product_id if case.line else None,
            "kind": case.kind,
            "extra_payment": case.extra_payment,
        },
    )


def _spread_over_lines(order: Order, case: AfterSale, amount: int) -> None:
    """Count the refund against its line, or against the order's lines in turn."""
    lines = [case.line] if case.line is not None else list(order.lines.all())
    left = amount
    for line in lines:
        if left <= 0 or line is None:
            break
        room = line.total_minor - line.refunded_minor
        take = min(room, left)
        if take > 0:
            OrderLine.objects.filter(pk=line.pk).update(refunded_minor=F("refunded_minor") + take)
            left -= take


def _restock(order: Order, case: AfterSale) -> None:
    """Physical units back on sale: to the SKU (a drop's units too, the drop being over or
    its units having left it).

    The units the case names come back; without a number, a return brings the whole line
    back, and a refund only of unshipped goods restocks a line once it is refunded in full
    (a partial refund of goods still to ship is a price adjustment: they ship).
    """
    lines = [case.line] if case.line is not None else list(order.lines.all())
    for stale in lines:
        if stale is None or stale.kind != ProductKind.PHYSICAL or stale.sku_id is None:
            continue
        line = OrderLine.objects.get(pk=stale.pk)  # with this refund counted on it
        if case.line is not None and case.quantity:
            units = case.quantity
        elif case.kind == AfterSaleKind.RETURN_REFUND or line.refunded_minor >= line.total_minor:
            units = line.quantity
        else:
            continue
        units = min(units, line.quantity - line.restocked)
        if units <= 0:
            continue
        # Drop before SKU: the lock order of checkout and of the drop's settlement.
        if order.drop_id is not None:
            Drop.objects.filter(pk=order.drop_id, sold__gte=units).update(sold=F("sold") - units)
        Sku.objects.filter(pk=stale.sku_id).update(stock=F("stock") + units)
        OrderLine.objects.filter(pk=line.pk).update(restocked=F("restocked") + units)
        activity_record(
            kind=ActivityKind.OPERATOR,
            community_id=order.community_id,
            object_type="sku",
            object_id=stale.sku_id,
            data={"action": "restocked", "units": units, "order": order.number},
        )
