"""Shared helpers. The server fixtures (`pgshift_server_url`, `pgshift_database_url`)
come from pgshift's own pytest plugin (src/pgshift/testing/plugin.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def write_project(root: Path, files: dict[str, str], config: str | None = None) -> Path:
    """A project folder: pgshift.toml plus files relative to migrations/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "rollbacks").mkdir(parents=True, exist_ok=True)
    (root / "pgshift.toml").write_text(config if config is not None else "[pgshift]\n[env.dev]\n")
    for rel, text in files.items():
        path = root / "migrations" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120,
            input: str | None = None) -> Result:
    """`pgshift ARGS` in a real process, as a user would run it."""
    # a user's own connection settings must not leak into the tests
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "PGSHIFT_DATABASE_URL") and not k.startswith("PG")}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "pgshift", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, input=input if input is not None else "")
    return Result(proc.returncode, proc.stdout, proc.stderr)


def query(url: str, sql: str, params=None):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def scalar(url: str, sql: str, params=None):
    rows = query(url, sql, params)
    return rows[0][0] if rows else None


def catalog_fingerprint(url: str):
    """Every relation, schema, function, type and setting of the database: to show nothing changed."""
    return (
        query(url, "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = "
                   "c.relnamespace WHERE n.nspname NOT IN ('pg_catalog','information_schema','pg_toast') "
                   "ORDER BY 1, 2"),
        query(url, "SELECT nspname FROM pg_namespace ORDER BY 1"),
        query(url, "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                   "WHERE n.nspname NOT IN ('pg_catalog','information_schema') ORDER BY 1"),
    )


def ledger_rows(url: str, ledger: str = "pgshift.migration_log"):
    return query(url, f"SELECT version, migration_type, status, statements_done, error FROM {ledger} ORDER BY id")


@pytest.fixture
def project(tmp_path):
    """Factory: project(files, config=None) -> Path."""
    def make(files: dict[str, str], config: str | None = None, name: str = "proj") -> Path:
        return write_project(tmp_path / name, files, config)
    return make
