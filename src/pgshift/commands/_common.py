"""What the verbs share: reading the files (once), parsing, the run lock, execution options,
running a plan under the monitor, and naming the backup when a protected run fails."""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Iterator

from .. import discovery
from ..errors import InputError, OperationError, PgshiftError
from ..events import INFO, RUN_COMPLETED, WARNING, emit
from ..model import MigrationFile, ParsedFile
from ..project import Project
from ..runs import Plan, RunResult
from ..safety.confirm import Confirm  # noqa: F401 - re-exported for the verbs
from ..text import format_duration, printable

if TYPE_CHECKING:
    import psycopg


def files(project: Project, cached: bool = False) -> list[MigrationFile]:
    """The project's migrations in version order. Without *cached*, each file is read here, once:
    its text (kept on the MigrationFile) and its checksum come from the same bytes."""
    cache = None
    if cached:
        cache = discovery.StatCache(project.config.root / ".pgshift" / "discovery-cache.json")
    found = discovery.discover(project.config.migrations_dir, project.config.root, cache)
    for folder in discovery.stray_folders(project.config.migrations_dir):
        emit(project.reporter, WARNING, f"{printable(project.config.migrations)}/{printable(folder)}/ holds .sql files "
             "that pgshift does not "
             "read: migrations live in the migrations folder itself, rollbacks in rollbacks/", level="warning")
    return found


def parse(migration: MigrationFile, database: str | None = None, rollback: bool = False) -> ParsedFile:
    """A migration (or its rollback) split into statements and classified, without a database.

    The text is the one read with the file's checksum (a file changed since is refused).

    Args:
        migration: A migration file: a step's ``.migration`` in ``UpResult.plan.steps``, or one
            of ``pgshift.discovery.discover(project.config.migrations_dir)``.
        database: The database a ``\\c`` in the file may name (others are refused); None: any.
        rollback: Parse the version's rollback file instead of the migration.

    Returns:
        The parsed file: its statements (each with its kind, lock and line), the transaction
        mode pgshift would run it in, and why.

    Raises:
        SqlSyntaxError: The file does not parse, or a statement can never run as written.
        DirectiveError: A ``-- pgshift:`` directive is unknown, misplaced or has a bad value.
        DiscoveryError: The file changed, or cannot be read, since it was found.
        InputError: ``rollback`` is asked of a version that has no rollback file.
    """
    from ..sql import parse_file  # noqa: PLC0415

    target = migration.rollback if rollback else migration
    if target is None:
        raise InputError(f"{migration.version} ({migration.name}) has no rollback file to parse")
    return parse_file(target.relpath, discovery.text_of(target), database=database)


@contextmanager
def run_lock(project: Project, conn: psycopg.Connection, wait: float,
             lock_timeout: float | None = None) -> Iterator[None]:
    """Hold the project's run lock while the ``with`` block runs, as ``up`` and ``rollback`` do.

    The lock is a session advisory lock keyed by the ledger table: two runners of the same
    project never run at once. The connection is first checked not to go through a pooler in
    transaction mode (where a session lock holds nothing) and given pgshift's settings; a
    watchdog ends its server session when it stalls for the environment's ``stall_timeout``.

    Args:
        project: An opened project.
        conn: An open connection to the project's database (``api.connected(project)``).
        wait: How many seconds to wait for a runner that holds the lock.
        lock_timeout: How long a statement on the ledger may wait for a table lock (another
            session holding the ledger table); None: the environment's lock timeout, else its
            ``stall_timeout``. Never without a bound.

    Yields:
        Nothing: the lock is held until the block ends, then released.

    Raises:
        LockHeld: Another runner still held the lock after *wait* seconds (exit 3).
        SafetyRefusal: The connection goes through a pooler in transaction mode (exit 3).
        OperationError: The connection stalled or was lost inside the block (the message says
            what the ledger, read again on a new connection, shows the run did), or another
            session held the ledger table for longer than the lock timeout (it is named).
    """
    from .. import db  # noqa: PLC0415
    from .. import ledger as ledger_mod  # noqa: PLC0415

    url = project.url()
    stall = project.env.effective_stall_timeout
    db.refuse_pooler(conn, url)   # before the lock and before any setting: neither holds there
    db.session_settings(conn, stall)
    bound = lock_timeout or project.env.effective_lock_timeout or stall
    conn.execute(f"SET lock_timeout = '{max(1, int(bound * 1000))}ms'")   # the ledger's statements: bounded
    existing = getattr(conn, "pgshift_watchdog", None)   # project.connected() watches it already
    before: int | None = None     # the newest event before this run: what comes after it is the run's
    with nullcontext(existing) if existing is not None else db.Watchdog(conn, url, stall) as watchdog:
        try:
            before = ledger_mod.last_event_id(conn, project.ledger)
            db.acquire_run_lock(conn, project.config.ledger, wait, project.reporter)
            try:
                yield
            finally:
                db.release_run_lock(conn, project.config.ledger)
        except Exception as exc:
            if watchdog.tripped is None and not conn.broken and not conn.closed:
                if db.sqlstate(exc) == db.LOCK_NOT_AVAILABLE:   # a ledger statement; a file's is a PgshiftError
                    raise _ledger_locked(project, conn, bound) from None
                raise
            raise connection_lost(project, watchdog.tripped, stall, before, exc) from None


