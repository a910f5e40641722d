"""Benchmark: a one-million-row backfill, one UPDATE against pgshift's batched UPDATE,
while an application (pgbench) updates random rows of the same table.

    python bench/backfill.py [--rows 1000000] [--batch 5000] [--clients 4] [--rate 400] [--repeat 5]

On a dedicated embedded PostgreSQL, each variant --repeat times, interleaved
(these machines are shared and noisy: the median time is shown), each run on a
fresh copy of the table (created, filled, VACUUM ANALYZE, CHECKPOINT):

- single: `pgshift up` of a file holding the plain statement (one transaction);
- pgshift: `pgshift up` of the same statement under `-- pgshift:batch size=N`
  (key-range mode: many short transactions, progress recorded in each).

Both run through the same command (process start-up included in both). The
application is pgbench at a fixed rate (--rate transactions per second over
--clients connections), each transaction `UPDATE accounts SET balance = balance + 1
WHERE id = random`; its latency is taken from pgbench's per-transaction log
(measured from the scheduled start, so time spent queued behind a blocked
transaction counts), for the transactions that started while the migration ran.

Prints a markdown table. Goals (issue 7): pgshift's time at most 1.5 times the
single UPDATE's; the application's maximum latency under 0.5 s.
"""
from __future__ import annotations

import argparse
import glob
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from _common import new_database
from pgshift import embedded

STATEMENT = "UPDATE accounts SET score = balance * 2 + 1, migrated = true WHERE NOT migrated"


def fresh_table(server: str, name: str, rows: int) -> str:
    url = new_database(server, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, balance integer NOT NULL DEFAULT 0, "
                     "score integer, migrated boolean NOT NULL DEFAULT false, note text)")
        conn.execute("INSERT INTO accounts (id, balance, note) SELECT g, g %% 1000, md5(g::text) "
                     "FROM generate_series(1, %s) g", (rows,))
        conn.execute("VACUUM ANALYZE accounts")
        conn.execute("CHECKPOINT")
    return url


def make_project(root: Path, batch: int | None) -> Path:
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
    directive = f"-- pgshift:batch size={batch}\n" if batch else ""
    (root / "migrations" / "20250101000001_backfill.sql").write_text(f"{directive}{STATEMENT};\n")
    (root / "migrations" / "rollbacks" / "20250101000001_rollback.sql").write_text("SELECT 1;\n")
    return root


def start_pgbench(url: str, workdir: Path, tag: str, rows: int, clients: int, rate: int) -> subprocess.Popen:
    script = workdir / "app.sql"
    script.write_text(textwrap.dedent(f"""\
        \\set id random(1, {rows})
        UPDATE accounts SET balance = balance + 1 WHERE id = :id;
    """))
    params = conninfo_to_dict(url)
    env = dict(os.environ, PGHOST=params.get("host", ""), PGUSER=params.get("user", "postgres"),
               PGDATABASE=params["dbname"])
    if params.get("port"):
        env["PGPORT"] = str(params["port"])
    cmd = [embedded.tool("pgbench"), "-n", "-f", str(script), "-c", str(clients), "-j", str(min(clients, 2)),
           "-T", "3600", "-R", str(rate), "-l", f"--log-prefix={workdir / tag}"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir)


def read_log(workdir: Path, tag: str) -> list[tuple[float, float]]:
    """(start time, latency seconds) of every logged transaction."""
    out = []
    for path in glob.glob(str(workdir / f"{tag}.[0-9]*")):
        with open(path) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 6:
                    continue
                latency = float(parts[2]) / 1e6
                end = int(parts[4]) + int(parts[5]) / 1e6
                out.append((end - latency, latency))
    return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def autovacuums(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT coalesce(sum(autovacuum_count), 0) FROM pg_stat_user_tables "
                            "WHERE relname = 'accounts'").fetchone()[0]


