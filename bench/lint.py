"""Benchmark: pgshift lint against squawk on 1,000 generated migration files.

Each file has six statements: a table, an index, a foreign key, a SET NOT NULL,
an UPDATE and a PL/pgSQL function. pgshift is timed in-process (``lint()``, file
reading included) and as a command (``pgshift lint`` when the CLI has it, else
``python -m pgshift.lint``); squawk (the ``squawk`` binary of the squawk-cli
package, a benchmark-only dependency) as a command. Runs are interleaved, the
median of --runs (at least 3) is reported, with the wall-time ratios and the
findings each tool reports per rule, side by side.

    python bench/lint.py [--files 1000] [--runs 5] [--keep DIR]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import compile_pgshift

TEMPLATE = """\
-- Migration: {version}_{name}.sql
-- Description: generated benchmark migration {i}

CREATE TABLE IF NOT EXISTS shipments_{i} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL,
    order_id bigint NOT NULL,
    carrier text NOT NULL DEFAULT 'ups',
    shipped_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_{i}_customer_idx ON orders_{i} (customer_id, created_at DESC) WHERE deleted_at IS NULL;

ALTER TABLE orders_{i} ADD CONSTRAINT orders_{i}_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;

ALTER TABLE orders_{i} ALTER COLUMN customer_id SET NOT NULL;

UPDATE orders_{i} SET status = 'pending' WHERE status IS NULL;

CREATE OR REPLACE FUNCTION orders_{i}_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO order_events (order_id, status, at) VALUES (NEW.id, NEW.status, now());
    END IF;
    RETURN NEW;
