"""``python -m pgshift.lint [PATH ...]``: lint migration files without the CLI.

PATH is a file or a migrations folder (its ``*.sql`` in version order, then
``rollbacks/*.sql``); default ``migrations``. Exit 1 when an error-level
finding exists, 2 on bad usage, else 0.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_MIGRATION = re.compile(r"^(\d{14})_[a-z0-9_]+\.sql$")


def collect(paths: list[str]):
    """LintInputs for the given files and folders, migrations first (in version
    order), then rollbacks."""
    from .engine import LintInput  # noqa: PLC0415

    migrations: list[Path] = []
    rollbacks: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            migrations.extend(sorted(p for p in path.glob("*.sql") if p.is_file()))
            rollbacks.extend(sorted(p for p in (path / "rollbacks").glob("*.sql") if p.is_file()))
        elif path.is_file():
            (rollbacks if path.parent.name == "rollbacks" else migrations).append(path)
        else:
            raise FileNotFoundError(raw)
    inputs = []
    for p in migrations:
        m = _MIGRATION.match(p.name)
        has_rollback = None
        if m:
            has_rollback = any((p.parent / "rollbacks").glob(f"{m.group(1)}_rollback*.sql"))
        inputs.append(LintInput(p.as_posix(), p.read_text(encoding="utf-8"), has_rollback=has_rollback))
    for p in rollbacks:
        inputs.append(LintInput(p.as_posix(), p.read_text(encoding="utf-8"), is_rollback=True))
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pgshift.lint", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="migration files or folders (default: migrations)")
    parser.add_argument("--format", default="text", choices=("text", "json", "sarif", "github"))
    parser.add_argument("--target-version", type=int, default=None, help="PostgreSQL major version (default: newest)")
    parser.add_argument("--ledger", default="pgshift.migration_log")
    parser.add_argument("--disable", action="append", default=[], help="rule id to switch off (repeatable)")
    parser.add_argument("--explain", metavar="RULE", help="print a rule's documentation")
    parser.add_argument("--list", action="store_true", help="list the rules")
    args = parser.parse_args(argv)

    from pgshift.errors import InputError  # noqa: PLC0415

    from .engine import LintOptions, lint  # noqa: PLC0415
    from .output import render  # noqa: PLC0415
    from .registry import explain, list_rules  # noqa: PLC0415

    if args.list:
        for r in list_rules():
            sys.stdout.write(f"{r['id']:<36} {r['severity']:<8} {r['versions']:<6} {r['summary']}\n")
        return 0
    if args.explain:
        try:
            sys.stdout.write(explain(args.explain))
        except KeyError as exc:
            sys.stderr.write(f"{exc}\n")
            return 2
        return 0
    try:
        inputs = collect(args.paths or ["migrations"])
        options = LintOptions(target_version=args.target_version, disable=tuple(args.disable), ledger=args.ledger)
        report = lint(inputs, options)
    except FileNotFoundError as exc:
        sys.stderr.write(f"no such file or folder: {exc.args[0]}\n")
        return 2
    except InputError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    sys.stdout.write(render(report, args.format))
    return 1 if report.has_errors else 0


if __name__ == "__main__":
    sys.exit(main())
