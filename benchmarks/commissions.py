"""Commission accrual and maturation throughput, against the ledger posting ceiling.

Accrual (``commissions_accrue``: attribution, rule choice, one commission row and one ledger
posting per line) and the maturation job (``commissions_mature_due``: one row lock and one
posting per commission, each in its own transaction) are timed on N paid, shared orders; the
ceiling is plain ``ledger_post`` between two accounts, one posting per transaction, measured in
the same run on the same database. Orders and touches are bulk-inserted (set-up, not measured).

Prints a line per phase and a final JSON line:
{"orders": N, "accrue_per_s", "mature_per_s", "ledger_per_s", "accrue_ratio", "mature_ratio",
 "matured", "drift", "peak_rss_mb"}
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("[bench] set DATABASE_URL=postgres://... (a database of its own; it is reset)")
    os.environ.setdefault("QUANZI_HOME", tempfile.mkdtemp(prefix="quanzi-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanzi.settings")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ledger import ensure_database

    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)

    from quanzi.catalog.models import ProductKind
    from quanzi.catalog.services.products import product_create
    from quanzi.communities.services.setup import community_create
    from quanzi.core import clock, selectors
    from quanzi.core.models import AccountKind
    from quanzi.core.services.ledger import Leg, ledger_account_get_or_create, ledger_post
    from quanzi.distribution.models import Commission, ReferralLink, ReferralTouch
    from quanzi.distribution.services.commissions import commissions_accrue, commissions_mature_due
    from quanzi.distribution.services.distributors import distributor_apply, distributor_approve
    from quanzi.distribution.services.rules import commission_rule_create
    from quanzi.members.models import Member
    from quanzi.orders.models import Order, OrderLine, OrderStatus

    n = args.orders
    now = clock.now()
    home = community_create(slug="bench", name="Bench", kind="product")
    course = product_create(
        community=home, name="Course", kind=ProductKind.COURSE, price_minor=9_900
    )
    sharers = Member.objects.bulk_create([Member(display_name=f"S{i}") for i in range(20)])
    buyers = Member.objects.bulk_create([Member(display_name=f"B{i}") for i in range(n)])
    for sharer in sharers:
        distributor_approve(
            distributor=distributor_apply(community=home, member=sharer, role="sharer")
        )
    commission_rule_create(community=home, kind="percent", percent_bp=1_000)
    links = ReferralLink.objects.bulk_create(
        [
            ReferralLink(code=f"BENCH{i:03d}", community=home, sharer=s, created_at=now)
            for i, s in enumerate(sharers)
        ]
    )
    paid = now - timedelta(days=30)
    ReferralTouch.objects.bulk_create(
        [
            ReferralTouch(
                link=links[i % 20],
                community=home,
                sharer=sharers[i % 20],
                member=b,
                at=paid - timedelta(hours=1),
            )
            for i, b in enumerate(buyers)
        ]
    )
    orders = Order.objects.bulk_create(
        [
            Order(
                number=f"B{i:08d}",
                community=home,
                member=b,
                status=OrderStatus.COMPLETED,
                subtotal_minor=9_900,
                total_minor=9_900,
                created_at=paid - timedelta(minutes=5),
                expires_at=paid + timedelta(minutes=25),
                paid_at=paid,
                delivered_at=paid,
                received_at=paid,
            )
            for i, b in enumerate(buyers)
        ]
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=o,
                product=course,
                name="Course",
                kind=ProductKind.COURSE,
                quantity=1,
                unit_price_minor=9_900,
                total_minor=9_900,
            )
            for o in orders
        ]
    )
    print(f"[bench] set up {n} paid shared orders", flush=True)

    start = time.perf_counter()
    for order in Order.objects.filter(community=home).select_related("community").order_by("pk"):
        with transaction.atomic():  # as inside the payment's transaction
            commissions_accrue(order)
    accrue_s = time.perf_counter() - start
    print(f"[bench] accrue: {n / accrue_s:,.0f} orders/s ({accrue_s:.1f} s)", flush=True)

    start = time.perf_counter()
    matured = commissions_mature_due(now=now)
    mature_s = time.perf_counter() - start
    print(f"[bench] mature: {matured / mature_s:,.0f} commissions/s ({mature_s:.1f} s)", flush=True)

    a = ledger_account_get_or_create(code="bench:a", kind=AccountKind.ASSET, currency="CNY")
    b = ledger_account_get_or_create(code="bench:b", kind=AccountKind.ASSET, currency="CNY")
    start = time.perf_counter()
    for i in range(n):
        ledger_post(legs=[Leg(a, -1), Leg(b, 1)], kind="bench", idempotency_key=f"bench:{i}")
    ledger_s = time.perf_counter() - start
    print(f"[bench] ceiling, ledger_post: {n / ledger_s:,.0f} postings/s ({ledger_s:.1f} s)")

    drift = len(selectors.ledger_drift()) + len(selectors.ledger_unbalanced_transactions())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "orders": n,
        "commissions": Commission.objects.count(),
        "matured": matured,
        "accrue_per_s": round(n / accrue_s, 1),
        "mature_per_s": round(matured / mature_s, 1),
        "ledger_per_s": round(n / ledger_s, 1),
        "accrue_ratio": round(ledger_s / accrue_s, 3),
        "mature_ratio": round(ledger_s / mature_s, 3),
        "drift": drift,
        "peak_rss_mb": round(rss, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
