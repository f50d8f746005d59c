"""Flash sale: orders per second through the real server while a drop sells out, on PostgreSQL.

Starts ``quanzi serve`` (gunicorn sync workers and the job worker, production profile) on a
database of its own, opens a drop whose stock lasts most of the measured interval, and has
``--buyers`` concurrent buyers (each a member of their own) place orders for it over HTTP until
it has sold out. In the same run pgbench measures the ceiling: the SQL at the heart of checkout
(an order insert, then one conditional decrement of the same hot row, inside BEGIN/COMMIT as
``transaction.atomic`` issues it) with as many clients.

Prints progress, a summary (figures, the ceiling, the targets, CPU and peak memory) and a final
JSON line: {"orders_per_s", "p50_ms", "p99_ms", "oversold", "ceiling_tps", "ratio", ...}.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import math
import multiprocessing as mp
import os
import queue
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

ENDPOINT = "/api/v1/orders"
HEALTH = "/api/v1/health"
ADDRESS = {
    "name": "王小明",
    "phone": "13800138000",
    "region": "浙江",
    "address": "舟山市定海区海港路 8 号",
}
ORDER, REFUSAL, ERROR = "order", "refusal", "error"
TARGET_RATIO = 0.40
TARGET_P99_MS = 250.0
DEFAULT_WORKERS = 3  # the best of 2-8 on the 2-core machine the targets are set for
CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    print(text, flush=True)


# --- the database of its own -------------------------------------------------------------------


def bench_url(url: str) -> str:
    parts = urlparse(url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunparse(parts._replace(path=f"/{name}_flash"))


def recreate_database(url: str, *, create: bool = True) -> None:
    """Drop and create the benchmark's own database (never the one DATABASE_URL names)."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanzi.settings")
    import django

    django.setup()


@dataclass
class Shop:
    token: str
    community_id: int
    product_id: int
    sku_id: int
    member_ids: list[int]


def prepare(buyers: int) -> Shop:
    """Schema, an operator token, a community selling one physical product, a member per buyer."""
    from django.core.management import call_command

    from quanzi.catalog.models import ProductKind
    from quanzi.catalog.services.products import product_create, product_update, sku_create
    from quanzi.catalog.services.shipping import RuleSpec, shipping_template_create
    from quanzi.communities.services.setup import community_create
    from quanzi.core.services.tokens import api_token_create, operator_create
    from quanzi.members.models import IdentityKind
    from quanzi.members.services import IdentityIn, member_identify

    call_command("migrate", verbosity=0)
    operator_create(username="flash", password=secrets.token_urlsafe(16))
    _, token = api_token_create(username="flash", name="flash sale benchmark")
    home = community_create(slug="flash-sale", name="Flash sale", kind="resource")
    template = shipping_template_create(
        community=home, name="Everywhere", rules=[RuleSpec(["*"], 1_000, 500)]
    )
    product = product_create(
        community=home,
        name="舟山带鱼 2斤",
        kind=ProductKind.PHYSICAL,
        price_minor=8_800,
        weight_grams=1_000,
        shipping_template=template,
    )
    sku = sku_create(product=product, options={"规格": "2斤"}, stock=3_000_000)
    product_update(product=product, active=True)
    members = [
        member_identify(
            display_name=f"buyer {n}", identities=[IdentityIn(IdentityKind.PHONE, f"139{n:08d}")]
        )[0].pk
        for n in range(1, buyers + 1)
    ]
    return Shop(token, home.pk, product.pk, sku.pk, members)


def open_drop(shop: Shop, title: str, units: int) -> int:
    """A live drop of ``units``; each buyer may take them all (the tally counts, never refuses)."""
    from datetime import timedelta

    from quanzi.catalog.models import Product, Sku
    from quanzi.catalog.services.drops import drop_create
    from quanzi.core import clock

    now = clock.now()
    drop = drop_create(
        product=Product.objects.get(pk=shop.product_id),
        sku=Sku.objects.get(pk=shop.sku_id),
        title=title,
        price_minor=5_900,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=2),
        units=units,
        per_member_limit=units,
    )
    return drop.pk


@dataclass
class Audit:
    units: int
    stock: int
    reserved: int
    sold: int
    orders: int
    quantity: int
    lines: int

    @property
    def oversold(self) -> int:
        return max(0, self.quantity - self.units)

    @property
    def consistent(self) -> bool:
        return (
            self.stock >= 0
            and self.stock + self.reserved + self.sold == self.units
            and self.reserved + self.sold == self.quantity
        )


