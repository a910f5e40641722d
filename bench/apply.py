"""Benchmark: applying 1,000 small migrations, `status`, and `--help`.

    python bench/apply.py [--migrations 1000] [--runs 5]

Every figure comes from this one run, on a dedicated embedded PostgreSQL, with
the variants interleaved (floor, pgshift, pgshift, floor, ...) and medians taken,
because these machines are shared and noisy:

- floor: psql applying every file in one session and ONE transaction, no bookkeeping;
- per-file floor: psql in one session, each file in its own transaction (BEGIN/COMMIT
  around it), still no bookkeeping: what per-migration atomicity itself costs;
- pgshift: `pgshift up`, every migration in its own transaction with its ledger event
  (process start-up included);
- `pgshift status` on the fully applied database, and on a project of 10,000 files;
- `pgshift --help`, against `python -c pass` (the interpreter's own start-up).

pgshift is byte-compiled first, as an installed wheel is (see _common.compile_pgshift).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from _common import compile_pgshift, new_database
from pgshift import embedded
from pgshift.db import with_dbname

PGSHIFT = [sys.executable, "-m", "pgshift"]
SCRIPT = shutil.which("pgshift") or ""


def migration(i: int) -> str:
    return (f"CREATE TABLE t_{i} (id bigint PRIMARY KEY, a integer NOT NULL, b text, c timestamptz DEFAULT now(), "
            f"d numeric(10, 2));\n"
            f"CREATE INDEX t_{i}_a_idx ON t_{i} (a);\n"
            f"INSERT INTO t_{i} (id, a, b, d) VALUES (1, 1, 'one', 1.5), (2, 2, 'two', 2.5), (3, 3, 'three', 3.5);\n")


def make_project(root: Path, n: int) -> Path:
    mig = root / "migrations"
    (mig / "rollbacks").mkdir(parents=True)
    (root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
    for i in range(n):
        version = f"{20250101000000 + i:014d}"
        (mig / f"{version}_create_t_{i}.sql").write_text(migration(i))
    return root


def timed(cmd, env=None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd[:6]))} ...\n{proc.stderr[-2000:]}")
    return elapsed


def libpq_env(url: str) -> dict:
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    env.update(PGHOST=params["host"], PGDATABASE=params["dbname"], PGUSER=params.get("user", "postgres"))
    return env


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--migrations", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--status-files", type=int, default=10_000)
    args = ap.parse_args()
    compile_pgshift()

    work = Path(tempfile.mkdtemp(prefix="pgshift-bench-"))
    os.chmod(work, 0o755)
    pgdata = work / "pgdata"
    server = embedded.start(pgdata)
    psql = embedded.tool("psql")
    try:
        project = make_project(work / "project", args.migrations)
        files = sorted((project / "migrations").glob("*.sql"))
        floor_times, pgshift_times, pertx_times = [], [], []
        pertx_script = work / "pertx.sql"
        pertx_script.write_text("".join(f"BEGIN;\n{f.read_text()}COMMIT;\n" for f in files))
        for run in range(args.runs):
            order = ["floor", "pertx", "pgshift"] if run % 2 == 0 else ["pgshift", "pertx", "floor"]
            for variant in order:
                url = new_database(server, f"bench_{variant}_{run}")
                if variant == "floor":
                    cmd = [psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1"]
                    for f in files:
                        cmd += ["-f", str(f)]
                    floor_times.append(timed(cmd, env=libpq_env(url)))
                elif variant == "pertx":
                    pertx_times.append(timed([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(pertx_script)],
                                             env=libpq_env(url)))
                else:
                    pgshift_times.append(timed(PGSHIFT + ["-q", "up", "--project", str(project), "--database-url", url]))
                    with psycopg.connect(url) as conn:
                        done = conn.execute("SELECT count(*) FROM pgshift.migration_log WHERE status = 'completed'"
                                            ).fetchone()[0]
                    assert done == args.migrations, done
        floor, ours = statistics.median(floor_times), statistics.median(pgshift_times)
        pertx = statistics.median(pertx_times)
        # the machine's speed drifts between runs: the ratios are taken within each run, then the median
        ratio_floor = statistics.median(o / f for o, f in zip(pgshift_times, floor_times, strict=True))
        ratio_pertx = statistics.median(o / p for o, p in zip(pgshift_times, pertx_times, strict=True))
        pertx_floor = statistics.median(p / f for p, f in zip(pertx_times, floor_times, strict=True))

        applied_url = with_dbname(server, f"bench_pgshift_{args.runs - 1}")
        big = make_project(work / "big", args.status_files)
        big_url = new_database(server, "bench_status_big")
        status_applied, status_big, helps, baseline = [], [], [], []
        for _ in range(args.runs):
            baseline.append(timed([sys.executable, "-c", "pass"]))
            status_applied.append(timed(PGSHIFT + ["status", "--project", str(project), "--database-url", applied_url]))
            status_big.append(timed(PGSHIFT + ["status", "--project", str(big), "--database-url", big_url]))
            helps.append(timed(([SCRIPT] if SCRIPT else PGSHIFT) + ["--help"]))
        py = statistics.median(baseline)

        print(f"\n## pgshift apply benchmark ({args.migrations} migrations, median of {args.runs} interleaved runs; "
              "ratios are medians of the ratios within each run)\n")
        print("| measurement | median | ratio |")
        print("|---|---:|---:|")
        print(f"| floor: psql, all files in one transaction | {floor:.2f} s | 1.00 |")
        print(f"| psql, each file in its own transaction (no bookkeeping) | {pertx:.2f} s | {pertx_floor:.2f} × floor |")
        print(f"| pgshift up: a transaction and a ledger event per migration | {ours:.2f} s | {ratio_floor:.2f} × floor, "
              f"{ratio_pertx:.2f} × per-file floor |")
        print(f"| pgshift status, {args.migrations} applied | {statistics.median(status_applied):.3f} s | "
              f"{statistics.median(status_applied) / py:.1f} × python start-up |")
        print(f"| pgshift status, {args.status_files} files | {statistics.median(status_big):.3f} s | "
              f"{statistics.median(status_big) / py:.1f} × python start-up |")
        print(f"| pgshift --help | {statistics.median(helps):.3f} s | {statistics.median(helps) / py:.1f} × python start-up |")
        print(f"| python -c pass (baseline) | {py:.3f} s | 1.0 |")
        print(f"\nall runs: floor {[round(t, 2) for t in floor_times]}, per-file {[round(t, 2) for t in pertx_times]}, "
              f"pgshift {[round(t, 2) for t in pgshift_times]}")
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
