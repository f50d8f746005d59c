"""Orders from before Quanzi: imported once, so a community keeps its past.

A file (CSV or .xlsx) has the columns ``member_ref, order_ref, paid_at, amount`` and optionally
``channel, product``. Every row is checked first; with any bad row, each is reported with its
line and nothing is written. A good file is written in one transaction:

- ``member_ref`` finds or creates the member: a phone number or e-mail address is the member's
  identity (matched across the hub, as everywhere else); any other reference (a shop's buyer id,
  a nickname from a spreadsheet) is kept as this community's import reference, so the same
  reference is the same member on every later import;
- each order becomes a ``HistoricOrder`` and one PAY activity (``object_type`` historic_order),
  so every metric and the member-value model count it like an order paid here;
- an ``order_ref`` already imported with the same member, time and amount is skipped (importing
  the same file twice changes nothing); the same ``order_ref`` with other values is a conflict
  on its line.

Amounts are yuan with a dot: ``12.50`` (a comma, a minus sign, more than two decimals or more
than ¥10,000,000 are refused). Times may be ISO 8601 or ``2024-05-01 10:00[:00]`` /
``2024/5/1 10:00``; without a zone they are in the hub's time zone; a time in the future is
refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.analytics.chat_files import parse_time
from quanzi.analytics.models import HistoricOrder
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.identities import IdentityInvalid, lookup_hash, normalise
from quanzi.members.importing import ImportFileInvalid, sheet_table
from quanzi.members.models import Identity, IdentityKind
from quanzi.members.services import IdentityIn, member_identify

REQUIRED = ("member_ref", "order_ref", "paid_at", "amount")
OPTIONAL = ("channel", "product")
HEADERS = {
    "member_ref": ("member_ref", "member", "buyer", "customer", "会员", "买家", "客户", "手机号"),
    "order_ref": ("order_ref", "order", "order_no", "订单号", "订单编号"),
    "paid_at": ("paid_at", "paid", "time", "付款时间", "支付时间", "下单时间"),
    "amount": ("amount", "total", "金额", "实付金额", "付款金额"),
    "channel": ("channel", "渠道", "来源"),
    "product": ("product", "item", "商品", "商品名称"),
}
MAX_AMOUNT_MINOR = 10_000_000_00
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_REF = re.compile(r"^[\w.@:+-]{1,64}$")
SOURCE = "import"


@dataclass(frozen=True, slots=True)
class OrderRow:
    line: int
    member_ref: str
    order_ref: str
    paid_at: datetime
    amount_minor: int
    channel: str = ""
    product: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str


@dataclass
class HistoryReport:
    rows: int
    dry_run: bool
    errors: list[RowError] = field(default_factory=list)
    imported: int = 0
    already: int = 0
    members_created: int = 0
    members_matched: int = 0
    revenue_minor: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def order_file_read(data: bytes, filename: str) -> tuple[list[OrderRow], list[RowError]]:
    """The file's rows, each checked; a file that cannot be read at all is ImportFileInvalid."""
    table = iter(sheet_table(data, filename))
    columns: dict[str, int] = {}
    for _line, cells in table:
        if any(cells):
            lowered = [c.strip().lower() for c in cells]
            for key, names in HEADERS.items():
                for index, cell in enumerate(lowered):
                    if cell in names and key not in columns:
                        columns[key] = index
            break
    missing = [k for k in REQUIRED if k not in columns]
    if missing:
        raise ImportFileInvalid(
            _("%(file)s: missing column(s) %(columns)s (needed: %(needed)s).")
            % {"file": filename, "columns": ", ".join(missing), "needed": ", ".join(REQUIRED)}
        )
    rows: list[OrderRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    latest = clock.now() + timedelta(minutes=5)
    for line, cells in table:
        if not any(c.strip() for c in cells):
            continue
        values = {k: (cells[i].strip() if i < len(cells) else "") for k, i in columns.items()}
        before = len(errors)
        for key in REQUIRED:
            if not values[key]:
                errors.append(RowError(line, key, _("%(column)s is empty.") % {"column": key}))
        for key in ("member_ref", "order_ref"):
            if values[key] and not _REF.match(values[key]):
                errors.append(
                    RowError(
                        line,
                        key,
                        _("%(value)r: use letters, digits and . @ : + - _ (at most 64).")
                        % {"value": values[key][:80]},
                    )
                )
        amount = _amount(values["amount"], line, errors) if values["amount"] else None
        paid_at = _time(values["paid_at"], line, errors, latest) if values["paid_at"] else None
        ref = values["order_ref"]
        if ref and ref in seen:
            errors.append(
                RowError(
                    line,
                    "order_ref",
                    _("Order %(ref)s is also on line %(line)s.") % {"ref": ref, "line": seen[ref]},
                )
            )
        elif ref:
            seen[ref] = line
        if len(errors) == before and amount is not None and paid_at is not None:
            rows.append(
                OrderRow(
                    line=line,
                    member_ref=values["member_ref"],
                    order_ref=ref,
                    paid_at=paid_at,
                    amount_minor=amount,
                    channel=values.get("channel", "")[:64],
                    product=values.get("product", "")[:200],
                )
            )
    return rows, errors


def _amount(raw: str, line: int, errors: list[RowError]) -> int | None:
    text = raw.replace("¥", "").replace("￥", "").strip()
    if "," in text or "，" in text:
        errors.append(
            RowError(
                line,
                "amount",
                _("%(value)r: write amounts with a dot and no thousands separator, like 12.50.")
                % {"value": raw},
            )
        )
        return None
    if text.startswith("-"):
        errors.append(
            RowError(line, "amount", _("%(value)r: an amount cannot be negative.") % {"value": raw})
        )
        return None
    if not _AMOUNT.match(text):
        errors.append(
            RowError(
                line,
                "amount",
                _("%(value)r is not an amount in yuan like 12.50 (at most two decimals).")
                % {"value": raw},
            )
        )
        return None
    try:
        minor = int(Decimal(text) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        return None
    if minor > MAX_AMOUNT_MINOR:
        errors.append(
            RowError(line, "amount", _("%(value)r is more than ¥10,000,000.") % {"value": raw})
        )
        return None
    return minor


def _time(raw: str, line: int, errors: list[RowError], latest: datetime) -> datetime | None:
    moment, problem = parse_time(raw, _FORMATS)
    if moment is None:
        errors.append(RowError(line, "paid_at", problem))
        return None
    if moment > latest:
        errors.append(RowError(line, "paid_at", _("%(value)s is in the future.") % {"value": raw}))
        return None
    return moment


def _identity(community: Community, ref: str) -> IdentityIn:
    """A phone or e-mail is the person's identity; anything else this community's reference."""
    for kind in (IdentityKind.PHONE, IdentityKind.EMAIL):
        try:
            normalise(kind, ref)
        except IdentityInvalid:
            continue
        return IdentityIn(kind, ref)
    return IdentityIn(IdentityKind.PLATFORM_BUYER, ref, namespace=_namespace(community))


def _namespace(community: Community) -> str:
    return f"import_c{community.pk}"


def _known(community: Community, refs: set[str]) -> dict[str, int]:
    """member_ref → member id, for the refs some member already holds."""
    digests: dict[tuple[str, str, str], str] = {}
    for ref in refs:
        ident = _identity(community, ref)
        ns, value = normalise(ident.kind, ident.value, ident.namespace)
        digests[(ident.kind, ns, lookup_hash(ident.kind, ns, value))] = ref
    found: dict[str, int] = {}
    hashes = [d for _k, _n, d in digests]
    for start in range(0, len(hashes), 500):
        for kind, ns, digest, member_id in Identity.objects.filter(
            value_hash__in=hashes[start : start + 500]
        ).values_list("kind", "namespace", "value_hash", "member_id"):
            match = digests.get((kind, ns, digest))
            if match is not None:
                found[match] = member_id
    return found


def orders_import(
    *,
    community: Community,
    rows: list[OrderRow],
    errors: list[RowError] | None = None,
    dry_run: bool = False,
    source_file: str = "",
    track: Callable[[int], object] | None = None,
) -> HistoryReport:
    """Import checked rows: all of them, or (with any error, or in a dry run) none."""
    report = HistoryReport(rows=len(rows) + len(errors or []), dry_run=dry_run)
    report.errors = list(errors or [])
    if report.errors:
        return report
    with transaction.atomic():
        # One import into a community at a time: two at once would both see an order as new.
        Community.objects.select_for_update().get(pk=community.pk)
        _apply(community, rows, report, source_file, track)
        if report.errors or dry_run:
            transaction.set_rollback(True)
            if report.errors:
                report.imported = report.already = 0
                report.members_created = report.members_matched = 0
    report.errors.sort(key=lambda e: e.line)
    return report


def _apply(
    community: Community,
    rows: list[OrderRow],
    report: HistoryReport,
    source_file: str,
    track: Callable[[int], object] | None,
) -> None:
    existing = {
        o.order_ref: o
        for start in range(0, len(rows), 500)
        for o in HistoricOrder.objects.filter(
            community=community, order_ref__in=[r.order_ref for r in rows[start : start + 500]]
        )
    }
    members = _known(community, {r.member_ref for r in rows})
    report.members_matched = len(members)
    now = clock.now()
    orders: list[HistoricOrder] = []
    for index, row in enumerate(rows, start=1):
        old = existing.get(row.order_ref)
        member_id = members.get(row.member_ref)
        if old is not None:
            same = (
                old.paid_at == row.paid_at
                and old.amount_minor == row.amount_minor
                and old.member_ref == row.member_ref
            )
            if same:
                report.already += 1
            else:
                report.errors.append(
                    RowError(
                        row.line,
                        "order_ref",
                        _("Order %(ref)s was imported before with another member, time or amount.")
                        % {"ref": row.order_ref},
                    )
                )
            continue
        if member_id is None:
            person, _created = member_identify(
                display_name=row.member_ref[:100],
                identities=[_identity(community, row.member_ref)],
                source_channel=row.channel or SOURCE,
            )
            member_id = members[row.member_ref] = person.pk
            report.members_created += 1
        orders.append(
            HistoricOrder(
                community=community,
                order_ref=row.order_ref,
                member_id=member_id,
                member_ref=row.member_ref,
                paid_at=row.paid_at,
                amount_minor=row.amount_minor,
                currency=community.currency,
                channel=row.channel,
                product=row.product,
                source_file=source_file[:255],
                imported_at=now,
            )
        )
        report.revenue_minor += row.amount_minor
        if track is not None and index % 500 == 0:
            track(500)
    if report.errors:
        return
    HistoricOrder.objects.bulk_create(orders, batch_size=1000)
    Activity.objects.bulk_create(
        [
            Activity(
                kind=ActivityKind.PAY,
                occurred_at=o.paid_at,
                member_id=o.member_id,
                community_id=community.pk,
                channel=o.channel,
                amount_minor=o.amount_minor,
                currency=o.currency,
                source=SOURCE,
                object_type="historic_order",
                object_id=o.order_ref,
                data={"order": o.order_ref, "product": o.product},
            )
            for o in orders
        ],
        batch_size=1000,
    )
    report.imported = len(orders)
