"""Shared helpers. The server fixtures (`pgshift_server_url`, `pgshift_database_url`)
come from pgshift's own pytest plugin (src/pgshift/testing/plugin.py).

Behaviour tests call the library in-process (`open_project`, `call`, `fails`, `up`, `up_fails`,
with a `RecordingReporter`); `run_cli` runs `pgshift` as a process, for what only the command
line shows (exit codes, stderr and stdout text, `--json`, prompts, a process killed)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgshift import api
from pgshift import events as events_mod
from pgshift.errors import PgshiftError

FIXTURES = Path(__file__).parent / "fixtures"

# four versions on a customers table, each with its rollback (rollback, down, test --roundtrip)
CUSTOMERS_WITH_ROLLBACKS = {
    "20250101000001_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, tenant_id int, name text);\n",
    "rollbacks/20250101000001_rollback_customers.sql": "DROP TABLE customers;\n",
    "20250101000002_customer_index.sql": "CREATE INDEX customers_name_idx ON customers (name);\n",
    "rollbacks/20250101000002_rollback.sql": "DROP INDEX customers_name_idx;\n",
    "20250101000003_rls.sql": """
        ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON customers USING (tenant_id = current_setting('app.tenant')::int);
    """,
    "rollbacks/20250101000003_rollback_rls.sql": """
        DROP POLICY tenant_isolation ON customers;
        ALTER TABLE customers DISABLE ROW LEVEL SECURITY;
    """,
    "20250101000004_default.sql": "ALTER TABLE customers ALTER COLUMN name SET DEFAULT 'anonymous';\n",
    "rollbacks/20250101000004_rollback_default.sql": "ALTER TABLE customers ALTER COLUMN name DROP DEFAULT;\n",
}


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


def clean_environ(extra: dict | None = None) -> dict:
    """os.environ without a user's own connection settings (DATABASE_URL, PG*), plus *extra*."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "PGSHIFT_DATABASE_URL") and not k.startswith("PG")}
    env.update(extra or {})
    return env


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120,
            input: str | None = None) -> Result:
    """`pgshift ARGS` in a real process, as a user would run it."""
    full_env = clean_environ(env)   # a user's own connection settings must not leak into the tests
    proc = subprocess.run([sys.executable, "-m", "pgshift", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, input=input if input is not None else "")
    return Result(proc.returncode, proc.stdout, proc.stderr)


def fake_pg_dump(folder: Path, body: str) -> Path:
    """A pg_dump that claims to be new (so it is chosen) and misbehaves as *body* says."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "pg_dump"
    script.write_text("#!/bin/sh\n"
                      "if [ \"$1\" = \"--version\" ]; then echo 'pg_dump (PostgreSQL) 99.0'; exit 0; fi\n"
                      + body)
    script.chmod(0o755)
    return folder


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


# --- the library in-process ------------------------------------------------------------------


class RecordingReporter(events_mod.RecordingReporter):
    """The Reporter protocol of pgshift.events (emit, verbose, paused, close), keeping every
    event. ``verbose`` is off by default, as in the CLI without ``-v``: the runner then sends
    no event per statement, and a run sends the events a user's run does."""

    def __init__(self, verbose: bool = False) -> None:
        super().__init__()
        self.verbose = verbose
        self.pauses = 0
        self.closed = False

    def paused(self):
        self.pauses += 1
        return super().paused()

    def close(self) -> None:
        self.closed = True

    def of(self, kind: str) -> list[events_mod.Event]:
        return [e for e in self.events if e.kind == kind]

    @property
    def text(self) -> str:
        """Every event's message, a line each: what the CLI writes to stderr, without its timestamps."""
        return "\n".join(self.messages())


def open_project(root: Path, url: str | None = None, env: str = "dev", *, environ: dict | None = None,
                 verbose: bool = False) -> tuple[api.Project, RecordingReporter]:
    """api.open_project with a RecordingReporter: (project, reporter). *url* is --database-url;
    *environ* (for ${VAR} in pgshift.toml) is added to os.environ without DATABASE_URL and PG*."""
    reporter = RecordingReporter(verbose)
    return api.open_project(root, env, url, reporter=reporter, environ=clean_environ(environ)), reporter


def call(verb, root: Path, url: str | None = None, *args, env: str = "dev", environ: dict | None = None, **kwargs):
    """``verb(project, *args, **kwargs)`` (an api function) on *root* opened afresh: (result, reporter)."""
    project, reporter = open_project(root, url, env, environ=environ)
    return verb(project, *args, **kwargs), reporter


def raises(exit_code: int, verb, *args, **kwargs) -> PgshiftError:
    """``verb(*args, **kwargs)`` must raise a PgshiftError with *exit_code*: the error."""
    with pytest.raises(PgshiftError) as info:
        verb(*args, **kwargs)
    assert info.value.exit_code == exit_code, info.value.to_dict()
    return info.value


def fails(exit_code: int, verb, root: Path, url: str | None = None, *args, env: str = "dev",
          environ: dict | None = None, **kwargs) -> tuple[PgshiftError, RecordingReporter]:
    """``verb(project, *args, **kwargs)`` must raise a PgshiftError with *exit_code*: (error, reporter)."""
    project, reporter = open_project(root, url, env, environ=environ)
    return raises(exit_code, verb, project, *args, **kwargs), reporter


def up(root: Path, url: str | None = None, *, env: str = "dev", environ: dict | None = None, confirm=None,
       **options) -> tuple[api.UpResult, RecordingReporter]:
    """api.up(UpOptions(**options)): (result, reporter)."""
    return call(api.up, root, url, api.UpOptions(**options), env=env, environ=environ, confirm=confirm)


def up_fails(exit_code: int, root: Path, url: str | None = None, *, env: str = "dev", environ: dict | None = None,
             **options) -> tuple[PgshiftError, RecordingReporter]:
    """api.up(UpOptions(**options)) must fail with *exit_code*: (error, reporter)."""
    return fails(exit_code, api.up, root, url, api.UpOptions(**options), env=env, environ=environ)


def applied(result) -> int:
    """How many migrations (or rollbacks) an up/down/rollback result ran: the CLI's "applied N"."""
    return len(result.run.steps)


def states(root: Path, url: str | None = None, **kwargs) -> dict[str, str]:
    """version -> state, from api.status."""
    result, _ = call(api.status, root, url, **kwargs)
    return {s.version: s.state for s in result.states}


class UpInThread(threading.Thread):
    """api.up running in a thread, as `pgshift up` in the background: join(), then its result or
    error, and its events."""

    def __init__(self, root, url: str, **options) -> None:
        super().__init__(daemon=True)
        self.project, self.events = open_project(root, url)
        self.options = api.UpOptions(**options)
        self.result: api.UpResult | None = None
        self.error: PgshiftError | None = None
        self.crash: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.result = api.up(self.project, self.options)
        except PgshiftError as exc:
            self.error = exc
        except BaseException as exc:  # noqa: BLE001 - not a PgshiftError: what a user would see as a traceback
            self.crash = exc

    def finish(self, timeout: float) -> api.UpResult:
        """Wait for a run that must succeed: its result."""
        self.join(timeout)
        assert not self.is_alive(), "still running"
        assert self.crash is None and self.error is None, self.crash or self.error.to_dict()
        return self.result

    def failure(self, timeout: float) -> PgshiftError:
        """Wait for a run that must fail: its error."""
        self.join(timeout)
        assert not self.is_alive(), "still running"
        assert self.crash is None, repr(self.crash)
        assert self.error is not None, "it did not fail"
        return self.error