def audit(drop_id: int) -> Audit:
    from django.db.models import Sum

    from quanzi.catalog.models import Drop
    from quanzi.orders.models import Order, OrderLine

    drop = Drop.objects.get(pk=drop_id)
    orders = Order.objects.filter(drop_id=drop_id).exclude(status="cancelled")
    lines = OrderLine.objects.filter(order__in=orders)
    return Audit(
        units=drop.units,
        stock=drop.stock,
        reserved=drop.reserved,
        sold=drop.sold,
        orders=orders.count(),
        quantity=lines.aggregate(n=Sum("quantity"))["n"] or 0,
        lines=lines.count(),
    )


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    env: dict[str, str], port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """``quanzi serve`` as an operator runs it: gunicorn sync workers plus the job worker."""
    command = [sys.executable, "-m", "quanzi", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        server = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.time() + 90
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"flash_sale: the server exited ({server.returncode}):\n{tail(log)}")
        status, _ = request(port, b"GET", HEALTH.encode(), b"", {})
        if status == 200:
            return server
        time.sleep(0.2)
    stop_server(server)
    sys.exit(f"flash_sale: the server did not answer {HEALTH} within 90 s:\n{tail(log)}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(stat.split("/")[2]))
    return tree


def process_tree(root: int) -> list[int]:
    tree = _children()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def postgres_pids(database: str) -> list[int]:
    """PostgreSQL's own processes and the backends serving ``database`` (not other databases')."""
    pids = []
    for comm in glob.glob("/proc/[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if Path(comm).read_text().strip() != "postgres":
                continue
            title = Path(comm).with_name("cmdline").read_bytes().decode(errors="replace")
            # A backend's title is "postgres: USER DATABASE HOST(PORT) STATE".
            if "(" not in title or f" {database} " in title:
                pids.append(int(comm.split("/")[2]))
    return pids


def machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


def peak_rss_mb(pids: list[int]) -> tuple[float, float]:
    """(largest, sum) of the processes' peak resident memory (VmHWM), in MB."""
    peaks = []
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return (max(peaks, default=0.0), sum(peaks))


# --- the buyers --------------------------------------------------------------------------------


def request(
    port: int, method: bytes, path: bytes, body: bytes, headers: dict[bytes, bytes]
) -> tuple[int, bytes]:
    """One HTTP/1.1 exchange on a fresh connection (sync workers close it after each answer)."""
    head = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1:%d" % port]
    # Behind the TLS-terminating proxy a production server sits behind.
    head.append(b"X-Forwarded-Proto: https")
    head += [name + b": " + value for name, value in headers.items()]
    head += [b"Content-Length: %d" % len(body), b"Connection: close", b"", b""]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            conn.sendall(b"\r\n".join(head) + body)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        return 0, str(exc).encode()
    answer = b"".join(chunks)
    try:
        return int(answer[9:12]), answer.partition(b"\r\n\r\n")[2]
    except ValueError:
        return 0, answer[:200]


@dataclass
class Plan:
    port: int
    token: str
    community_id: int
    product_id: int
    drop_id: int
    run: str
    start_at: float  # every buyer starts at this moment
    deadline: float  # stop once the drop has sold out and this has passed
    cutoff: float  # stop regardless


@dataclass
class Outcome:
    # (seconds from the start at which the answer arrived, latency in s, ORDER/REFUSAL/ERROR)
    answers: list[tuple[float, float, str]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


def buyer(
    plan: Plan, member_id: int, tag: str, sold_out: Any, done: Any, slot: int, out: Outcome
) -> None:
    body = json.dumps(
        {
            "community_id": plan.community_id,
            "member_id": member_id,
            "drop_id": plan.drop_id,
            "lines": [{"product_id": plan.product_id, "sku_id": None, "quantity": 1}],
            "address": ADDRESS,
        }
    ).encode()
    headers = {b"Authorization": b"Bearer " + plan.token.encode()}
    headers[b"Content-Type"] = b"application/json"
    path = ENDPOINT.encode()
    n = 0
    time.sleep(max(0.0, plan.start_at - time.time()))
    while True:
        now = time.time()
        if now >= plan.cutoff or (sold_out.value and now >= plan.deadline):
            return
        n += 1
        headers[b"Idempotency-Key"] = f"{plan.run}-{tag}-{n}".encode()
        began = time.perf_counter()
        status, answer = request(plan.port, b"POST", path, body, headers)
        latency = time.perf_counter() - began
        if status == 201:
            kind = ORDER
            done[slot] += 1
        elif status == 409 and b'"out_of_stock"' in answer:
            kind = REFUSAL
            sold_out.value = 1
        else:
            kind = ERROR
            text = " ".join(answer[:300].decode(errors="replace").split())
            out.errors[f"{status} {text}"] += 1
        out.answers.append((time.time() - plan.start_at, latency, kind))


def buyers_process(
    plan: Plan, members: list[int], tag: str, sold_out: Any, done: Any, slot: int, results: Any
) -> None:
    out = Outcome()
    before = resource.getrusage(resource.RUSAGE_SELF)
    threads = [
        threading.Thread(
            target=buyer, args=(plan, member_id, f"{tag}.{n}", sold_out, done, slot, out)
        )
        for n, member_id in enumerate(members)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    out.cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    out.peak_rss_mb = after.ru_maxrss / 1024
    results.put(out)


def load(plan: Plan, members: list[int], processes: int, progress: bool) -> Outcome:
    """Every member a buyer in a thread, spread over a few client processes."""
    context = mp.get_context("fork")
    sold_out = context.RawValue("i", 0)
    done = context.RawArray("q", processes)
    results = context.Queue()
    groups = [members[n::processes] for n in range(processes)]
    workers = [
        context.Process(
            target=buyers_process,
            args=(plan, group, f"p{n}", sold_out, done, n, results),
            daemon=True,
        )
        for n, group in enumerate(groups)
        if group
    ]
    for worker in workers:
        worker.start()
    merged = Outcome()
    pending = len(workers)
    next_report = plan.start_at + 5
    while pending:
        try:
            part = results.get(timeout=0.5)
        except queue.Empty:
            if not any(worker.is_alive() for worker in workers) and results.empty():
                sys.exit("flash_sale: a buyers' process died; see above")
            if progress and time.time() >= next_report:
                say(
                    f"  {time.time() - plan.start_at:5.1f} s: {sum(done)} orders"
                    + (", sold out" if sold_out.value else "")
                )
                next_report += 5
            continue
        pending -= 1
        merged.answers += part.answers
        merged.errors.update(part.errors)
        merged.cpu_s += part.cpu_s
        merged.peak_rss_mb = max(merged.peak_rss_mb, part.peak_rss_mb)
    for worker in workers:
        worker.join()
    return merged


# --- the ceiling -------------------------------------------------------------------------------

PGBENCH_SCHEMA = """
DROP TABLE IF EXISTS flash_hot, flash_order;
CREATE TABLE flash_hot (
    id integer PRIMARY KEY,
    stock integer NOT NULL CHECK (stock >= 0),
    reserved integer NOT NULL CHECK (reserved >= 0)
);
CREATE TABLE flash_order (
    id bigserial PRIMARY KEY,
    hot_id integer NOT NULL REFERENCES flash_hot (id),
    member_id integer NOT NULL,
    quantity integer NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO flash_hot VALUES (1, 2000000000, 0);
"""

# The order first, the hot row last, as order_create does: the row is locked from its one
# conditional UPDATE to the COMMIT.
PGBENCH_SCRIPT = """\\set member random(1, {buyers})
BEGIN;
INSERT INTO flash_order (hot_id, member_id, quantity, created_at) VALUES (1, :member, 1, now());
UPDATE flash_hot SET stock = stock - 1, reserved = reserved + 1 WHERE id = 1 AND stock >= 1;
COMMIT;
"""


def pgbench_path() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def pgbench_ceiling(url: str, clients: int, seconds: float, home: Path) -> tuple[float, str]:
    """pgbench transactions/s (without connection time) and what it printed."""
    import psycopg

    binary = pgbench_path()
    if binary is None:
        return float("nan"), "pgbench not found"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PGBENCH_SCHEMA)
    script = home / "flash_sale.sql"
    script.write_text(PGBENCH_SCRIPT.format(buyers=clients))
    parts = urlparse(url)
    env = {**os.environ, "PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432)}
    env["PGUSER"] = parts.username or "postgres"
    env["PGDATABASE"] = parts.path.lstrip("/")
    if parts.password:
        env["PGPASSWORD"] = parts.password
    command = [binary, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2))]
    command += ["-T", str(max(1, round(seconds))), "-f", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("tps =") and "without initial connection time" in line:
            return float(line.split()[2]), out.stdout
    return float("nan"), out.stdout + out.stderr


def pgbench_latency(printed: str) -> float:
    """pgbench's mean latency in ms: the SQL alone, at the same client count, can answer no
    faster than this (its p99 is higher still)."""
    for line in printed.splitlines():
        if line.startswith("latency average ="):
            return float(line.split()[3])
    return float("nan")


# --- the run -----------------------------------------------------------------------------------


def rounded(value: float, digits: int) -> float | None:
    """For the JSON line, where NaN (no pgbench, no orders) is not a number: null."""
    return None if math.isnan(value) else round(value, digits)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=64, help="concurrent buyers [64]")
    parser.add_argument("--seconds", type=float, default=20, help="measured interval [20]")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help=f"gunicorn workers [{DEFAULT_WORKERS}]"
    )
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes the buyers' threads share [2]"
    )
    parser.add_argument(
        "--calibrate", type=float, default=5, help="warm-up seconds that size the drop [5]"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database, the data folder and server log"
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "flash_sale: set DATABASE_URL to a PostgreSQL server (postgres://USER@HOST:5432/NAME); "
            "the benchmark runs in a database of its own, NAME_flash",
            file=sys.stderr,
        )
        sys.exit(2)
    own = bench_url(url)
    home = Path(tempfile.mkdtemp(prefix="quanzi-flash-"))
    log = home / "server.log"
    say(f"database {urlparse(own).path.lstrip('/')} (dropped and created), data folder {home}")
    recreate_database(own)
    env = {
        **os.environ,
        "DATABASE_URL": own,
        "QUANZI_HOME": str(home),
        "QUANZI_PROFILE": "production",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "QUANZI_HOME", "QUANZI_PROFILE")})
    django_setup()
    from django.db import connections

    started = time.time()
    shop = prepare(args.buyers)
    say(
        f"schema and shop ready in {time.time() - started:.1f} s: {args.buyers} buyers, one drop each run"
    )
    connections.close_all()

    port = free_port()
    server = start_server(env, port, args.workers, log)
    say(f"quanzi serve: gunicorn, {args.workers} sync workers + job worker on 127.0.0.1:{port}")
    try:
        # Warm-up, which also sizes the drop: stock for about 80% of the measured interval.
        calibration = open_drop(shop, "Calibration drop", 200_000)
        connections.close_all()
        now = time.time()
        warm = load(
            Plan(
                port,
                shop.token,
                shop.community_id,
                shop.product_id,
                calibration,
                "warm",
                now + 0.5,
                now + 0.5 + args.calibrate,
                now + 0.5 + args.calibrate,
            ),
            shop.member_ids,
            args.client_processes,
            progress=False,
        )
        half = args.calibrate / 2
        # Answers that arrive after the buyers stopped asking belong to no steady second.
        steady = [t for t, _, k in warm.answers if k == ORDER and half <= t < args.calibrate]
        warm_rate = len(steady) / (args.calibrate - half)
        units = max(args.buyers, round(0.8 * warm_rate * args.seconds))
        say(
            f"warm-up: {warm_rate:.0f} orders/s over its last {half:.1f} s -> a drop of {units} "
            f"units; {sum(warm.errors.values())} errors"
        )
        for text, count in warm.errors.most_common(3):
            say(f"  {count} x {text[:160]}")
        drop_id = open_drop(shop, "限时秒杀 · 舟山带鱼", units)
        connections.close_all()

        tree = process_tree(server.pid)
        database = urlparse(own).path.lstrip("/")
        pg_before = {pid: cpu_seconds([pid]) for pid in postgres_pids(database)}
        server_before, busy_before = cpu_seconds(tree), machine_busy_seconds()
        now = time.time()
        plan = Plan(
            port,
            shop.token,
            shop.community_id,
            shop.product_id,
            drop_id,
            "flash",
            now + 0.5,
            now + 0.5 + args.seconds,
            now + 0.5 + 3 * args.seconds,
        )
        say(f"flash sale: {args.buyers} buyers over {args.client_processes} client processes")
        outcome = load(plan, shop.member_ids, args.client_processes, progress=True)
        wall = time.time() - plan.start_at
        tree = process_tree(server.pid)
        server_cpu = cpu_seconds(tree) - server_before
        pg_cpu = sum(
            cpu_seconds([pid]) - pg_before.get(pid, 0.0) for pid in postgres_pids(database)
        )
        busy = machine_busy_seconds() - busy_before
        server_peak, server_total = peak_rss_mb(tree)
    finally:
        stop_server(server)

    result = audit(drop_id)
    connections.close_all()
    say(f"ceiling: pgbench, {args.buyers} clients, {args.seconds:.0f} s ...")
    ceiling, pgbench_out = pgbench_ceiling(own, args.buyers, args.seconds, home)

    answers = outcome.answers
    orders = sorted((t, lat) for t, lat, k in answers if k == ORDER)
    refused = [t for t, _, k in answers if k == REFUSAL]
    sold_out = bool(refused)
    errors = sum(outcome.errors.values())
    selling = orders[-1][0] if orders else float("nan")
    rate = len(orders) / selling if orders else 0.0
    latencies = sorted(lat * 1000 for _, lat in orders)
    all_latencies = sorted(lat * 1000 for _, lat, _ in answers)
    p50, p99 = (
        statistics.median(latencies) if latencies else float("nan"),
        percentile(latencies, 0.99),
    )
    ratio = rate / ceiling if ceiling == ceiling and ceiling else float("nan")
    cores = os.cpu_count() or 1

    say("")
    say(
        f"orders: {len(orders)} of {result.units} units in {selling:.1f} s -> {rate:.1f} orders/s; "
        f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1] if latencies else 0:.0f} ms"
    )
    say(
        f"after sell-out: {len(refused)} refusals (409 out_of_stock), p99 of every answer "
        f"{percentile(all_latencies, 0.99):.1f} ms; errors: {errors}"
    )
    for text, count in outcome.errors.most_common(5):
        say(f"  {count} x {text}")
    if not sold_out:
        say(f"  the drop had not sold out after {3 * args.seconds:.0f} s; the buyers stopped")
    say(
        f"stock: drop units {result.units}, left {result.stock}, reserved {result.reserved}, "
        f"sold {result.sold}; {result.orders} orders for {result.quantity} units in the database "
        f"({'consistent' if result.consistent else 'INCONSISTENT'}); oversold {result.oversold}"
    )
    if result.orders != len(orders):
        say(f"  the buyers were told of {len(orders)} orders, the database holds {result.orders}")
    ceiling_latency = pgbench_latency(pgbench_out)
    say(
        f"ceiling: pgbench {ceiling:.1f} tps (insert + conditional decrement of one row, "
        f"BEGIN/COMMIT), its own mean latency {ceiling_latency:.1f} ms at {args.buyers} clients"
    )
    say(
        f"ratio {ratio:.3f} (target >= {TARGET_RATIO}), p99 {p99:.1f} ms (target <= "
        f"{TARGET_P99_MS:.0f} ms), oversold {result.oversold} (target 0)"
    )
    other = busy - server_cpu - pg_cpu - outcome.cpu_s
    say(
        f"CPU over {wall:.1f} s, of {cores} cores: server {100 * server_cpu / wall:.0f}%, "
        f"PostgreSQL {100 * pg_cpu / wall:.0f}%, buyers {100 * outcome.cpu_s / wall:.0f}%, "
        f"other processes {100 * other / wall:.0f}%; per request, server "
        f"{1000 * server_cpu / max(1, len(answers)):.1f} ms and PostgreSQL "
        f"{1000 * pg_cpu / max(1, len(answers)):.1f} ms CPU"
    )
    # Buyers wait for each answer before asking again, so on average a request takes
    # buyers / throughput (Little's law), whatever the server does with them meanwhile.
    say(
        f"with {args.buyers} buyers always waiting, the mean latency is {args.buyers} / throughput"
        f" = {1000 * args.buyers / rate if rate else float('nan'):.0f} ms; a p99 of "
        f"{TARGET_P99_MS:.0f} ms needs more than {1000 * args.buyers / TARGET_P99_MS:.0f} orders/s"
    )
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(
        f"peak memory: server {server_total:.0f} MB over {len(tree)} processes (largest "
        f"{server_peak:.0f} MB), buyers {outcome.peak_rss_mb:.0f} MB per process, "
        f"this script {self_peak:.0f} MB"
    )
    if errors:
        say(f"server log ({log}):\n{tail(log, 15)}")
    if ceiling != ceiling:
        say(pgbench_out)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
        recreate_database(own, create=False)

    figures = {
        "orders_per_s": rounded(rate, 1),
        "p50_ms": rounded(p50, 1),
        "p99_ms": rounded(p99, 1),
        "oversold": result.oversold,
        "ceiling_tps": rounded(ceiling, 1),
        "ratio": rounded(ratio, 3),
        "buyers": args.buyers,
        "workers": args.workers,
        "units": result.units,
        "orders": len(orders),
        "sold_out": sold_out,
        "selling_s": rounded(selling, 1),
        "refused_after_sell_out": len(refused),
        "errors": errors,
        "consistent": result.consistent,
        "server_peak_rss_mb": round(server_total, 1),
        "ceiling_latency_ms": rounded(ceiling_latency, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
