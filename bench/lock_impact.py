"""Benchmark: what an `ALTER TABLE ... ADD COLUMN` behind a long transaction does to traffic.

    python bench/lock_impact.py [--reps 3] [--duration 25] [--out results.json]

One run, on a dedicated embedded PostgreSQL, with the variants interleaved
(a, b, c, d, a, b, c, d, ...) and the median of the repetitions reported, because
these machines are shared and noisy. In every run:

- pgbench (the embedded package's) runs 4 clients for ``--duration`` seconds, each
  transaction selecting and updating a random row of a 100,000-row table; every
  transaction is logged (``-l``) and all figures come from that log;
- at 5 s a long reader opens a transaction on the table (ACCESS SHARE) and holds it 8 s;
- at 6 s the migration `ALTER TABLE accounts ADD COLUMN note text` starts, applied by
  (a) plain psql, which queues for ACCESS EXCLUSIVE and every client queues behind it;
  (b) a minimal reference loop: lock_timeout 200 ms, retry with capped backoff;
  (c) `pgshift up --lock-timeout 200ms`;
  (d) pgshift with the protected-environment defaults (2 s lock timeout, look before
      you queue with a 5 min blocker wait, preflight checks and the monitor; `--yes --no-backup`);
  (e) the same with `--blocker-wait 0`: no look, each attempt queues for up to 2 s (what
      the protected defaults did before the look).

Per variant: the applications' maximum, p99 and p99.9 latency, transactions over 1 s,
failed transactions (failed in the log, plus aborted clients), seconds below 10 % of
the baseline throughput (the median per-second rate between 1 s and 5 s), when the
migration committed (seconds after pgbench started) and how long after the reader's end.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from _common import new_database
from pgshift import embedded
from pgshift.db import drop_database
from pgshift.safety.backup import child_env

ROWS = 100_000
CLIENTS = 4
READER_AT, READER_HOLDS, MIGRATION_AT = 5.0, 8.0, 6.0
ALTER = "ALTER TABLE accounts ADD COLUMN note text"
SCRIPT = f"""\\set aid random(1, {ROWS})
BEGIN;
SELECT abalance FROM accounts WHERE aid = :aid;
UPDATE accounts SET abalance = abalance + 1 WHERE aid = :aid;
END;
"""
VARIANTS = {
    "a": "(a) plain psql",
    "b": "(b) reference loop: lock_timeout 200 ms, capped backoff",
    "c": "(c) pgshift up --lock-timeout 200ms",
    "d": "(d) pgshift, protected defaults (2 s, look before queueing)",
    "e": "(e) pgshift, protected defaults, --blocker-wait 0",
}


def fresh_db(server: str, name: str) -> str:
    url = new_database(server, name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (aid integer PRIMARY KEY, abalance integer NOT NULL DEFAULT 0, "
                     "filler text)")
        conn.execute(f"INSERT INTO accounts (aid, filler) SELECT g, repeat('x', 80) FROM generate_series(1, {ROWS}) g")
        conn.execute("VACUUM ANALYZE accounts")
    return url


# --- the migration, four ways ------------------------------------------------------------------

def migrate_psql(url: str, work: Path) -> tuple[float, int]:
    env, extra = child_env(url, "psql-migration")
    subprocess.run([embedded.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", *extra, "-c", ALTER], env=env,
                   check=True, capture_output=True)
    return time.time(), 0


def migrate_reference(url: str, work: Path) -> tuple[float, int]:
    """The smallest loop that does it right: short lock_timeout, retry on 55P03, capped backoff."""
    with psycopg.connect(url, autocommit=True, application_name="reference-loop") as conn:
        conn.execute("SET lock_timeout = '200ms'")
        delay, retries = 0.1, 0
        while True:
            try:
                conn.execute(ALTER)
                return time.time(), retries
            except psycopg.errors.LockNotAvailable:
                retries += 1
                time.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, 1.0)


def _project(work: Path, protected: bool) -> Path:
    root = work / ("project_protected" if protected else "project")
    if not root.exists():
        (root / "migrations" / "rollbacks").mkdir(parents=True)
        (root / "migrations" / "20250101000001_add_note.sql").write_text(ALTER + ";\n")
        (root / "migrations" / "rollbacks" / "20250101000001_rollback_add_note.sql").write_text(
            "ALTER TABLE accounts DROP COLUMN note;\n")
        config = "[pgshift]\n[env.dev]\n"
        if protected:
            config += "[env.prod]\nurl = \"${BENCH_PROD_URL}\"\nprotected = true\nbackup_dir = \"backups\"\n"
        (root / "pgshift.toml").write_text(config)
    return root


def _ledger_commit(url: str) -> tuple[float, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        at, retries = conn.execute(
            "SELECT extract(epoch FROM completed_at), coalesce((details->>'lock_retries')::int, 0) "
            "FROM pgshift.migration_log WHERE status = 'completed' ORDER BY id DESC LIMIT 1").fetchone()
    return float(at), retries


def _pgshift(args: list[str], url: str, env_extra: dict) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGSHIFT_DATABASE_URL")}
    env.update(env_extra)
    proc = subprocess.run([sys.executable, "-m", "pgshift", *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"pgshift failed ({proc.returncode}):\n{proc.stderr}")
    return _ledger_commit(url)


def migrate_pgshift(url: str, work: Path) -> tuple[float, int]:
    root = _project(work, protected=False)
    return _pgshift(["up", "--lock-timeout", "200ms", "--project", str(root), "--database-url", url], url, {})


def migrate_pgshift_protected(url: str, work: Path, *extra: str) -> tuple[float, int]:
    root = _project(work, protected=True)
    return _pgshift(["--env", "prod", "up", "--yes", "--no-backup", *extra, "--project", str(root)], url,
                    {"BENCH_PROD_URL": url})


def migrate_pgshift_protected_no_look(url: str, work: Path) -> tuple[float, int]:
    return migrate_pgshift_protected(url, work, "--blocker-wait", "0")


MIGRATE = {"a": migrate_psql, "b": migrate_reference, "c": migrate_pgshift, "d": migrate_pgshift_protected,
           "e": migrate_pgshift_protected_no_look}


# --- one run ---------------------------------------------------------------------------------------

def run_once(server: str, variant: str, rep: int, duration: float, work: Path) -> dict:
    name = f"bench_{variant}_{rep}"
    url = fresh_db(server, name)
    logdir = work / f"log_{variant}_{rep}"
    logdir.mkdir()
    script = work / "script.sql"
    script.write_text(SCRIPT)
    env, extra = child_env(url, "pgbench")
    cmd = [embedded.tool("pgbench"), "-n", "-c", str(CLIENTS), "-j", "2", "-T", str(int(duration)), "-f",
           str(script), "-l", f"--log-prefix={logdir / 'tx'}", *extra]
    if not extra:
        cmd.append(conninfo_to_dict(url)["dbname"])
    t0 = time.time()
    bench = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result: dict = {}

    def reader():
        time.sleep(max(0.0, t0 + READER_AT - time.time()))
        with psycopg.connect(url, application_name="long-reader") as conn:
            conn.execute("SELECT count(*) FROM accounts").fetchone()
            result["reader_opened"] = time.time() - t0
            time.sleep(max(0.0, t0 + READER_AT + READER_HOLDS - time.time()))
            conn.commit()
            result["reader_closed"] = time.time() - t0

    def migration():
        time.sleep(max(0.0, t0 + MIGRATION_AT - time.time()))
        try:
            at, retries = MIGRATE[variant](url, work)
            result["committed"], result["retries"] = at - t0, retries
        except Exception as exc:  # noqa: BLE001 - reported in the table
            result["migration_error"] = str(exc)[-500:]

    threads = [threading.Thread(target=reader), threading.Thread(target=migration)]
    for t in threads:
        t.start()
    out, err = bench.communicate()
    for t in threads:
        t.join(120)
    metrics = analyse(sorted(glob.glob(str(logdir / "tx*"))), t0, duration, err)
    metrics.update(result)
    if result.get("committed") is not None and result.get("reader_closed") is not None:
        metrics["after_reader"] = result["committed"] - result["reader_closed"]
    metrics["pgbench_exit"] = bench.returncode
    drop_database(server, name)
    shutil.rmtree(logdir, ignore_errors=True)
    return metrics


def analyse(logs: list[str], t0: float, duration: float, stderr: str) -> dict:
    latencies: list[float] = []
    failed = 0
    per_second = [0] * (int(duration) + 2)
    for path in logs:
        with open(path) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 6:
                    continue
                done = int(parts[4]) + int(parts[5]) / 1e6
                if not parts[2].isdigit():   # "failed", "serialization", "deadlock"
                    failed += 1
                    continue
                latencies.append(int(parts[2]) / 1000.0)   # ms
                second = int(done - t0)
                if 0 <= second < len(per_second):
                    per_second[second] += 1
    aborted = stderr.count(" aborted ")
    latencies.sort()
    full = range(1, int(duration) - 1)   # whole seconds, not the ramp-up or the tail
    baseline = statistics.median(per_second[s] for s in range(1, int(READER_AT)))
    below = sum(1 for s in full if per_second[s] < 0.1 * baseline)
    return {
        "transactions": len(latencies),
        "max_ms": latencies[-1] if latencies else None,
        "p99_ms": pct(latencies, 0.99),
        "p999_ms": pct(latencies, 0.999),
        "over_1s": sum(1 for x in latencies if x > 1000),
        "failed": failed + aborted,
        "baseline_tps": baseline,
        "seconds_below_10pct": below,
        "per_second": per_second[: int(duration)],
    }


def pct(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


# --- the table ----------------------------------------------------------------------------------------

def med(runs: list[dict], key: str):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def table(results: dict[str, list[dict]], reps: int) -> str:
    head = ("| variant | max latency | p99 | p99.9 | tx over 1 s | failed tx | s below 10% | migration committed at |"
            " after the reader's end | lock retries | baseline tps |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for key, label in VARIANTS.items():
        runs = results.get(key, [])
        if not runs:
            continue
        committed = med(runs, "committed")
        after = med(runs, "after_reader")
        errors = [r["migration_error"] for r in runs if r.get("migration_error")]
        rows.append(
            f"| {label} | {med(runs, 'max_ms'):,.0f} ms | {med(runs, 'p99_ms'):,.1f} ms | "
            f"{med(runs, 'p999_ms'):,.0f} ms | {med(runs, 'over_1s'):g} | {med(runs, 'failed'):g} | "
            f"{med(runs, 'seconds_below_10pct'):g} | "
            + (f"{committed:.1f} s" if committed is not None else "did not commit")
            + (f" ({len(errors)} failed)" if errors else "")
            + (f" | {after:.2f} s" if after is not None else " | –")
            + f" | {med(runs, 'retries'):g} | {med(runs, 'baseline_tps'):,.0f} |")
    return head + "\n" + "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=25.0)
    ap.add_argument("--variants", default="abcde")
    ap.add_argument("--out", default=None, help="write every run's figures here (JSON)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pgshift-lock-bench-"))
    os.chmod(work, 0o755)
    pgdata = work / "pgdata"
    server = embedded.start(pgdata)
    results: dict[str, list[dict]] = {v: [] for v in args.variants}
    try:
        with psycopg.connect(server) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        pgbench_version = subprocess.run([embedded.tool("pgbench"), "--version"], capture_output=True,
                                         text=True).stdout.strip()
        print(f"PostgreSQL {version}, {pgbench_version}, {os.cpu_count()} CPUs; {CLIENTS} clients, "
              f"{args.duration:g} s per run, reader at {READER_AT:g} s for {READER_HOLDS:g} s, migration at "
              f"{MIGRATION_AT:g} s; {args.reps} repetitions, interleaved; medians", flush=True)
        for rep in range(args.reps):
            for v in args.variants:
                m = run_once(server, v, rep, args.duration, work)
                results[v].append(m)
                print(f"  rep {rep + 1} {VARIANTS[v]}: max {m['max_ms']:.0f} ms, p99 {m['p99_ms']:.1f} ms, "
                      f"over 1 s {m['over_1s']}, failed {m['failed']}, below 10% {m['seconds_below_10pct']} s, "
                      f"committed {m.get('committed', float('nan')):.1f} s "
                      f"({m.get('after_reader', float('nan')):.2f} s after the reader) after {m.get('retries', 0)} retries"
                      + (f", ERROR {m['migration_error']}" if m.get("migration_error") else ""), flush=True)
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(results, args.reps))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
