"""Benchmark: `pgshift fleet up` over 1,000 databases.

    python bench/fleet.py [--databases 1000] [--parallel 8] [--loop-sample 100]

On a dedicated embedded PostgreSQL, N databases; then, in this order:

- ceiling: the same small work as one script per database (a table and a ledger-like row in one
  transaction) through psql, `--parallel` at once (xargs -P): what the server itself allows;
- `fleet up` with one small migration pending on each database (process start-up included);
- `fleet up` with nothing pending (a new rollout over the same, now up-to-date, databases): one
  fingerprint query per target, no planning; the goal is under 10 s;
- a shell loop of `pgshift up`, one process per database, as users write it: run on the first
  `--loop-sample` databases (a second small migration) and scaled to N, since a full loop of
  1,000 processes would take longer than the rest of the benchmark together.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import compile_pgshift  # noqa: E402

V1, V2 = "20250101000001", "20250101000002"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--loop-sample", type=int, default=100)
    args = parser.parse_args()
    compile_pgshift()
    import psycopg

    from pgshift import db, embedded

    base = Path(tempfile.mkdtemp(prefix="pgshift-bench-fleet-"))
    os.chmod(base, 0o755)
    server = embedded.start(base / "pgdata")
    try:
        started = time.monotonic()
        names = [f"fb_{i:04d}" for i in range(args.databases)]
        with psycopg.connect(server, autocommit=True) as conn:
            for name in names:
                conn.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        urls = [db.with_dbname(server, n) for n in names]
        print(f"{args.databases} databases made in {time.monotonic() - started:.1f} s", flush=True)
        control = db.create_database(server, "pgshift_fleet")
        root = base / "project"
        (root / "migrations").mkdir(parents=True)
        (root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
        (root / "migrations" / f"{V1}_t.sql").write_text("CREATE TABLE t (id int PRIMARY KEY, note text);\n")
        targets = base / "targets.txt"
        targets.write_text("\n".join(urls) + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
        fleet = [sys.executable, "-m", "pgshift", "-q", "--project", str(root), "fleet", "up", "--targets",
                 str(targets), "--control-url", control, "--parallel", str(args.parallel)]

        # the ceiling: psql, one script per database, in parallel
        script = base / "ceiling.sql"
        script.write_text("BEGIN;\nCREATE TABLE t_psql (id int PRIMARY KEY, note text);\n"
                          "CREATE TABLE log_psql (version text, at timestamptz DEFAULT now());\n"
                          f"INSERT INTO log_psql (version) VALUES ('{V1}');\nCOMMIT;\n")
        psql = embedded.tool("psql")
        started = time.monotonic()
        subprocess.run(["xargs", "-P", str(args.parallel), "-I{}", psql, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-d", "{}", "-f", str(script)], input="\n".join(urls), text=True, check=True, env=env)
        ceiling = time.monotonic() - started
        print(f"ceiling: psql, one script per database, {args.parallel} at once: {ceiling:.1f} s", flush=True)

        started = time.monotonic()
        subprocess.run(fleet + ["--rollout", "pending"], check=True, env=env)
        pending = time.monotonic() - started
        print(f"fleet up, one migration pending on each: {pending:.1f} s ({pending / ceiling:.2f} x the ceiling)",
              flush=True)

        started = time.monotonic()
        subprocess.run(fleet + ["--rollout", "noop"], check=True, env=env)
        noop = time.monotonic() - started
        print(f"fleet up, nothing pending: {noop:.1f} s (goal: under 10 s)", flush=True)

        (root / "migrations" / f"{V2}_u.sql").write_text("CREATE TABLE u (id int PRIMARY KEY);\n")
        sample = urls[:args.loop_sample]
        started = time.monotonic()
        for url in sample:
            subprocess.run([sys.executable, "-m", "pgshift", "-q", "--project", str(root), "up", "--database-url", url],
                           check=True, env=env, stdout=subprocess.DEVNULL)
        loop = (time.monotonic() - started) / len(sample) * len(urls)
        print(f"shell loop of `pgshift up`, {len(sample)} databases measured, scaled to {len(urls)}: {loop:.1f} s "
              f"({loop / pending:.1f} x fleet up's time)", flush=True)
    finally:
        embedded.stop(base / "pgdata")
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