def run_variant(server: str, base: Path, name: str, batch: int | None, args) -> dict:
    url = fresh_table(server, f"bench_{name}", args.rows)
    workdir = base / name
    workdir.mkdir()
    project = make_project(workdir / "project", batch)
    bench = start_pgbench(url, workdir, "app", args.rows, args.clients, args.rate)
    time.sleep(args.warmup)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGSHIFT_DATABASE_URL")}
    vacuums_before = autovacuums(url)
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "pgshift", "up", "--project", str(project), "--database-url", url],
                          capture_output=True, text=True, env=env)
    ended = time.time()
    vacuums = autovacuums(url) - vacuums_before
    time.sleep(args.cooldown)
    bench.send_signal(signal.SIGTERM)
    bench.wait(30)
    if proc.returncode != 0:
        raise SystemExit(f"{name}: pgshift up failed:\n{proc.stderr[-3000:]}")
    with psycopg.connect(url, autocommit=True) as conn:
        left = conn.execute("SELECT count(*) FROM accounts WHERE NOT migrated OR score IS NULL").fetchone()[0]
        ms, details = conn.execute("SELECT execution_ms, details FROM pgshift.migration_log "
                                   "ORDER BY id DESC LIMIT 1").fetchone()
    if left:
        raise SystemExit(f"{name}: {left} rows were not migrated")
    log = read_log(workdir, "app")
    during = [lat for start, lat in log if started <= start <= ended]
    before = [lat for start, lat in log if start < started]
    return {"name": name, "seconds": ended - started, "execution_ms": ms, "tx": len(during),
            "max": max(during) if during else float("nan"), "p99": percentile(during, 99),
            "p50": statistics.median(during) if during else float("nan"),
            "before_p99": percentile(before, 99), "autovacuums": vacuums, "during": during, "before": before, "batches": (details or {}).get("batch", {}).get("batches"),
            "output": proc.stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=int, default=400, help="application transactions per second, in all")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each variant, interleaved; medians shown")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--cooldown", type=float, default=2.0)
    parser.add_argument("--verbose", action="store_true", help="print pgshift's output of the last run")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="pgshift-bench-backfill-"))
    os.chmod(base, 0o755)
    pgdata = base / "pgdata"
    server = embedded.start(pgdata)
    runs: dict[str, list[dict]] = {"single": [], "pgshift": []}
    try:
        with psycopg.connect(server) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        for i in range(args.repeat):
            # interleaved, alternating which goes first: the machine's noise falls on both
            order = [("single", None), ("pgshift", args.batch)]
            for name, batch in (order if i % 2 == 0 else order[::-1]):
                result = run_variant(server, base, f"{name}{i}", batch, args)
                runs[name].append(result)
                print(f"run {i + 1} {name}: {result['seconds']:.2f} s, app max {result['max'] * 1000:.0f} ms, "
                      f"p99 {result['p99'] * 1000:.1f} ms", file=sys.stderr, flush=True)
    finally:
        embedded.stop(pgdata)
    if args.verbose:
        print(runs["pgshift"][-1]["output"], file=sys.stderr)

    def summary(rs: list[dict]) -> dict:
        pooled = [lat for r in rs for lat in r["during"]]
        return {"seconds": statistics.median(r["seconds"] for r in rs),
                "times": [r["seconds"] for r in rs], "tx": sum(r["tx"] for r in rs),
                "max": max(r["max"] for r in rs), "p99": percentile(pooled, 99),
                "p50": statistics.median(pooled) if pooled else float("nan"),
                "batches": rs[-1]["batches"], "autovacuums": sum(r["autovacuums"] for r in rs),
                "before_p99": percentile([lat for r in rs for lat in r["before"]], 99)}

    single, batched = summary(runs["single"]), summary(runs["pgshift"])
    ratio = batched["seconds"] / single["seconds"]
    print(f"### Backfill of {args.rows:,} rows while pgbench updates random rows "
          f"({args.clients} clients, {args.rate} tx/s)\n")
    print(f"PostgreSQL {version} (embedded), {os.cpu_count()} CPUs; statement: `{STATEMENT}`; "
          f"{args.repeat} interleaved runs of each, median time (each run's time in brackets); latencies over "
          "the application transactions that started while the migration ran, all runs pooled.\n")
    print("| variant | total time (median) | vs single | app tx during it | app max latency | app p99 | app p50 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r, label in ((single, "one UPDATE (one transaction)"),
                     (batched, f"pgshift, batch size={args.batch} ({batched['batches']} batches)")):
        times = ", ".join(f"{t:.2f}" for t in r["times"])
        print(f"| {label} | {r['seconds']:.2f} s [{times}] | {r['seconds'] / single['seconds']:.2f}× | {r['tx']:,} | "
              f"{r['max'] * 1000:,.0f} ms | {r['p99'] * 1000:,.1f} ms | {r['p50'] * 1000:,.1f} ms |")
    print()
    print(f"Application p99 before the migrations started: {single['before_p99'] * 1000:.1f} ms, "
          f"{batched['before_p99'] * 1000:.1f} ms. Autovacuum runs on the table during the migrations: "
          f"{single['autovacuums']} (single), {batched['autovacuums']} (pgshift).")
    print(f"Goals: pgshift at most 1.5× the single UPDATE: {ratio:.2f}× "
          f"({'met' if ratio <= 1.5 else 'NOT met'}); the application's maximum latency under 0.5 s with "
          f"pgshift: {batched['max'] * 1000:.0f} ms ({'met' if batched['max'] < 0.5 else 'NOT met'}).")


if __name__ == "__main__":
    main()
