"""Squash: one baseline migration whose schema equals the history's up to a version.

``pgshift squash --to V`` applies the history up to V to a throwaway database, dumps it
(``pg_dump --inserts --no-owner``, the ledger left out: the schema, and the rows the migrations
wrote, as plain SQL statements), applies that text to a second throwaway database and compares
the two catalog snapshots (``rehearsal.snapshot``): the baseline is written only when they are
equal. It is ``<migrations>/<V>_squashed_baseline.sql``, headed ``-- Replaces: V1..V`` with each
version it replaces; the files it replaces are moved out of the migrations folder.

The ledger needs no change. Planning (:data:`pgshift.planning.SQUASHED`) knows that the baseline
replaces every version up to V: a database that applied the history has V applied (under the old
file's name and checksum, which is not a change) and its older versions are not "missing"; a new
database applies the baseline instead; one that applied only part of the history is refused.
"""
from __future__ import annotations

import re
import subprocess
from typing import Any

from ..errors import OperationError
from ..planning import SQUASHED

FILE_NAME = SQUASHED

#: pg_dump's lines that set the session (kept out: a migration must not leave settings behind)
_SESSION_LINE = re.compile(r"^(SET [a-z_]+ = .*;|SELECT pg_catalog\.set_config\('search_path', '', false\);)$")


def own_tables(ledger: str, ledger_schema: str) -> tuple[str, ...]:
    """pgshift's own tables (the ledger, the environment and the schema snapshots beside it): never
    part of a baseline, nor of the snapshots that prove it."""
    from ..ledger import ENVIRONMENT_TABLE, SNAPSHOT_TABLE  # noqa: PLC0415

    return ledger, f"{ledger_schema}.{ENVIRONMENT_TABLE}", f"{ledger_schema}.{SNAPSHOT_TABLE}"


def dump(url: str, ledger: str, ledger_schema: str) -> str:
    """pg_dump of the database at *url* as plain SQL: the schema and its rows (INSERT statements),
    without owners, without pgshift's own tables (:func:`own_tables`)."""
    from ..safety.backup import _run, _server_major, child_env, find_tool  # noqa: PLC0415

    pg_dump = find_tool("pg_dump", _server_major(url))
    _, extra = child_env(url, "pgshift-squash")
    proc = _run([pg_dump.path, "--no-password", "--no-owner", "--inserts", "--rows-per-insert=500",
                 *(f"--exclude-table={t}" for t in own_tables(ledger, ledger_schema)), *extra], url,
                stdout=subprocess.PIPE)
    if proc.returncode != 0:
        raise OperationError(f"squash: pg_dump exited with {proc.returncode}: {(proc.stderr or '').strip()[:500]}",
                             hint="nothing was written")
    return proc.stdout


def baseline_text(dumped: str, replaced: list[Any], ledger_schema: str, tool_version: str) -> str:
    """The baseline file: a header (``-- Replaces:`` and each version), the settings pg_dump's text
    needs for this transaction only, and the dump without its session settings, psql
    meta-commands and the ledger schema's creation (``up`` creates it before the first file)."""
    out = []
    for line in dumped.split("\n"):
        if _SESSION_LINE.match(line) or line.startswith("\\"):
            continue
        if line == f"CREATE SCHEMA {ledger_schema};":
            line = f"CREATE SCHEMA IF NOT EXISTS {ledger_schema};"
        out.append(line)
    body = "\n".join(out).strip("\n")
    first, last = replaced[0].version, replaced[-1].version
    head = [f"-- Migration: {last}_{FILE_NAME}",
            f"-- Description: the schema of versions {first}..{last}, squashed by pgshift {tool_version}",
            f"-- Replaces: {first}..{last}",
            "--"]
    head += [f"--   {m.version} {m.name}" for m in replaced]
    head += ["--",
             "-- Proven: applied to an empty database, it gives the schema the history gives (catalog snapshots).",
             "-- A database that applied those versions has it: `pgshift up` does not run it there.",
             "",
             "SELECT pg_catalog.set_config('search_path', '', true);",
             "SET LOCAL check_function_bodies = false;",
             ""]
    return "\n".join(head) + "\n" + body + "\n"