def _ledger_locked(project: Project, conn, waited: float) -> OperationError:
    """The error of a ledger statement that waited *waited* seconds for a table lock, naming who holds it."""
    try:
        row = conn.execute(
            "SELECT a.pid, a.application_name, a.state, left(a.query, 120) FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.relation = to_regclass(%s) AND l.granted "
            "AND a.pid <> pg_backend_pid() ORDER BY a.xact_start LIMIT 1", (project.ledger.qualified,)).fetchone()
    except Exception:  # noqa: BLE001 - only to name the holder
        row = None
    who = (f"pid {row[0]} ({row[1] or 'no application_name'}, {row[2]}: {row[3]})" if row
           else "another session")
    return OperationError(
        f"the ledger {project.config.ledger} is locked by {who}: pgshift waited {format_duration(waited)} for it; "
        "nothing was changed",
        hint="let that session finish, or end it (SELECT pg_terminate_backend(pid)); `pgshift diagnose` shows "
             "the locks; --lock-timeout sets how long pgshift waits",
        details={"ledger_locked": True, "holder": row[0] if row else None})


def connection_lost(project: Project, stalled: str | None, stall: float, before: int | None,
                    exc: BaseException) -> PgshiftError:
    """The error of a run whose connection stalled or dropped, with what the run really did, read
    from the ledger on a new connection (a COMMIT whose reply was lost may well have happened): a
    failed statement's error keeps its file:line:col, and its hint is replaced by the truth."""
    from .. import ledger as ledger_mod  # noqa: PLC0415

    what = (f"the connection to the server stalled ({stalled}); pgshift gave up on it after "
            f"{format_duration(stall)} and ended its server session, releasing its locks" if stalled
            else "the connection to the server was lost")
    error = exc if isinstance(exc, PgshiftError) else OperationError(
        f"{what}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    error.details.update(stalled=stalled, connection_lost=True)
    try:
        with project.connected() as fresh:
            events = ledger_mod.events_after(fresh, project.ledger, before) if before is not None else []
    except PgshiftError as again:
        error.hint = (f"{what}; the ledger could not be read again ({again.message}): when the server is "
                      "reachable, `pgshift status` shows what was applied; then run pgshift again")
        return error
    error.details["events"] = [{"version": e.version, "type": e.migration_type, "status": e.status}
                               for e in events]
    lines = [f"  {e.version} {e.name or ''}: {e.migration_type} {e.status}" for e in events]
    truth = ("what this run did, read from the ledger on a new connection:\n" + "\n".join(lines) if events
             else "the ledger, read on a new connection, has no event of this run: nothing of it was applied")
    open_ = [e for e in events if (e.status or "running") in ("running", "failed")]
    advice = "check the network between pgshift and the server, then run pgshift again"
    if open_:
        advice += f" ({open_[-1].version} is recorded as {open_[-1].status}: the rerun resumes or retries it)"
    error.hint = f"{what}.\n{truth}\n{advice}"
    if stalled and not isinstance(exc, PgshiftError):
        error.message = f"{what}"
    return error


def check_environment(project: Project, conn) -> None:
    """Say where this run goes and where its URL came from; refuse a run under an environment
    other than the protected one this database was recorded as (before anything changes)."""
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..errors import SafetyRefusal  # noqa: PLC0415

    emit(project.reporter, INFO, f"environment {project.env.name}: {project.shown_database(conn)} "
                                 f"(URL from {project.connection.source})", level="info")
    claim = ledger_mod.environment_claim(conn, project.ledger)
    if claim is not None and claim.environment != project.env.name:
        raise SafetyRefusal(
            f"this database is environment {claim.environment!r} ({claim.server}, database {claim.database}; "
            f"recorded by a protected run on {claim.recorded_at:%Y-%m-%d %H:%M}), but this run is environment "
            f"{project.env.name!r} (URL from {project.connection.source}); nothing was changed",
            hint=f"run it as that environment: pgshift --env {claim.environment} ...; or, if the database really "
                 f"changed hands, drop {project.ledger.schema}.{ledger_mod.ENVIRONMENT_TABLE} by hand",
            details={"recorded_environment": claim.environment, "environment": project.env.name})


def record_environment(project: Project, conn) -> None:
    """A protected environment's run records which environment this database is (once)."""
    from .. import db  # noqa: PLC0415
    from .. import ledger as ledger_mod  # noqa: PLC0415

    if project.env.protected and ledger_mod.environment_claim(conn, project.ledger) is None:
        user, host = db.whoami()
        ledger_mod.claim_environment(conn, project.ledger, project.env.name, f"{user}@{host}")


def maybe_run_lock(project: Project, conn, wait: float, dry_run: bool, lock_timeout: float | None = None):
    """The run lock, except for a dry run (which changes nothing)."""
    return nullcontext() if dry_run else run_lock(project, conn, wait, lock_timeout)


def exec_options(project: Project, lock_timeout: float | None, statement_timeout: float | None,
                 lock_retries: int | None = None, blocker_wait: float | None = None):
    """Execution options: the flags given, else the environment's settings."""
    from .. import db  # noqa: PLC0415
    from ..execution import ExecOptions  # noqa: PLC0415

    env = project.env
    lock_timeout = lock_timeout if lock_timeout is not None else env.effective_lock_timeout
    user, host = db.whoami()
    return ExecOptions(
        lock_timeout=lock_timeout or None,
        statement_timeout=statement_timeout if statement_timeout is not None else env.statement_timeout,
        lock_retries=lock_retries if lock_retries is not None else env.lock_retries,
        retry_max=env.lock_retry_max_delay,
        blocker_wait=blocker_wait if blocker_wait is not None else env.effective_blocker_wait,
        applied_by=user, client_host=host, tool_version=db.tool_version())


def run_plan(project: Project, conn, plan: Plan, options, safety: dict | None, *, monitor: bool,
             after_step=None) -> RunResult:
    """Run *plan* on *conn* under the monitor (from the start in protected environments or with
    --monitor, else after a few seconds, so that a run stuck behind a lock is never silent).
    A failure after a backup names the backup, as the guide's script does. *after_step* is
    called with each step that completed, right after it (the schema's fingerprint)."""
    from .. import db  # noqa: PLC0415
    from ..execution import Executor  # noqa: PLC0415
    from ..safety import monitor as monitor_mod  # noqa: PLC0415

    executor = Executor(conn, project.ledger, options, project.reporter)
    executor.after_step = after_step
    watcher = monitor_mod.watch(project, db.server_pid(conn), project.url(),
                                eager=monitor or project.env.protected)
    try:
        run = executor.run(plan)
    except PgshiftError as exc:
        backup = (safety or {}).get("backup")
        if backup:
            exc.details.setdefault("backup", backup["path"])
            exc.hint = ((exc.hint + "\n") if exc.hint else "") + (
                f"the backup taken before this run: {backup['path']} "
                f"(pgshift restore {backup['path']} --database-url URL)")
        raise
    finally:
        watcher.stop()
    total = sum(s.execution_ms for s in run.steps)
    emit(project.reporter, RUN_COMPLETED, f"{len(run.steps)} file(s) run in {format_duration(total / 1000)}"
         + ("; all of them on disk (the last commit flushed the WAL)" if run.steps else ""),
         level="info" if len(run.steps) > 1 else "debug", steps=len(run.steps))
    return run
