"""Benchmark: pgshift lint against squawk on 1,000 generated migration files.

Each file has six statements: a table, an index, a foreign key, a SET NOT NULL,
an UPDATE and a PL/pgSQL function. pgshift is timed in-process (``lint()``, file
reading included) and as a command (``pgshift lint`` when the CLI has it, else
``python -m pgshift.lint``); squawk (the ``squawk`` binary of the squawk-cli
package, a benchmark-only dependency) as a command. Both commands are run as
installed beside this interpreter (a version manager's shim in front of either,
pyenv's costs 50 ms a start, is left out). Runs are interleaved, the median of
--runs (at least 3) is reported, with the wall-time ratios, what one file costs
each command (its start-up) and the findings each tool reports per rule, side
by side. ``pgshift command`` lints every file (``--no-cache``); ``pgshift command, cache
read`` is the same command reading the lint cache a first run filled (the files made an
hour old first, as a history's are): what a pre-commit hook or a CI job with a kept cache
pays; its output is checked to be the same, byte for byte.

``--break-even`` measures instead where forked workers start to pay in
``pgshift lint`` (``commands.lint.FORK_FROM``): one process against the workers
for growing numbers of files, in-process.

    python bench/lint.py [--files 1000] [--runs 5] [--keep DIR]
    python bench/lint.py --break-even [--runs 15]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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


def _installed(name: str) -> str | None:
    """The console script *name* installed beside this interpreter (where pip puts it), else
    the first on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def pgshift_command() -> list[str]:
    """`pgshift lint` when the CLI has it, else the lint package's own entry point."""
    exe = _installed("pgshift")
    if exe:
        probe = subprocess.run([exe, "lint", "--help"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [exe, "lint"]
    return [sys.executable, "-m", "pgshift.lint"]


def squawk_command() -> list[str]:
    exe = _installed("squawk")
    if exe is None or not Path(exe).exists():
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
    parser.add_argument("--break-even", action="store_true", help="where forked workers start to pay")
    args = parser.parse_args()
    runs = max(3, args.runs)
    compile_pgshift()

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="pgshift-bench-lint-"))
    folder = tmp / "migrations"
    paths = generate(folder, args.files)
    if args.break_even:
        try:
            return break_even(paths, runs)
        finally:
            if args.keep is None:
                shutil.rmtree(tmp, ignore_errors=True)
    # the files as a history's are: written long before the lint (the cache keeps no file
    # written in the last two seconds, which a coarse clock could not tell from an edit)
    old = time.time() - 3600
    for path in paths:
        os.utime(path, (old, old))
    has_cache = "--no-cache" in subprocess.run(pgshift_command() + ["--help"], capture_output=True,
                                               text=True).stdout      # not a pgshift before the cache
    no_cache = ["--no-cache"] if has_cache else []
    pg_cmd = pgshift_command() + ["migrations", "--format", "json", *no_cache]
    cached_cmd = pgshift_command() + ["migrations", "--format", "json"]
    sq_cmd = squawk_command() + ["--reporter", "json", "migrations/*.sql"]
    one = paths[0].relative_to(tmp).as_posix()
    if has_cache:
        subprocess.run(cached_cmd, capture_output=True, cwd=tmp)    # fills the cache: the runs below read it
    commands = {"pgshift command": pg_cmd, "squawk command": sq_cmd,
                "pgshift command, cache read": cached_cmd,
                "pgshift command, 1 file": pgshift_command() + [one, "--format", "json", *no_cache],
                "squawk command, 1 file": squawk_command() + ["--reporter", "json", one]}

    names = ("pgshift lint() in-process", *commands)
    times: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    report = None
    procs: dict[str, subprocess.CompletedProcess] = {}
    try:
        for _ in range(runs):  # interleaved, so that machine noise hits all alike
            elapsed, used, report = run_inprocess(paths)
            times[names[0]].append(elapsed)
            cpu[names[0]].append(used)
            for name, cmd in commands.items():
                elapsed, used, procs[name] = run_command(cmd, tmp)
                times[name].append(elapsed)
                cpu[name].append(used)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    pg_proc, sq_proc = procs["pgshift command"], procs["squawk command"]
    if procs["pgshift command, cache read"].stdout != pg_proc.stdout:
        sys.exit("the cache changed what pgshift printed")
    if pg_proc.returncode not in (0, 1):
        sys.exit(f"pgshift command failed ({pg_proc.returncode}): {pg_proc.stderr[-2000:]}")
    if sq_proc.returncode not in (0, 1):
        sys.exit(f"squawk failed ({sq_proc.returncode}): {sq_proc.stderr[-2000:]}")

    statements = report.statements
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{args.files} files, {statements} statements, median of {runs} interleaved runs")
    print(f"  pgshift command: {' '.join(pg_cmd)}")
    print(f"  squawk command:  {' '.join(sq_cmd)}  ({_version(squawk_command())})")
    print()
    print(f"{'wall time, seconds':30} {'median':>9} {'min':>9} {'max':>9} {'files/s':>9} {'CPU s':>9}")
    for key, values in times.items():
        files = 1 if key.endswith("1 file") else args.files
        print(f"{key:30} {med[key]:9.3f} {min(values):9.3f} {max(values):9.3f} {files / med[key]:9.0f}"
              f" {med_cpu[key]:9.3f}")
    print()
    squawk = med["squawk command"]
    print(f"wall-time ratio pgshift command / squawk:    {med['pgshift command'] / squawk:.2f}x")
    print(f"wall-time ratio pgshift in-process / squawk: {med['pgshift lint() in-process'] / squawk:.2f}x")
    print(f"wall-time ratio pgshift, cache read / squawk: {med['pgshift command, cache read'] / squawk:.2f}x")
    print(f"CPU-time ratio pgshift command / squawk:     {med_cpu['pgshift command'] / med_cpu['squawk command']:.2f}x")
    print(f"start-up (one file): pgshift {med['pgshift command, 1 file']:.3f} s, "
          f"squawk {med['squawk command, 1 file']:.3f} s")
    print("(goal: pgshift at most 1.5x squawk)")
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


def break_even(paths: list[Path], runs: int) -> int:
    """One process against forked workers, for growing numbers of files (`commands.lint` itself,
    with its threshold moved out of the way each time); wall time, medians of *runs*."""
    from pgshift import parallel  # noqa: PLC0415
    from pgshift.commands import lint as verb  # noqa: PLC0415
    from pgshift.lint.engine import LintOptions  # noqa: PLC0415

    sources = [verb._LintSource(p.as_posix(), str(p), False) for p in paths]
    options = LintOptions()
    workers = parallel.workers_available()
    print(f"{workers} worker(s) here; commands.lint.FORK_FROM = {verb.FORK_FROM}")
    print(f"{'files':>6} {'one process':>12} {'workers':>12}")
    saved = verb.FORK_FROM
    try:
        verb._lint_each(sources[:50], options)  # warm: rules loaded, trees' constructors made
        for n in (8, 16, 24, 32, 48, 64, 96, 128, 256):
            if n > len(sources):
                break
            medians = []
            for threshold in (1 << 30, 2):
                verb.FORK_FROM = threshold
                samples = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    verb._lint_each(sources[:n], options)
                    samples.append(time.perf_counter() - t0)
                medians.append(statistics.median(samples))
            print(f"{n:6} {medians[0] * 1000:10.1f}ms {medians[1] * 1000:10.1f}ms")
    finally:
        verb.FORK_FROM = saved
    return 0


def _version(cmd: list[str]) -> str:
    proc = subprocess.run(cmd + ["--version"], capture_output=True, text=True)
    return proc.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
