"""Every dashboard query of the health page, on rollups, against DuckDB's full scan of the same
question on the same data exported to Parquet (the columnar ceiling on this machine).

For each database (PostgreSQL on DATABASE_URL or postgres://postgres@127.0.0.1:5432/
quanzi_bench_analytics, and SQLite in benchmarks/.data/), in one run:

1. ``quanzi simulate`` builds the community (reused when a finished one of the same size is
   there), and the rollup job folds it in; both are timed;
2. each dashboard query (``quanzi.analytics.selectors.metrics``) runs three times; the median
   counts. ``kpis`` asks for the last 30 days, a period whose member counts the rollup job keeps
   ready; ``kpis_custom`` asks for the last 45 days, counted live from each member's last
   times; ``kpis_past`` asks for 45 days that ended 60 days ago, counted live from each
   member's day bits;
3. the raw facts (activities, seats, chat messages) are exported to Parquet, and DuckDB answers
   the same questions by scanning them, three times each, median again.

Prints a table per database (query, seconds, the 1 s ceiling, DuckDB seconds, ratio) and ends
with one JSON line: {"postgres": {query: {"seconds", "duckdb_seconds", "ratio"}, ...,
"_build": {...}}, "sqlite": {...}, "rows": {...}, "peak_rss_mb": N}.

    .venv/bin/python benchmarks/analytics.py                      # 1M members, 2000 groups, 10M
    .venv/bin/python benchmarks/analytics.py --quick              # 20k members, 40 groups, 200k
    .venv/bin/python benchmarks/analytics.py --database postgres --members 100000 ...
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
CEILING_S = 1.0
RUNS = 3
STEADY_ROWS = 5000  # new activities before the timed steady run
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/quanzi_bench_analytics"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--quick", action="store_true", help="20k members, 40 groups, 200k")
    parser.add_argument("--database", choices=["both", "postgres", "sqlite"], default="both")
    parser.add_argument("--child", choices=["postgres", "sqlite"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.members, args.groups, args.activities, args.days = 20_000, 40, 200_000, 180
    if args.child:
        result = child(args)
        Path(args.out).write_text(json.dumps(result))
        return
    results: dict[str, Any] = {}
    databases = ["postgres", "sqlite"] if args.database == "both" else [args.database]
    for database in databases:
        out = Path(tempfile.mkstemp(prefix="quanzi-bench-", suffix=".json")[1])
        env = dict(os.environ)
        if database == "postgres":
            env["DATABASE_URL"] = os.environ.get("DATABASE_URL", PG_DEFAULT)
        else:
            env.pop("DATABASE_URL", None)
            home = DATA / f"sqlite-{args.members}-{args.groups}-{args.activities}-{args.days}"
            home.mkdir(parents=True, exist_ok=True)
            env["QUANZI_HOME"] = str(home)
        command = [
            sys.executable,
            __file__,
            "--child",
            database,
            "--out",
            str(out),
            "--members",
            str(args.members),
            "--groups",
            str(args.groups),
            "--activities",
            str(args.activities),
            "--days",
            str(args.days),
        ]
        print(
            f"[bench] {database}: {args.members:,} members, {args.groups:,} groups, "
            f"{args.activities:,} activities over {args.days} days",
            flush=True,
        )
        subprocess.run(command, env=env, check=True)
        results[database] = json.loads(out.read_text())
        out.unlink()
    for database, result in results.items():
        table(database, result)
    rows = {db: r.pop("_rows") for db, r in results.items()}
    peak = max(
        [resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]
        + [r["_build"]["peak_rss_mb"] for r in results.values()]
    )
    print(json.dumps({**results, "rows": rows, "peak_rss_mb": round(peak, 1)}, ensure_ascii=False))


def table(database: str, result: dict[str, Any]) -> None:
    build = result["_build"]
    print(
        f"\n{database}: simulate {build['simulate_s']:.0f} s, rollups {build['rollup_s']:.0f} s "
        f"({build['rollup_rows_per_s']:,.0f} rows/s), export {build['export_s']:.0f} s, "
        f"health evaluation {build.get('health_s', 0):.0f} s, one run after "
        f"{build.get('steady_rows', 0):,} new activities {build.get('steady_s', 0):.1f} s, "
        f"peak {build['peak_rss_mb']:.0f} MB"
    )
    print(f"{'query':<22}{'seconds':>10}{'ceiling':>9}{'duckdb':>10}{'ratio':>8}")
    for name, figures in result.items():
        if name.startswith("_"):
            continue
        duck = figures["duckdb_seconds"]
        ratio = figures["ratio"]
        duck_text = "—" if duck is None else f"{duck:.4f}"
        ratio_text = "—" if ratio is None else f"{ratio:.3f}"
        seconds = f"{figures['seconds']:.4f}"
        print(f"{name:<22}{seconds:>10}{CEILING_S:>9.1f}{duck_text:>10}{ratio_text:>8}")


def median_time(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- one database, in its own process ---------------------------------------------------------


def child(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("QUANZI_HOME", tempfile.mkdtemp(prefix="quanzi-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanzi.settings")
    url = os.environ.get("DATABASE_URL", "")
    if url:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from ledger import ensure_database

        ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from datetime import timedelta

    from django.db.models import Count

    from quanzi.analytics.calendar import local_day
    from quanzi.analytics.models import MemberFact
    from quanzi.analytics.rollups import rollup_refresh
    from quanzi.analytics.selectors import metrics
    from quanzi.analytics.simulate import simulate
    from quanzi.communities.models import Community
    from quanzi.core import clock

    slug = f"bench-{args.members}-{args.groups}-{args.activities}-{args.days}"
    found = Community.objects.filter(slug=slug).first()
    build: dict[str, Any] = {"simulate_s": 0.0, "rollup_s": 0.0, "rollup_rows_per_s": 0.0}
    if found is not None and found.description not in ("simulated", "complete"):
        sys.exit(f"[bench] {slug} is half-built (an earlier run stopped); drop the database")
    if found is None:
        start = time.perf_counter()
        last = [0.0]

        def progress(step: str, done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 30:
                last[0] = time.perf_counter()
                print(f"[bench]   {step}: {done:,}/{total:,}", flush=True)

        report = simulate(
            members=args.members,
            groups=args.groups,
            days=args.days,
            activities=args.activities,
            seed=1,
            slug=slug,
            track=progress,
        )
        build["simulate_s"] = time.perf_counter() - start
        print(f"[bench]   {report}", flush=True)
        Community.objects.filter(slug=slug).update(description="simulated")
        found = Community.objects.get(slug=slug)
    if found.description == "simulated":
        # The rollup job resumes from its watermarks: a run stopped here picks up where it was.
        last = [0.0]
        start = time.perf_counter()
        folded = [0]

        def rolled(rows: int) -> None:
            folded[0] += rows
            if time.perf_counter() - last[0] > 30:
                last[0] = time.perf_counter()
                print(f"[bench]   rollups: {folded[0]:,} rows", flush=True)

        summary = rollup_refresh(track=rolled, settle=timedelta(0))
        build["rollup_s"] = time.perf_counter() - start
        build["rollup_rows_per_s"] = (summary.activities + summary.messages) / build["rollup_s"]
        print(f"[bench]   rollups: {summary} in {build['rollup_s']:.0f} s", flush=True)
        Community.objects.filter(slug=slug).update(description="complete")
        found = Community.objects.get(slug=slug)
    community = found
    # What a dashboard reads is as fresh as the job's last run: run it once (nothing new to fold
    # on reused data, but the snapshots of a new day are worked out).
    start = time.perf_counter()
    rollup_refresh(settle=timedelta(0))
    build["refresh_s"] = time.perf_counter() - start
    today = local_day(clock.now())
    month = metrics.Period(today - timedelta(days=29), today + timedelta(days=1))
    # Not one of the console's standard periods: the tiles are worked out live, not read from
    # the rollup job's snapshot.
    custom = metrics.Period(today - timedelta(days=44), today + timedelta(days=1))
    past = metrics.Period(today - timedelta(days=104), today - timedelta(days=59))
    quarter = metrics.Period(today - timedelta(days=89), today + timedelta(days=1))
    whole = metrics.Scope(community.pk)
    biggest = (
        MemberFact.objects.filter(community_id=community.pk, group_count__gte=1)
        .exclude(group_id=0)
        .values("group_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    group_id = biggest["group_id"] if biggest else 0
    one = metrics.Scope(community.pk, group_id)
    questions: dict[str, Callable[[], Any]] = {
        "kpis": lambda: metrics.kpis(whole, month),
        "kpis_custom": lambda: metrics.kpis(whole, custom),
        "kpis_past": lambda: metrics.kpis(whole, past),
        "funnel": lambda: metrics.funnel(whole, month),
        "daily": lambda: metrics.daily(whole, quarter),
        "cohorts": lambda: metrics.cohorts(whole, quarter),
        "overlap": lambda: metrics.overlap(community.pk, None, today),
        "lifecycle": lambda: metrics.lifecycle(whole, today),
        "rfm": lambda: metrics.rfm(whole, today),
        "group_kpis": lambda: metrics.kpis(one, month),
        "group_daily": lambda: metrics.daily(one, quarter),
    }
    timed = {name: median_time(fn) for name, fn in questions.items()}
    for name, seconds in timed.items():
        print(f"[bench]   {name}: {seconds:.4f} s", flush=True)
    # Not a dashboard query but the job behind its warnings: every group scored once.
    from quanzi.analytics.services.health import health_evaluate

    start = time.perf_counter()
    health_evaluate(community=community)
    build["health_s"] = time.perf_counter() - start
    print(f"[bench]   health evaluation of every group: {build['health_s']:.1f} s", flush=True)
    start = time.perf_counter()
    duck, rows = duckdb_times(community.pk, group_id, today, month, quarter, custom, past)
    build["export_s"] = time.perf_counter() - start
    # The job as it runs all day: a few minutes' new activity, then one run of it (after the
    # export, so DuckDB read the same data the queries did).
    build["steady_rows"], build["steady_s"] = steady_run(community.pk)
    print(
        f"[bench]   one rollup run after {build['steady_rows']:,} new activities: "
        f"{build['steady_s']:.1f} s",
        flush=True,
    )
    build["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out: dict[str, Any] = {}
    for name, seconds in timed.items():
        d = duck.get(name)
        out[name] = {
            "seconds": round(seconds, 5),
            "duckdb_seconds": None if d is None else round(d, 5),
            "ratio": None if not d else round(seconds / d, 4),
        }
    out["_build"] = {k: round(v, 2) if isinstance(v, float) else v for k, v in build.items()}
    out["_rows"] = rows
    return out


def steady_run(community_id: int, count: int = STEADY_ROWS) -> tuple[int, float]:
    """Record ``count`` activities of today by seated members (messages, replies, likes and
    a few orders, as five busy minutes of the community bring) and time one rollup run."""
    import random
    from datetime import timedelta

    from quanzi.analytics.rollups import rollup_refresh
    from quanzi.communities.models import GroupMembership, SeatStatus
    from quanzi.core import clock
    from quanzi.core.models import Activity, ActivityKind

    seats = list(
        GroupMembership.objects.filter(
            group__community_id=community_id, status=SeatStatus.ACTIVE
        ).values_list("group_id", "member_id")[:200_000]
    )
    rng = random.Random(len(seats))
    now = clock.now()
    kinds = [ActivityKind.MESSAGE] * 6 + [ActivityKind.REPLY, ActivityKind.LIKE] * 2
    rows = []
    for n in range(count):
        group_id, member_id = rng.choice(seats)
        kind = ActivityKind.PAY if n % 200 == 0 else rng.choice(kinds)
        rows.append(
            Activity(
                kind=kind,
                occurred_at=now - timedelta(seconds=rng.randrange(300)),
                member_id=member_id,
                community_id=community_id,
                group_id=None if kind == ActivityKind.PAY else group_id,
                target_member_id=rng.choice(seats)[1]
                if kind in (ActivityKind.REPLY, ActivityKind.LIKE)
                else None,
                amount_minor=9900 if kind == ActivityKind.PAY else None,
                currency="CNY" if kind == ActivityKind.PAY else "",
                data={"order": f"steady-{now.timestamp()}-{n}"} if kind == ActivityKind.PAY else {},
            )
        )
    Activity.objects.bulk_create(rows, batch_size=5000)
    start = time.perf_counter()
    rollup_refresh(settle=timedelta(0))
    return count, time.perf_counter() - start


def duckdb_times(
    community_id: int,
    group_id: int,
    today: Any,
    month: Any,
    quarter: Any,
    custom: Any,
    past: Any,
) -> tuple[dict[str, float], dict[str, int]]:
    """Export the raw facts to Parquet and time DuckDB answering each question by full scan."""
    import duckdb
    from django.conf import settings
    from django.db import connection

    from quanzi.analytics.calendar import day_start

    folder = Path(tempfile.mkdtemp(prefix="quanzi-parquet-"))
    pg = connection.vendor == "postgresql"
    epoch = (
        (lambda c: f"extract(epoch from {c})::bigint")
        if pg
        else (lambda c: f"CAST(strftime('%s', {c}) AS INTEGER)")
    )
    order = "data->>'order'" if pg else "json_extract(data, '$.order')"
    exports = {
        "activities": (
            f"SELECT kind, {epoch('occurred_at')}, member_id, target_member_id, group_id, "
            f"amount_minor, {order}, object_type, object_id FROM core_activity "
            f"WHERE community_id = {community_id}",
            "kind VARCHAR, t BIGINT, member_id BIGINT, target BIGINT, group_id BIGINT, "
            "amount BIGINT, ord VARCHAR, object_type VARCHAR, object_id VARCHAR",
        ),
        "seats": (
            f"SELECT s.group_id, s.member_id, {epoch('s.joined_at')}, {epoch('s.ended_at')}, "
            f"s.status FROM communities_groupmembership s JOIN communities_group g "
            f"ON g.id = s.group_id WHERE g.community_id = {community_id}",
            "group_id BIGINT, member_id BIGINT, joined BIGINT, ended BIGINT, status VARCHAR",
        ),
        "messages": (
            f"SELECT group_id, member_id, {epoch('sent_at')}, is_promotion, from_operator, "
            f"from_kol FROM analytics_chatmessage WHERE community_id = {community_id}",
            "group_id BIGINT, member_id BIGINT, t BIGINT, promo BOOLEAN, operator BOOLEAN, "
            "kol BOOLEAN",
        ),
    }
    rows: dict[str, int] = {}
    db = duckdb.connect()
    for name, (sql, schema) in exports.items():
        csv_path = folder / f"{name}.csv"
        count = 0
        with connection.cursor() as cursor, csv_path.open("w") as f:
            if pg:
                with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                    for block in copy:
                        f.write(bytes(block).decode())
            else:
                import csv

                writer = csv.writer(f)
                cursor.execute(sql)
                while chunk := cursor.fetchmany(50_000):
                    writer.writerows(["" if v is None else v for v in r] for r in chunk)
        columns = ", ".join(
            f"'{part.split()[0]}': '{part.split()[1]}'" for part in schema.split(", ")
        )
        db.execute(
            f"COPY (SELECT * FROM read_csv('{csv_path}', header=false, columns={{{columns}}})) "
            f"TO '{folder / name}.parquet' (FORMAT parquet)"
        )
        count = db.execute(f"SELECT count(*) FROM '{folder / name}.parquet'").fetchone()[0]
        rows[name] = int(count)
        csv_path.unlink()
    from zoneinfo import ZoneInfo

    offset = int(
        ZoneInfo(settings.TIME_ZONE)
        .utcoffset(day_start(today).replace(tzinfo=None))
        .total_seconds()
    )
    a, s, m = (f"'{folder / n}.parquet'" for n in ("activities", "seats", "messages"))

    def bounds(period: Any) -> tuple[int, int]:
        return int(day_start(period.start).timestamp()), int(day_start(period.end).timestamp())

    t0, t1 = bounds(month)
    q0, q1 = bounds(quarter)
    day = f"((t + {offset}) // 86400)"
    members_at = (
        f"SELECT DISTINCT member_id FROM {s} WHERE status <> 'waiting' AND joined < {{end}} "
        f"AND (ended IS NULL OR ended >= {{end}}) {{where}}"
    )

    def kpis_sql(where_seat: str, where_act: str, where_msg: str, period: Any = month) -> str:
        t0, t1 = bounds(period)
        pop = members_at.format(end=t1, where=where_seat)
        return f"""
        WITH pop AS ({pop}),
        orders AS (SELECT member_id, count(DISTINCT ord) n FROM {a} WHERE kind = 'pay'
                   AND t >= {t0} AND t < {t1} AND member_id IN (SELECT member_id FROM pop)
                   GROUP BY member_id),
        engaged AS (SELECT count(DISTINCT member_id) n FROM {a} WHERE kind IN
                    ('message','post','vote','check_in') AND t >= {t1} - 7*86400 AND t < {t1}
                    {where_act}),
        touched AS (SELECT member_id FROM {a} WHERE kind IN ('reply','mention','like')
                    AND t >= {t0} AND t < {t1} {where_act}
                    UNION SELECT target FROM {a} WHERE kind IN ('reply','mention','like')
                    AND t >= {t0} AND t < {t1} {where_act}),
        msgs AS (SELECT count(*) n, count(*) FILTER (WHERE promo AND NOT operator) ads,
                 count(*) FILTER (WHERE kol) kol FROM {m} WHERE t >= {t0} AND t < {t1} {where_msg})
        SELECT (SELECT count(*) FROM pop), (SELECT count(*) FROM orders),
               (SELECT count(*) FROM orders WHERE n >= 2), (SELECT n FROM engaged),
               (SELECT count(*) FROM pop WHERE member_id NOT IN (SELECT member_id FROM touched
                WHERE member_id IS NOT NULL)), (SELECT n FROM msgs), (SELECT ads FROM msgs),
               (SELECT kol FROM msgs)
        """

    def daily_sql(where_seat: str, where_msg: str) -> str:
        return f"""
        WITH j AS (SELECT ((joined + {offset}) // 86400) d, count(*) n FROM {s}
                   WHERE status <> 'waiting' {where_seat} GROUP BY 1),
             l AS (SELECT ((ended + {offset}) // 86400) d, count(*) n FROM {s}
                   WHERE ended IS NOT NULL {where_seat} GROUP BY 1),
             msg AS (SELECT {day} d, count(*) n, count(*) FILTER (WHERE promo) ads FROM {m}
                     WHERE t >= {q0} AND t < {q1} {where_msg} GROUP BY 1),
             days AS (SELECT d FROM j UNION SELECT d FROM l UNION SELECT d FROM msg),
             series AS (SELECT days.d, coalesce(j.n, 0) joins, coalesce(l.n, 0) leaves,
                        sum(coalesce(j.n, 0) - coalesce(l.n, 0)) OVER (ORDER BY days.d) members,
                        coalesce(msg.n, 0) messages, coalesce(msg.ads, 0) ads
                        FROM days LEFT JOIN j USING (d) LEFT JOIN l USING (d)
                        LEFT JOIN msg USING (d))
        SELECT * FROM series WHERE d >= ({q0} + {offset}) // 86400 ORDER BY d
        """

    gs = f"AND group_id = {group_id}"
    questions = {
        "kpis": kpis_sql("", "", ""),
        "kpis_custom": kpis_sql("", "", "", custom),
        "kpis_past": kpis_sql("", "", "", past),
        "group_kpis": kpis_sql(gs, gs, gs),
        "daily": daily_sql("", ""),
        "group_daily": daily_sql(gs, gs),
        "funnel": f"""
        WITH firsts AS (
          SELECT member_id,
            min(t) FILTER (WHERE kind = 'visit') visit,
            min(t) FILTER (WHERE kind = 'join') joined
          FROM {a} GROUP BY member_id),
        pays AS (SELECT member_id, ord, min(t) t FROM {a} WHERE kind = 'pay' GROUP BY 1, 2),
        ranked AS (SELECT member_id, t, row_number() OVER (PARTITION BY member_id ORDER BY t) k
                   FROM pays),
        paid AS (SELECT member_id, min(t) FILTER (WHERE k = 1) p1, min(t) FILTER (WHERE k = 2) p2
                 FROM ranked GROUP BY member_id),
        referred AS (SELECT target member_id, min(t) r FROM {a} WHERE kind = 'referral'
                     GROUP BY 1),
        f AS (SELECT firsts.*, p1, p2, r FROM firsts LEFT JOIN paid USING (member_id)
              LEFT JOIN referred USING (member_id))
        SELECT count(*) FILTER (WHERE visit >= {t0} AND visit < {t1}),
               count(*) FILTER (WHERE joined >= {t0} AND joined < {t1}),
               count(*) FILTER (WHERE joined >= {t0} AND joined < {t1} AND p1 >= {t0} AND p1 < {t1}),
               count(*) FILTER (WHERE joined >= {t0} AND joined < {t1} AND p1 >= {t0} AND p2 < {t1}
                                AND p2 >= {t0}),
               count(*) FILTER (WHERE joined >= {t0} AND joined < {t1} AND p2 >= {t0} AND p2 < {t1}
                                AND r >= {t0} AND r < {t1})
        FROM f
        """,
        "cohorts": f"""
        WITH c AS (SELECT member_id, ((min(joined) + {offset}) // 86400 + 3) // 7 w FROM {s}
                   WHERE status <> 'waiting' GROUP BY 1 HAVING min(joined) >= {q0} - 7*86400),
             act AS (SELECT DISTINCT member_id, ({day} + 3) // 7 w FROM {a} WHERE t >= {q0} - 7*86400)
        SELECT c.w, act.w - c.w k, count(DISTINCT c.member_id) FROM c JOIN act USING (member_id)
        WHERE act.w - c.w BETWEEN 0 AND 8 GROUP BY 1, 2 ORDER BY 1, 2
        """,
        "overlap": f"""
        WITH live AS (SELECT member_id, group_id FROM {s} WHERE status = 'active'),
             per AS (SELECT member_id, count(*) n FROM live GROUP BY 1),
             top AS (SELECT group_id FROM live GROUP BY 1 ORDER BY count(*) DESC LIMIT 20),
             pairs AS (SELECT x.group_id ga, y.group_id gb, count(*) shared FROM live x
                       JOIN live y ON x.member_id = y.member_id AND x.group_id < y.group_id
                       WHERE x.group_id IN (SELECT group_id FROM top)
                       AND y.group_id IN (SELECT group_id FROM top) GROUP BY 1, 2)
        SELECT (SELECT count(*) FILTER (WHERE n >= 2) FROM per), (SELECT count(*) FROM per),
               (SELECT count(*) FROM pairs)
        """,
        "rfm": f"""
        WITH o AS (SELECT member_id, ord, min(t) t, sum(amount) amount FROM {a}
                   WHERE kind = 'pay' AND t < {t1} GROUP BY 1, 2),
             b AS (SELECT member_id, max(t) last, count(*) n, sum(amount) money FROM o GROUP BY 1),
             mean AS (SELECT avg(last) l, avg(n) n, avg(money) money FROM b)
        SELECT b.last >= mean.l r, b.n >= mean.n f, b.money >= mean.money m, count(*),
               sum(b.money) FROM b, mean GROUP BY 1, 2, 3
        """,
    }
    times = {}
    for name, sql in questions.items():
        times[name] = median_time(lambda sql=sql: db.execute(sql).fetchall())
        print(f"[bench]   duckdb {name}: {times[name]:.4f} s", flush=True)
    return times, rows


if __name__ == "__main__":
    main()