END;
$$;
"""

# pgshift rule -> the squawk rule that reports the same problem (for the side-by-side table)
EQUIVALENT = {
    "require-concurrent-index": "require-concurrent-index-creation",
    "fk-not-valid": "adding-foreign-key-constraint",
    "set-not-null": "adding-not-nullable-field",
    "require-lock-timeout": "require-lock-timeout",
    "prefer-bigint-pk": "prefer-bigint-over-int",
    "prefer-identity": "prefer-identity",
    "prefer-text": "prefer-text-field",
    "prefer-timestamptz": "prefer-timestamptz",
    "ban-char": "ban-char-field",
    "add-column-volatile-default": "adding-field-with-default",
    "add-column-required": "adding-required-field",
    "alter-column-type": "changing-column-type",
    "rename-column": "renaming-column",
    "rename-table": "renaming-table",
    "drop-column": "ban-drop-column",
    "drop-table": "ban-drop-table",
    "add-unique-constraint": "disallowed-unique-constraint",
    "check-not-valid": "constraint-missing-not-valid",
    "concurrently-in-transaction": "ban-concurrent-index-creation-in-transaction",
    "require-concurrent-drop-index": "require-concurrent-index-deletion",
    "require-concurrent-reindex": "require-concurrent-reindex",
    "detach-partition": "require-concurrent-partition-detach",
    "truncate": "ban-truncate-cascade",
    "tx-hygiene": "transaction-nesting",
    "syntax-error": "syntax-error",
}


# squawk rules that report, in another way, a problem a pgshift rule above reports
ALSO = {"constraint-missing-not-valid": "fk-not-valid / check-not-valid"}


def generate(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2025, 1, 1)
    paths = []
    for i in range(count):
        version = (start + dt.timedelta(minutes=i)).strftime("%Y%m%d%H%M%S")
        name = f"orders_change_{i}"
        path = folder / f"{version}_{name}.sql"
        path.write_text(TEMPLATE.format(version=version, name=name, i=i))
        paths.append(path)
    return paths


def pgshift_command() -> list[str]:
    """`pgshift lint` when the CLI has it, else the lint package's own entry point."""
    exe = shutil.which("pgshift")
    if exe:
        probe = subprocess.run([exe, "lint", "--help"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [exe, "lint"]
    return [sys.executable, "-m", "pgshift.lint"]


def squawk_command() -> list[str]:
    exe = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(exe).exists():
        sys.exit("squawk not found: pip install squawk-cli (a benchmark-only dependency)")
    return [exe]


def run_inprocess(paths: list[Path]):
    from pgshift.lint.engine import LintInput, lint  # noqa: PLC0415

    c0 = time.process_time()
    t0 = time.perf_counter()
    # as `pgshift lint migrations` sees them: no rollbacks folder, so no rollback files
    inputs = [LintInput(p.as_posix(), p.read_text(encoding="utf-8"), has_rollback=False) for p in paths]
    report = lint(inputs)
    return time.perf_counter() - t0, time.process_time() - c0, report


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(cmd: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    return time.perf_counter() - t0, _children_cpu() - c0, proc


def squawk_counts(stdout: str) -> Counter:
    counts: Counter = Counter()
    try:
        data = json.loads(stdout or "[]")
    except json.JSONDecodeError:
        return counts
    for item in data:
        counts[item.get("rule_name") or item.get("rule") or "?"] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    runs = max(3, args.runs)
    compile_pgshift()

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="pgshift-bench-lint-"))
    folder = tmp / "migrations"
    paths = generate(folder, args.files)
    pg_cmd = pgshift_command() + ["migrations", "--format", "json"]
    sq_cmd = squawk_command() + ["--reporter", "json", "migrations/*.sql"]

    names = ("pgshift lint() in-process", "pgshift command", "squawk command")
    times: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    report = pg_proc = sq_proc = None
    try:
        for _ in range(runs):  # interleaved, so that machine noise hits all three alike
            elapsed, used, report = run_inprocess(paths)
            times[names[0]].append(elapsed)
            cpu[names[0]].append(used)
            elapsed, used, pg_proc = run_command(pg_cmd, tmp)
            times[names[1]].append(elapsed)
            cpu[names[1]].append(used)
            elapsed, used, sq_proc = run_command(sq_cmd, tmp)
            times[names[2]].append(elapsed)
            cpu[names[2]].append(used)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    if pg_proc.returncode not in (0, 1):
        sys.exit(f"pgshift command failed ({pg_proc.returncode}): {pg_proc.stderr[-2000:]}")
    if sq_proc.returncode not in (0, 1):
        sys.exit(f"squawk failed ({sq_proc.returncode}): {sq_proc.stderr[-2000:]}")

    statements = report.statements
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{args.files} files, {statements} statements, median of {runs} interleaved runs")
    print(f"  pgshift command: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(pg_cmd))}")
    print(f"  squawk command:  squawk {' '.join(sq_cmd[1:])}  ({_version(squawk_command())})")
    print()
    print(f"{'wall time, seconds':30} {'median':>9} {'min':>9} {'max':>9} {'files/s':>9} {'CPU s':>9}")
    for key, values in times.items():
        print(f"{key:30} {med[key]:9.3f} {min(values):9.3f} {max(values):9.3f} {args.files / med[key]:9.0f}"
              f" {med_cpu[key]:9.3f}")
    print()
    squawk = med["squawk command"]
    print(f"wall-time ratio pgshift command / squawk:    {med['pgshift command'] / squawk:.2f}x")
    print(f"wall-time ratio pgshift in-process / squawk: {med['pgshift lint() in-process'] / squawk:.2f}x")
    print(f"CPU-time ratio pgshift command / squawk:     {med_cpu['pgshift command'] / med_cpu['squawk command']:.2f}x")
    print("(goal: pgshift at most 2x squawk)")
    print()

    pg_counts = Counter(f.rule for f in report.all_findings())
    cli_counts = Counter(f["rule"] for f in json.loads(pg_proc.stdout)["findings"])
    if cli_counts != Counter(f.rule for f in report.findings):
        print(f"note: the command reported {dict(cli_counts)}, lint() {dict(Counter(f.rule for f in report.findings))}")
    sq_counts = squawk_counts(sq_proc.stdout)
    paired_squawk = set()
    rows = []
    for rule, n in sorted(pg_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        other = EQUIVALENT.get(rule)
        m = sq_counts.get(other, 0) if other else 0
        if other in sq_counts:
            paired_squawk.add(other)
        rows.append((rule, n, other if other in sq_counts else "-", m))
    for other, m in sorted(sq_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if other not in paired_squawk:
            mine = next((k for k, v in EQUIVALENT.items() if v == other), None)
            label = f"({ALSO[other]})" if other in ALSO else ("-" if mine is None else mine)
            rows.append((label, pg_counts.get(mine, 0) if mine else 0, other, m))
    print(f"{'pgshift rule':36} {'count':>6}   {'squawk rule':42} {'count':>6}")
    for mine, n, other, m in rows:
        print(f"{mine:36} {n:6}   {other:42} {m:6}")
    print(f"{'total':36} {sum(pg_counts.values()):6}   {'':42} {sum(sq_counts.values()):6}")
    return 0


def _version(cmd: list[str]) -> str:
    proc = subprocess.run(cmd + ["--version"], capture_output=True, text=True)
    return proc.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
