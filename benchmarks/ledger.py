"""Ledger posting throughput on PostgreSQL, measured against pgbench running the same SQL.

Prints a line per workload and a final JSON line:
{"spread": {...}, "hot": {...}, "peak_rss_mb": N}
each workload with postings_per_s, p50_ms, p99_ms, ceiling_tps, ratio, overdrawn.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanzi.settings")
    import django

    django.setup()


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(accounts: int) -> tuple[int, list[int]]:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE core_ledgerentry, core_ledgertransaction, core_ledgeraccount RESTART IDENTITY"
        )
    from quanzi.core.services.ledger import ledger_account_get_or_create

    issuer = ledger_account_get_or_create(code="bench:issuer", kind="equity", currency="CRY")
    wallets = [
        ledger_account_get_or_create(
            code=f"bench:wallet:{i}", kind="liability", currency="CRY", allow_negative=False
        ).pk
        for i in range(accounts)
    ]
    return issuer.pk, wallets


def worker(args: tuple[str, int, list[int], float, int, float]) -> tuple[int, list[float], int]:
    workload, issuer_id, wallets, seconds, seed, start_at = args
    django_setup()
    from django.db import connection

    from quanzi.core.models import LedgerAccount
    from quanzi.core.services.ledger import InsufficientFunds, Leg, ledger_post

    rng = random.Random(seed)
    accounts = {a.pk: a for a in LedgerAccount.objects.all()}
    issuer = accounts[issuer_id]
    latencies: list[float] = []
    refused = 0
    # Every process starts measuring at the same moment, after its own set-up.
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.time() + seconds
    while time.time() < deadline:
        if workload == "hot":
            source, target = issuer, accounts[rng.choice(wallets)]
        else:
            a, b = rng.sample(wallets, 2)
            source, target = accounts[a], accounts[b]
        amount = rng.randint(1, 5)
        start = time.perf_counter()
        try:
            ledger_post(legs=[Leg(source, -amount), Leg(target, amount)], kind=f"bench.{workload}")
        except InsufficientFunds:
            refused += 1
        latencies.append(time.perf_counter() - start)
    connection.close()
    return len(latencies), latencies, refused


def fund(issuer_id: int, wallets: list[int], amount: int) -> None:
    from quanzi.core.models import LedgerAccount
    from quanzi.core.services.ledger import Leg, ledger_post

    issuer = LedgerAccount.objects.get(pk=issuer_id)
    for pk in wallets:
        ledger_post(
            legs=[Leg(issuer, -amount), Leg(LedgerAccount.objects.get(pk=pk), amount)],
            kind="bench.fund",
        )


PGBENCH = """
\\set a random(1, {accounts})
\\set b random(1, {accounts})
\\set amt random(1, 5)
BEGIN;
SELECT id, balance FROM core_ledgeraccount WHERE id IN ({first}, {second}) ORDER BY id FOR UPDATE;
INSERT INTO core_ledgertransaction (kind, memo, occurred_at, created_at, object_type, object_id)
  VALUES ('bench.pgbench', '', now(), now(), '', '') RETURNING id \\gset txn_
INSERT INTO core_ledgerentry (transaction_id, account_id, amount, currency, balance_after)
  VALUES (:txn_id, {first}, -:amt, 'CRY', 0), (:txn_id, {second}, :amt, 'CRY', 0);
UPDATE core_ledgeraccount SET balance = balance - :amt WHERE id = {first};
UPDATE core_ledgeraccount SET balance = balance + :amt WHERE id = {second};
COMMIT;
"""


def pgbench_ceiling(
    url: str, workload: str, issuer_id: int, wallets: list[int], clients: int, seconds: int
) -> float:
    """Transactions/s of the same statements issued straight to PostgreSQL."""
    if not shutil.which("pgbench"):
        return float("nan")
    low, high = min(wallets), max(wallets)
    first = str(issuer_id) if workload == "hot" else f"(:a % {high - low} + {low})"
    second = (
        f"(:b % {high - low} + {low})"
        if workload == "hot"
        else f"((:a + :b) % {high - low} + {low})"
    )
    script = PGBENCH.format(accounts=len(wallets), first=first, second=second)
    parts = urlparse(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PGDATABASE": parts.path.lstrip("/"),
    }
    # The sum-to-zero trigger checks each entry at commit, as it does for ledger_post.
    out = subprocess.run(
        [
            "pgbench",
            "-n",
            "-c",
            str(clients),
            "-j",
            str(min(clients, 2)),
            "-T",
            str(seconds),
            "-f",
            handle.name,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    os.unlink(handle.name)
    for line in out.stdout.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    print(out.stdout + out.stderr, file=sys.stderr)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("benchmarks/ledger.py: set DATABASE_URL to a PostgreSQL database of its own")
    ensure_database(url)
    django_setup()
    issuer_id, wallets = prepare(args.accounts)
    fund(issuer_id, wallets, 1_000_000)
    from django.db import connection

    connection.close()

    results = {}
    for workload in ("spread", "hot"):
        connection.close()  # children open their own connections
        with mp.get_context("spawn").Pool(args.clients) as pool:
            start_at = time.time() + 5
            parts = pool.map(
                worker,
                [
                    (workload, issuer_id, wallets, args.seconds, seed, start_at)
                    for seed in range(args.clients)
                ],
            )
        latencies = sorted(x for _, lat, _ in parts for x in lat)
        done = sum(n for n, _, _ in parts)
        ceiling = pgbench_ceiling(
            url, workload, issuer_id, wallets, args.clients, int(args.seconds)
        )
        from quanzi.core.selectors import ledger_drift

        overdrawn = connection.cursor()
        overdrawn.execute(
            "SELECT count(*) FROM core_ledgeraccount WHERE NOT allow_negative AND balance < 0"
        )
        negative = overdrawn.fetchone()[0]
        rate = done / args.seconds
        results[workload] = {
            "clients": args.clients,
            "postings_per_s": round(rate, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
            "ceiling_tps": round(ceiling, 1),
            "ratio": round(rate / ceiling, 3) if ceiling == ceiling and ceiling else None,
            "overdrawn": negative,
            "drifted_accounts": len(ledger_drift()),
        }
        r = results[workload]
        print(
            f"{workload:>6}: {r['postings_per_s']} postings/s (p50 {r['p50_ms']} ms, p99 "
            f"{r['p99_ms']} ms) vs pgbench ceiling {r['ceiling_tps']} tps -> ratio {r['ratio']}; "
            f"overdrawn {negative}, drifted {r['drifted_accounts']}"
        )
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["peak_rss_mb"] = round(max(peak_self, peak_children), 1)
    print(f"peak memory: {results['peak_rss_mb']} MB per process")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
