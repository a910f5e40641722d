"""A stable, normalised schema file: ``pg_dump --schema-only``, post-processed.

pg_dump writes real SQL (a reviewer reads it, ``psql -f`` loads it) in an order of its own that
depends on names and dependencies, not on when an object was made: two databases migrated from
the same files give the same text. What varies between databases or servers is taken out:

- comments (``-- Name: ...; Owner: ...``, ``-- Dumped from database version ...``);
- session ``SET`` lines and ``SELECT pg_catalog.set_config(...)``;
- ``\\restrict`` / ``\\unrestrict`` lines (a random key since PostgreSQL 17.6);
- ownership (``--no-owner``), grants (``--no-privileges``), tablespaces, security labels;
- pgshift's own tables (the ledger and ``pgshift_*`` beside it), and its own schema ``pgshift``
  when the ledger is there (the default), and other projects' schemas (``fingerprint.other_projects``:
  a fleet's tenant schemas, each with its own ledger);
- runs of blank lines (one is kept).

The file starts with a one-line header and ends with one newline.
"""
from __future__ import annotations

import re
from typing import Any

from .. import ledger as ledger_mod
from ..errors import OperationError
from ..text import printable

DEFAULT_LEDGER_SCHEMA = "pgshift"

HEADER = "-- pgshift schema dump: pg_dump --schema-only, normalised (no owners, grants or volatile lines)\n"

_DROP = re.compile(r"^(--.*|SET [a-z_]+ = .*;|SELECT pg_catalog\.set_config\(.*\);|\\(un)?restrict .*)$")


def normalise(text: str) -> str:
    """pg_dump's text without its volatile lines (see the module's docstring)."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if _DROP.match(line):
            continue
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return HEADER + "\n" + "\n".join(out) + "\n"


def dump(url: str, conn: Any, ledger: ledger_mod.Ledger) -> str:
    """The normalised schema of the database at *url* (*conn* is a connection to it)."""
    from ..db import DEFAULT_STALL_TIMEOUT, server_version  # noqa: PLC0415
    from ..safety.backup import _run, child_env, find_tool  # noqa: PLC0415
    from .fingerprint import other_projects, pgshift_tables  # noqa: PLC0415

    pg_dump = find_tool("pg_dump", server_version(conn))
    excluded = [f"--exclude-table={_pattern(name)}" for name in pgshift_tables(conn, ledger)]
    excluded += [f'--exclude-schema="{schema}"' for schema in other_projects(conn, ledger)]
    if ledger.schema == DEFAULT_LEDGER_SCHEMA:   # pgshift's own schema, which holds nothing of the project's
        excluded.append(f'--exclude-schema="{ledger.schema}"')
    _, extra = child_env(url, "pgshift-schema-dump")
    proc = _run([pg_dump.path, "--schema-only", "--no-owner", "--no-privileges", "--no-tablespaces",
                 "--no-security-labels", "--no-password", "--lock-wait-timeout=60s", *excluded, *extra],
                url, application_name="pgshift-schema-dump", stall=DEFAULT_STALL_TIMEOUT)
    if proc.returncode != 0:
        from ..config import scrub  # noqa: PLC0415

        raise OperationError(f"schema dump failed: pg_dump exited with {proc.returncode}: "
                             f"{printable(scrub(proc.stderr.strip()[-2000:], url))}")
    return normalise(proc.stdout)


def _pattern(qualified: str) -> str:
    """A pg_dump pattern naming exactly this table (quoted parts, so no wildcard is read)."""
    schema, _, table = qualified.partition(".")
    return f'"{schema}"."{table}"'
