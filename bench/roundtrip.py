"""Benchmark: `pgshift test --roundtrip` on a generated history of mixed kinds (issue 14, point 6).

    python bench/roundtrip.py [--versions 300] [--before-versions N]

The history: tables created, columns added, columns dropped (their rollback adds them back
at the end of the table: a column-order note), views rebuilt (their rollback restores the
previous definition), plpgsql functions, indexes, and one index in four built concurrently
(which cannot run in a transaction, so its proof takes a copy of the database). Every
version has a rollback.

Both methods run in this one process on one embedded PostgreSQL, on the same project:

- before: every version proven on its own CREATE DATABASE ... TEMPLATE copy (the method
  before issue 14; ``roundtrip.prove(..., method="copy")``);
- after: transactional versions proven inside a transaction on the scratch database itself,
  rolled back at the end; copies only for the versions that cannot run in one.

Seconds per version are the whole `test --roundtrip` (the throwaway database, every apply,
every snapshot, every proof) divided by the number of versions. ``--before-versions`` runs the
slow method on the first N versions only (it takes about 0.8 s each).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import compile_pgshift

CONCURRENT_EVERY = 4     # one table in four gets its index concurrently


def history(n: int) -> dict[str, str]:
    """Migration and rollback files of a project with *n* versions of mixed kinds."""
    files: dict[str, str] = {}
    tables: list[int] = []
    views: dict[int, str] = {}          # table -> its view's current definition
    dropped: set[int] = set()
    comments: dict[int, str] = {}
    for i in range(n):
        version = f"{20250101000000 + i:014d}"
        kind = i % 6 if tables else 0
        last = tables[-1] if tables else None
        if kind == 0:
            up = f"CREATE TABLE t{i} (id bigint PRIMARY KEY, a integer NOT NULL DEFAULT 0, b text);\n"
            down = f"DROP TABLE t{i};\n"
            tables.append(i)
            name = f"create_t{i}"
        elif kind == 1:
            up = f"ALTER TABLE t{last} ADD COLUMN c{i} integer NOT NULL DEFAULT {i};\n"
            down = f"ALTER TABLE t{last} DROP COLUMN c{i};\n"
            name = f"add_c{i}"
        elif kind == 2:
            new = f"SELECT id, a FROM t{last} WHERE a > {i}"
            up = f"CREATE OR REPLACE VIEW v{last} AS {new};\n"
            down = (f"CREATE OR REPLACE VIEW v{last} AS {views[last]};\n" if last in views
                    else f"DROP VIEW v{last};\n")
            views[last] = new
            name = f"view_v{last}_{i}"
        elif kind == 3:
            up = (f"CREATE FUNCTION f{i}(x integer) RETURNS integer LANGUAGE plpgsql AS $$\n"
                  f"BEGIN\n  RETURN x + {i};\nEND\n$$;\n")
            down = f"DROP FUNCTION f{i}(integer);\n"
            name = f"function_f{i}"
        elif kind == 4:
            if (i // 6) % CONCURRENT_EVERY == 0:
                up = f"CREATE INDEX CONCURRENTLY ix{i} ON t{last} (a);\n"
                down = f"DROP INDEX CONCURRENTLY ix{i};\n"
            else:
                up = f"CREATE INDEX ix{i} ON t{last} (a, id);\n"
                down = f"DROP INDEX ix{i};\n"
            name = f"index_ix{i}"
        else:
            if last in dropped:
                up = f"COMMENT ON TABLE t{last} IS 'v{i}';\n"
                down = f"COMMENT ON TABLE t{last} IS " + (f"'{comments[last]}'" if last in comments else "NULL") + ";\n"
                comments[last] = f"v{i}"
            else:
                up, down = f"ALTER TABLE t{last} DROP COLUMN b;\n", f"ALTER TABLE t{last} ADD COLUMN b text;\n"
                dropped.add(last)
            name = f"change_t{last}_{i}"
        files[f"{version}_{name}.sql"] = up
        files[f"rollbacks/{version}_rollback.sql"] = down
    return files


def write(root: Path, files: dict[str, str]) -> Path:
    (root / "migrations" / "rollbacks").mkdir(parents=True, exist_ok=True)
    (root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
    for rel, text in files.items():
        (root / "migrations" / rel).write_text(text)
    return root


def run(root: Path, url: str, method: str) -> tuple[float, object]:
    from pgshift import api  # noqa: PLC0415
    from pgshift.rehearsal import roundtrip  # noqa: PLC0415

    roundtrip.METHOD = method
    project = api.open_project(root, database_url=url)
    start = time.perf_counter()
    result = api.test(project, roundtrip=True)
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--versions", type=int, default=300)
    parser.add_argument("--before-versions", type=int, default=None,
                        help="run the copy method on the first N versions only (default: all)")
    args = parser.parse_args()
    compile_pgshift()
    from pgshift import embedded  # noqa: PLC0415

    files = history(args.versions)
    before_n = args.before_versions or args.versions
    with tempfile.TemporaryDirectory() as tmp:
        url = embedded.start(Path(tmp) / "pg")
        try:
            after_root = write(Path(tmp) / "after", files)
            before_files = {k: v for k, v in files.items()
                            if k.split("/")[-1][:14] < f"{20250101000000 + before_n:014d}"}
            before_root = write(Path(tmp) / "before", before_files)
            after_s, after = run(after_root, url, "auto")
            before_s, before = run(before_root, url, "copy")
        finally:
            embedded.stop(Path(tmp) / "pg")
    kinds: dict[str, int] = {}
    for c in after.checks:
        kinds[c.method] = kinds.get(c.method, 0) + 1
    print(f"history: {args.versions} versions ({', '.join(f'{v} by {k}' for k, v in sorted(kinds.items()))})")
    print(f"before (a copy per version): {before_n} versions in {before_s:.1f} s = {before_s / before_n:.3f} s/version"
          f" ({sum(c.status == 'passed' for c in before.checks)} passed)")
    print(f"after: {args.versions} versions in {after_s:.1f} s = {after_s / args.versions:.3f} s/version"
          f" ({sum(c.status == 'passed' for c in after.checks)} passed, "
          f"{sum(bool(c.notes) for c in after.checks)} with notes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
