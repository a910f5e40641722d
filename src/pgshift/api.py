"""One function per command, returning typed results. Never prints, never exits.

The CLI, the pytest plugin and the tests all go through here. Output goes to
the injected reporter; errors are raised as :class:`pgshift.errors.PgshiftError`.
"""
from __future__ import annotations

import datetime as _dt
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from . import config as config_mod
from . import discovery
from .errors import ConfigError, InputError, PgshiftError, SafetyRefusal
from .events import CONFIRM, INFO, PLAN, RUN_COMPLETED, WARNING, emit
from .model import (
    APPLIED, CHANGED, MISSING, MigrationFile, ParsedFile, Plan, RunResult, Step, VersionState,
)

Confirm = Callable[[str, str], bool]   # (prompt, the word to type) -> confirmed


@dataclass
class Project:
    config: config_mod.Config
    env: config_mod.Environment
    connection: config_mod.Connection
    reporter: object = None
    stands_for: str | None = None   # a throwaway copy: the name of the database it copies

    def database_name(self, conn) -> str:
        """The database a file's ``\\c`` may name: the one connected to, or the one this copy stands for."""
        return self.stands_for or conn.info.dbname

    @property
    def ledger(self):
        from .ledger import Ledger  # noqa: PLC0415

        return Ledger(self.config.ledger_schema, self.config.ledger_table)


def open_project(project: str | Path | None = None, env: str | None = None, database_url: str | None = None,
                 reporter=None, environ: dict | None = None) -> Project:
    cfg = config_mod.load(project)
    environment = cfg.environment(env or config_mod.DEFAULT_ENV)
    conn = config_mod.resolve_connection(cfg, environment, database_url, environ)
    return Project(cfg, environment, conn, reporter)


def database_url(project: Project) -> str:
    """The URL to connect to, starting the embedded server when that is the choice."""
    if project.connection.embedded:
        from . import embedded  # noqa: PLC0415

        pgdata = embedded.pgdata_for(project.config.root)
        emit(project.reporter, INFO, f"using the embedded PostgreSQL in {pgdata}", level="debug")
        return embedded.start(pgdata, project.env.database)
    return project.connection.url


@contextmanager
def connected(project: Project):
    from . import db  # noqa: PLC0415

    url = database_url(project)
    conn = db.connect(url)
    conn.add_notice_handler(lambda diag: emit(project.reporter, INFO, f"server notice: {diag.message_primary}"))
    try:
        yield conn
    finally:
        conn.close()


def _shown_database(project: Project, conn) -> str:
    """The database a result names: the masked DSN; with libpq's variables alone (no url), where
    libpq connected (host, port, user, database; never a password)."""
    if project.connection.url or project.connection.embedded:
        return project.connection.masked
    from . import db  # noqa: PLC0415

    return db.libpq_target(conn)


@contextmanager
def run_lock(project: Project, conn, wait: float):
    from . import db  # noqa: PLC0415

    db.acquire_run_lock(conn, project.config.ledger, wait, project.reporter)
    try:
        yield
    finally:
        db.release_run_lock(conn, project.config.ledger)


def _files(project: Project, cached: bool = False) -> list[MigrationFile]:
    cache = None
    if cached:
        cache = discovery.StatCache(project.config.root / ".pgshift" / "discovery-cache.json")
    files = discovery.discover(project.config.migrations_dir, project.config.root, cache)
    for folder in discovery.stray_folders(project.config.migrations_dir):
        emit(project.reporter, WARNING, f"{project.config.migrations}/{folder}/ holds .sql files that pgshift does not "
             "read: migrations live in the migrations folder itself, rollbacks in rollbacks/", level="warning")
    return files


def parse(migration: MigrationFile, database: str | None = None, rollback: bool = False) -> ParsedFile:
    from .statements import parse_file  # noqa: PLC0415

    path = migration.rollback.path if rollback else migration.path
    relpath = migration.rollback.relpath if rollback else migration.relpath
    return parse_file(relpath, discovery.read_text(path, relpath), database=database)


# --- status ------------------------------------------------------------------

@dataclass(frozen=True)
class StatusResult:
    states: tuple[VersionState, ...]
    database: str
    ledger: str
    ledger_exists: bool

    def to_dict(self) -> dict:
        from .model import FAILED, OUT_OF_ORDER, PENDING, ROLLED_BACK, RUNNING  # noqa: PLC0415

        # every state, 0 when absent: a script reads counts["failed"] without a KeyError
        counts = dict.fromkeys((APPLIED, PENDING, FAILED, ROLLED_BACK, CHANGED, MISSING, OUT_OF_ORDER, RUNNING), 0)
        for s in self.states:
            counts[s.state] = counts.get(s.state, 0) + 1
        return {"database": self.database, "ledger": self.ledger, "ledger_exists": self.ledger_exists,
                "counts": counts, "versions": [s.to_dict() for s in self.states]}


def status(project: Project, fresh: bool = False) -> StatusResult:
    """Every version's state. The files are read here while a forked child connects and reads
    the ledger: on a large project the two take about as long, and the child's first step,
    importing psycopg, is a tenth of a second by itself."""
    from . import parallel  # noqa: PLC0415
    from .planning import version_states  # noqa: PLC0415

    def read_ledger():
        from . import ledger as ledger_mod  # noqa: PLC0415

        with connected(project) as conn:
            exists = ledger_mod.exists(conn, project.ledger)
            return exists, (ledger_mod.read(conn, project.ledger) if exists else []), _shown_database(project, conn)

    files, (exists, events, shown) = parallel.together(lambda: _files(project, cached=not fresh), read_ledger)
    states = version_states(files, events)
    return StatusResult(tuple(states), shown, project.config.ledger, exists)


# --- up ------------------------------------------------------------------------

@dataclass(frozen=True)
class UpOptions:
    target: str | None = None
    dry_run: bool = False
    out_of_order: bool = False
    allow_changed: bool = False
    lock_timeout: float | None = None    # None: the environment's
    statement_timeout: float | None = None
    lock_wait: float = 60.0
    yes: bool = False
    force: bool = False
    no_backup: bool = False
    monitor: bool = False
    lock_retries: int | None = None
    parse_all: bool = True               # also the pending files after --target (off: only those it applies)


@dataclass(frozen=True)
class UpResult:
    plan: Plan
    run: RunResult | None
    findings: tuple = ()
    database: str = ""
    safety: dict | None = None      # protected environments: preflight checks and the backup
    batches: dict = field(default_factory=dict)   # dry run: version -> batching.describe_batches lines

    def to_dict(self) -> dict:
        steps = [{"version": s.version, "name": s.migration.name, "file": s.relpath, "mode": s.mode,
                  "mode_reason": s.parsed.mode_reason, "statements": len(s.parsed.statements),
                  "resume_from": s.resume_from, "batches": self.batches.get(s.version, [])}
                 for s in self.plan.steps]
        out = {"database": self.database, "dry_run": self.run is None, "plan": steps,
               "warnings": list(self.plan.warnings), "findings": [f.to_dict() for f in self.findings]}
        if self.safety is not None:
            out["safety"] = self.safety
        if self.run is not None:
            out["result"] = self.run.to_dict()
        return out


def _exec_options(project: Project, options: UpOptions):
    from . import db  # noqa: PLC0415
    from .execution import ExecOptions  # noqa: PLC0415

    env = project.env
    lock_timeout = options.lock_timeout if options.lock_timeout is not None else env.effective_lock_timeout
    user, host = db.whoami()
    return ExecOptions(
        lock_timeout=lock_timeout or None,
        statement_timeout=options.statement_timeout if options.statement_timeout is not None else env.statement_timeout,
        lock_retries=options.lock_retries if options.lock_retries is not None else env.lock_retries,
        retry_max=env.lock_retry_max_delay,
        applied_by=user, client_host=host, tool_version=db.tool_version())


def _lint_pending(project: Project, steps: list[Step], all_files: list[MigrationFile],
                  server_version: int | None = None) -> tuple:
    """Lint the files about to run, as one run, for the server's version unless one is configured."""
    if not steps:
        return ()
    from .lint.engine import LintInput, lint  # noqa: PLC0415

    inputs = [LintInput(s.relpath, s.parsed.text, has_rollback=s.migration.rollback is not None, parsed=s.parsed)
              for s in steps]
    options = _lint_options(project.config, env=project.env, server_version=server_version)  # bad [lint]: exit 2
    try:
        report = lint(inputs, options)
    except Exception as exc:  # noqa: BLE001 - a linter bug must not stop a migration; it is said, not hidden
        emit(project.reporter, WARNING, f"lint could not run ({type(exc).__name__}: {exc}); "
                                        "applying without its findings", level="warning")
        return ()
    return tuple(report.findings) + tuple(report.unused_ignores)


def up(project: Project, options: UpOptions = UpOptions(), confirm: Confirm | None = None) -> UpResult:
    from . import ledger as ledger_mod  # noqa: PLC0415
    from .execution import Executor  # noqa: PLC0415
    from .planning import PlanOptions, build_plan, pending_versions, version_states  # noqa: PLC0415

    files = _files(project)
    plan_options = PlanOptions(options.target, options.out_of_order, options.allow_changed)
    with connected(project) as conn:
        database = project.database_name(conn)
        lock = run_lock(project, conn, options.lock_wait) if not options.dry_run else _nothing()
        with lock:
            # read-only until every pending file has been read, named, split and parsed
            events = ledger_mod.read(conn, project.ledger)
            states = version_states(files, events)
            pending_versions(states, plan_options)  # changed or out-of-order versions stop it before parsing
            # every pending file, those after --target too: a syntax error anywhere stops everything
            pending = pending_versions(states, replace(plan_options, target=None, out_of_order=True)
                                       if options.parse_all else plan_options)
            by_version = {m.version: m for m in files}
            from .statements import fast_trees  # noqa: PLC0415

            with fast_trees():
                parsed = {s.version: parse(by_version[s.version], database) for s in pending}
            plan = build_plan(files, events, parsed, plan_options, ledger_mod.first_changed)
            findings = _lint_pending(project, list(plan.steps), files, conn.info.server_version // 10000)
            _report_findings(project.reporter, findings)
            errors = [f for f in findings if f.severity == "error"]
            if errors and project.env.protected and not options.force and not options.dry_run:
                raise SafetyRefusal(
                    f"lint found {len(errors)} error(s) in the pending migrations of protected environment "
                    f"{project.env.name!r}; first: {errors[0].location} {errors[0].rule}: {errors[0].message}",
                    hint="fix them, silence a reviewed one with `-- pgshift:ignore RULE`, or pass --force")
            for w in plan.warnings:
                emit(project.reporter, WARNING, w, level="warning")
            batches = {}
            if options.dry_run:
                from . import batching  # noqa: PLC0415

                batches = {s.version: batching.describe_batches(s.parsed, conn, [e.parsed for e in plan.steps[:i]])
                           for i, s in enumerate(plan.steps)
                           if any(st.directive("batch") for st in s.parsed.statements)}
            emit(project.reporter, PLAN, _plan_summary(plan, batches), steps=[s.version for s in plan.steps],
                 dry_run=options.dry_run)
            if options.dry_run or plan.empty:
                return UpResult(plan, None if options.dry_run else RunResult(()), findings,
                                _shown_database(project, conn), batches=batches)
            safety = None
            if project.env.protected:  # checks and confirmation first: a refused run changes nothing
                safety = _protected_gate(project, conn, plan, options, confirm, files)
            ledger_mod.ensure(conn, project.ledger, project.reporter)
            executor = Executor(conn, project.ledger, _exec_options(project, options), project.reporter)
            run = _run_with_backup_hint(safety, lambda: _run_with_monitor(project, executor, plan, options))
            return UpResult(plan, run, findings, _shown_database(project, conn), safety)


def _run_with_backup_hint(safety: dict | None, work):
    """A failure after a backup names the backup, as the guide's script does ("check backup at ...")."""
    from .errors import PgshiftError  # noqa: PLC0415

    try:
        return work()
    except PgshiftError as exc:
        backup = (safety or {}).get("backup")
        if backup:
            exc.details.setdefault("backup", backup["path"])
            exc.hint = ((exc.hint + "\n") if exc.hint else "") + (
                f"the backup taken before this run: {backup['path']} "
                f"(pgshift restore {backup['path']} --database-url URL)")
        raise


def _report_findings(reporter, findings, per_rule: int = 3) -> None:
    """Lint findings before a run: errors and warnings (a few per rule, then a count), info with -v."""
    shown: dict[str, int] = {}
    for f in findings:
        level = {"error": "warning", "warning": "warning"}.get(f.severity, "debug")
        shown[f.rule] = shown.get(f.rule, 0) + 1
        if shown[f.rule] <= per_rule or level == "debug":
            emit(reporter, "finding", f"{f.location}  {f.severity}  {f.rule}  {f.message}", level=level,
                 finding=f.to_dict())
    for rule, count in shown.items():
        if count > per_rule and any(f.rule == rule and f.severity != "info" for f in findings):
            emit(reporter, "finding", f"... and {count - per_rule} more {rule} finding(s); `pgshift lint` lists them all",
                 level="warning")


def _run_with_monitor(project, executor, plan, options) -> RunResult:
    """Run the plan under the monitor: from the start in protected environments or with
    --monitor; otherwise only once the run has lasted a few seconds, so that a migration
    stuck behind a lock is never silent (the monitor names who blocks it)."""
    from .safety import monitor as monitor_mod  # noqa: PLC0415

    pid = executor.conn.info.backend_pid
    url = database_url(project)
    eager = options.monitor or project.env.protected
    watcher = _LateMonitor(monitor_mod, project, pid, url, delay=0.0 if eager else LATE_MONITOR_DELAY)
    try:
        run = executor.run(plan)
        total = sum(s.execution_ms for s in run.steps)
        emit(project.reporter, RUN_COMPLETED, f"{len(run.steps)} file(s) run in {total / 1000:.2f}s",
             level="debug", steps=len(run.steps))
        return run
    finally:
        watcher.stop()


LATE_MONITOR_DELAY = 5.0


class _LateMonitor:
    """Starts the monitor after *delay* seconds unless stopped first; stops it with the run."""

    def __init__(self, monitor_mod, project, pid: int, url: str, delay: float):
        import threading  # noqa: PLC0415

        self._lock = threading.Lock()
        self._stopped = False
        self._monitor = None
        self._args = (monitor_mod, project, pid, url)
        if delay <= 0:
            self._start()
            self._timer = None
        else:
            self._timer = threading.Timer(delay, self._start)
            self._timer.daemon = True
            self._timer.start()

    def _start(self) -> None:
        monitor_mod, project, pid, url = self._args
        with self._lock:
            if self._stopped:
                return
            try:
                self._monitor = monitor_mod.start(project, pid, url)
            except Exception as exc:  # noqa: BLE001 - the watcher must never break the run it watches
                emit(project.reporter, WARNING, f"the monitor could not start: {exc}", level="warning")

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
            if self._monitor is not None:
                self._monitor.stop()


def _protected_gate(project, conn, plan, options, confirm, files) -> dict | None:
    """Protected environments: promotion path, preflight, backup, confirmation.

    The gate refuses before the backup when confirmation is impossible (no --yes, no
    confirm callback), so a refused run leaves no backup behind."""
    env = project.env
    if env.require_applied_in:
        _require_applied_in(project, plan)
    try:
        from .safety import gate  # noqa: PLC0415
    except ImportError:
        gate = None
    result = None
    if gate is not None:
        result = gate.before_apply(project, conn, plan, options, can_confirm=options.yes or confirm is not None)
    _confirm(project, f"apply {len(plan.steps)} migration(s) to {env.name}", env.name, options.yes, confirm)
    return result.to_dict() if result is not None else None


def _confirm(project: Project, action: str, word: str, yes: bool, confirm: Confirm | None) -> None:
    if yes:
        emit(project.reporter, CONFIRM, f"confirmed by --yes: {action}")
        return
    if confirm is None:
        raise SafetyRefusal(f"refusing to {action} without confirmation",
                            hint="run it on a terminal and type the word asked for, or pass --yes")
    if not confirm(f"About to {action}. Type {word} to continue", word):
        raise SafetyRefusal(f"not confirmed: {action} cancelled; nothing was changed")
    emit(project.reporter, CONFIRM, f"confirmed: {action}")


def _require_applied_in(project: Project, plan: Plan) -> None:
    from . import ledger as ledger_mod  # noqa: PLC0415
    from .planning import event_state, latest_events  # noqa: PLC0415

    other = _checked_environment(project)
    with connected(other) as conn:
        events = ledger_mod.read(conn, other.ledger)
    latest = latest_events(events)
    missing = [s.version for s in plan.steps
               if s.version not in latest or event_state(latest[s.version]) != APPLIED]
    if missing:
        raise SafetyRefusal(
            f"{len(missing)} version(s) are not applied in {other.env.name!r}, which {project.env.name!r} "
            f"requires first: {', '.join(missing)}",
            hint=f"apply them to {other.env.name} first (`pgshift --env {other.env.name} up`)",
            details={"missing": missing})


def _checked_environment(project: Project) -> Project:
    """The environment named by ``require_applied_in``, reached through its own configured url.

    --database-url, PGSHIFT_DATABASE_URL, DATABASE_URL and libpq's variables name the environment
    being deployed; read for the check, they would make pgshift ask the deployed database itself."""
    import os  # noqa: PLC0415

    name = project.env.require_applied_in
    env = project.config.environment(name)
    if not env.url:
        raise ConfigError(f"[env.{project.env.name}] require_applied_in names {name!r}, which has no url of its own: "
                          f"pgshift cannot read {name}'s ledger to check what it has applied",
                          hint=f"set url in [env.{name}]: require_applied_in reads {name}'s ledger through it")
    environ = {k: v for k, v in os.environ.items() if k not in ("PGSHIFT_DATABASE_URL", "DATABASE_URL")}
    try:
        connection = config_mod.resolve_connection(project.config, env, None, environ)
    except ConfigError as exc:
        exc.hint = f"export it: require_applied_in = {name!r} reads {name}'s ledger through [env.{name}] url"
        raise
    return Project(project.config, env, connection, project.reporter)


@contextmanager
def _nothing():
    yield


def _plan_summary(plan: Plan, batches: dict | None = None) -> str:
    if plan.empty:
        return "nothing to apply: the database is up to date"
    lines = [f"{len(plan.steps)} migration(s) to apply:"]
    for s in plan.steps:
        extra = f", resuming after statement {s.resume_from}" if s.resume_from else ""
        lines.append(f"  {s.version}  {s.migration.name}  [{s.mode}: {s.parsed.mode_reason}; "
                     f"{len(s.parsed.statements)} statements{extra}]")
        for text in (batches or {}).get(s.version, ()):
            lines.append("    " + text.replace("\n", "\n    "))
    return "\n".join(lines)


# --- verify, baseline ----------------------------------------------------------------

@dataclass(frozen=True)
class VerifyResult:
    checked: int
    changed: tuple[VersionState, ...]
    missing: tuple[VersionState, ...]

    @property
    def ok(self) -> bool:
        return not self.changed and not self.missing

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked,
                "changed": [s.to_dict() for s in self.changed], "missing": [s.to_dict() for s in self.missing]}


def verify(project: Project) -> VerifyResult:
    result = status(project, fresh=True)
    applied = [s for s in result.states if s.state in (APPLIED, CHANGED, MISSING)]
    return VerifyResult(len(applied), tuple(s for s in applied if s.state == CHANGED),
                        tuple(s for s in applied if s.state == MISSING))


@dataclass(frozen=True)
class BaselineResult:
    versions: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"baselined": list(self.versions)}


def baseline(project: Project, version: str, lock_wait: float = 60.0) -> BaselineResult:
    from . import db  # noqa: PLC0415
    from . import ledger as ledger_mod  # noqa: PLC0415
    from .planning import version_states  # noqa: PLC0415

    files = _files(project)
    if not any(m.version == version for m in files):
        raise InputError(f"baseline {version}: no migration has that version",
                         hint="`pgshift status` lists the versions")
    user, host = db.whoami()
    with connected(project) as conn, run_lock(project, conn, lock_wait):
        ledger_mod.ensure(conn, project.ledger, project.reporter)
        states = {s.version: s for s in version_states(files, ledger_mod.read(conn, project.ledger))}
        done = []
        with conn.transaction():
            for m in files:
                if m.version > version:
                    break
                if states[m.version].state in (APPLIED, CHANGED):
                    continue
                ledger_mod.start_event(conn, project.ledger, version=m.version, name=m.name,
                                       description=m.description, migration_type="baseline", checksum=m.checksum,
                                       applied_by=user, client_host=host, tool_version=db.tool_version(),
                                       status="completed")
                done.append(m.version)
            conn.execute(f"UPDATE {project.ledger.qualified} SET completed_at = started_at "
                         "WHERE migration_type = 'baseline' AND completed_at IS NULL")
    emit(project.reporter, INFO, f"recorded {len(done)} version(s) as applied without running them")
    return BaselineResult(tuple(done))


# --- init, new -------------------------------------------------------------------------

@dataclass(frozen=True)
class CreatedFiles:
    paths: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"created": list(self.paths)}


def init(project_dir: str | Path | None = None) -> CreatedFiles:
    from . import templates  # noqa: PLC0415

    root = Path(project_dir or ".").resolve()
    root.mkdir(parents=True, exist_ok=True)
    created = []
    cfg = root / config_mod.CONFIG_FILE
    if not cfg.exists():
        cfg.write_text(templates.CONFIG, encoding="utf-8")
        created.append(str(cfg))
    for folder in (root / "migrations", root / "migrations" / discovery.ROLLBACK_DIR):
        if not folder.exists():
            folder.mkdir(parents=True)
            created.append(str(folder) + "/")
    gitignore = root / ".gitignore"
    line = ".pgshift/"
    if not gitignore.exists() or line not in gitignore.read_text(encoding="utf-8").split():
        with gitignore.open("a", encoding="utf-8") as fh:
            fh.write(f"{line}\n")
    return CreatedFiles(tuple(created))


def new(project: Project, name: str, template: str = "blank", rollback: bool = True,
        now: _dt.datetime | None = None, description: str | None = None) -> CreatedFiles:
    from . import templates  # noqa: PLC0415

    if not name or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in name):
        raise InputError(f"bad migration name {name!r}: use lowercase letters, digits and _",
                         hint="e.g. pgshift new add_customer_preferences")
    if template not in templates.BODIES:
        raise InputError(f"unknown template {template!r}", hint="templates: " + ", ".join(templates.BODIES))
    folder = project.config.migrations_dir
    if not folder.is_dir():
        raise ConfigError(f"migrations folder {folder} does not exist", hint="run `pgshift init`")
    _check_name_length(folder, name)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    version = now.strftime("%Y%m%d%H%M%S")
    existing = {p.name[:14] for p in folder.glob("*.sql")}
    while version in existing:  # two `new` in the same second
        now += _dt.timedelta(seconds=1)
        version = now.strftime("%Y%m%d%H%M%S")
    from . import db  # noqa: PLC0415

    author, _ = db.whoami()
    fields = {"version": version, "name": name, "description": description or name.replace("_", " ").capitalize(),
              "author": author, "date": now.date().isoformat()}
    pair = [(folder / f"{version}_{name}.sql", templates.HEADER.format(**fields) + templates.BODIES[template])]
    if rollback:
        pair.append((folder / discovery.ROLLBACK_DIR / f"{version}_rollback_{name}.sql",
                     templates.ROLLBACK_HEADER.format(**fields) + templates.ROLLBACK_BODIES[template]))
    return CreatedFiles(tuple(_create_all(pair)))


def _check_name_length(folder: Path, name: str) -> None:
    """The longer of the two new files, ``<version>_rollback_<name>.sql``, must fit the file
    system's limit on a file name (checked even with --no-rollback: a rollback may come later)."""
    import os  # noqa: PLC0415

    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    longest = len(f"{'0' * discovery.VERSION_DIGITS}_rollback_{name}.sql".encode())
    if longest > limit:
        most = limit - (longest - len(name.encode()))
        raise InputError(f"migration name too long: {len(name)} characters, at most {most}",
                         hint=f"its rollback file <version>_rollback_<name>.sql must fit the file system's limit "
                              f"of {limit} bytes for a file name: shorten the name")


def _create_all(files: list[tuple[Path, str]]) -> list[str]:
    """Create every file (none may exist yet), or none: on a failure the files already made are removed."""
    made: list[Path] = []
    try:
        for path, text in files:
            path.parent.mkdir(exist_ok=True)
            with path.open("x", encoding="utf-8") as fh:
                made.append(path)
                fh.write(text)
    except OSError as exc:
        for path in made:
            path.unlink(missing_ok=True)
        raise InputError(f"cannot create {exc.filename or path}: {exc.strerror or exc}",
                         hint="nothing was created: fix the cause and run `pgshift new` again") from None
    return [str(path) for path, _ in files]


# --- rollback, down ------------------------------------------------------------------------

@dataclass(frozen=True)
class RollbackOptions:
    yes: bool = False
    dry_run: bool = False
    lock_timeout: float | None = None
    statement_timeout: float | None = None
    lock_wait: float = 60.0
    no_backup: bool = False
    monitor: bool = False


@dataclass(frozen=True)
class RollbackResult:
    steps: tuple[Step, ...]
    run: RunResult | None
    later_applied: tuple[str, ...] = ()
    safety: dict | None = None      # protected environments: preflight checks and the emergency backup

    def to_dict(self) -> dict:
        out = {"dry_run": self.run is None,
               "plan": [{"version": s.version, "name": s.migration.name, "file": s.relpath, "mode": s.mode,
                         "statements": len(s.parsed.statements)} for s in self.steps],
               "later_applied": list(self.later_applied)}
        if self.safety is not None:
            out["safety"] = self.safety
        if self.run is not None:
            out["result"] = self.run.to_dict()
        return out


def rollback(project: Project, version: str, options: RollbackOptions = RollbackOptions(),
             confirm: Confirm | None = None) -> RollbackResult:
    """Run VERSION's rollback file and record a `rollback` event."""
    return _roll_back(project, lambda applied: _one_version(version, applied), options, confirm)


def down(project: Project, steps: int | None = None, to: str | None = None,
         options: RollbackOptions = RollbackOptions(), confirm: Confirm | None = None) -> RollbackResult:
    """Roll back the newest applied versions (`steps`), or every one newer than `to`; newest first."""
    if (steps is None) == (to is None):
        raise InputError("say how far to go down: --steps N or --to VERSION (one of them)")
    if steps is not None and steps < 1:
        raise InputError("--steps must be 1 or more")

    def choose(applied: list[str]) -> list[str]:
        newest_first = sorted(applied, reverse=True)
        if steps is not None:
            return newest_first[:steps]
        if to not in applied:
            raise InputError(f"--to {to}: that version is not applied",
                             hint="`pgshift status` lists the applied versions")
        return [v for v in newest_first if v > to]

    return _roll_back(project, choose, options, confirm)


def _one_version(version: str, applied: list[str]) -> list[str]:
    return [version]


def _roll_back(project: Project, choose, options: RollbackOptions, confirm: Confirm | None) -> RollbackResult:
    from . import ledger as ledger_mod  # noqa: PLC0415
    from .execution import Executor  # noqa: PLC0415
    from .planning import version_states  # noqa: PLC0415

    files = _files(project)
    by_version = {m.version: m for m in files}
    with connected(project) as conn:
        database = project.database_name(conn)
        lock = run_lock(project, conn, options.lock_wait) if not options.dry_run else _nothing()
        with lock:
            events = ledger_mod.read(conn, project.ledger)
            states = {s.version: s for s in version_states(files, events)}
            applied = [v for v, s in states.items() if s.state in (APPLIED, CHANGED)]
            versions = choose(applied)
            problems = []
            for v in versions:
                state = states.get(v)
                if state is None or v not in by_version:
                    problems.append(f"{v}: no migration has this version")
                elif state.state not in (APPLIED, CHANGED):
                    problems.append(f"{v} ({state.name}): not applied (state: {state.state}), nothing to roll back")
                elif by_version[v].rollback is None:
                    problems.append(f"{v} ({state.name}): has no rollback file "
                                    f"(expected migrations/rollbacks/{v}_rollback_{state.name}.sql)")
            if problems:
                raise InputError("cannot roll back:\n" + "\n".join(f"  {p}" for p in problems),
                                 hint="`pgshift status` shows each version's state and whether it has a rollback")
            if not versions:
                emit(project.reporter, INFO, "nothing to roll back")
                return RollbackResult((), None if options.dry_run else RunResult(()))
            steps = []
            for v in versions:
                m = by_version[v]
                parsed = parse(m, database, rollback=True)
                steps.append(Step("rollback", m, parsed, parsed.mode))
            _refuse_empty_rollbacks(steps)
            chosen = set(versions)
            later = tuple(v for v in sorted(applied) if v > min(versions) and v not in chosen)
            lines = [f"  {s.version}  {s.migration.name}  [{s.relpath}: {s.mode}, {len(s.parsed.statements)} "
                     f"statements]" for s in steps]
            summary = f"{len(steps)} rollback(s) to run, newest first:\n" + "\n".join(lines)
            if later:
                summary += ("\nthese later versions stay applied and may depend on what is rolled back: "
                            + ", ".join(later))
            emit(project.reporter, PLAN, summary, steps=versions, dry_run=options.dry_run, later_applied=list(later))
            if options.dry_run:
                return RollbackResult(tuple(steps), None, later)
            safety = None
            if project.env.protected:
                try:
                    from .safety import gate  # noqa: PLC0415
                except ImportError:
                    gate = None
                if gate is not None and hasattr(gate, "before_rollback"):
                    safety = gate.before_rollback(project, conn, steps, options,
                                                  can_confirm=options.yes or confirm is not None).to_dict()
            what = "roll back " + ", ".join(versions) + (" (DATA MAY BE LOST)" if steps else "")
            if later:
                what += f"; later versions {', '.join(later)} stay applied"
            _confirm(project, what, "ROLLBACK", options.yes, confirm)
            ledger_mod.ensure(conn, project.ledger, project.reporter)
            executor = Executor(conn, project.ledger, _exec_options(project, UpOptions(
                lock_timeout=options.lock_timeout, statement_timeout=options.statement_timeout)), project.reporter)
            run = _run_with_backup_hint(safety, lambda: _run_with_monitor(project, executor, Plan(tuple(steps), ()),
                                                                          options))
            return RollbackResult(tuple(steps), run, later, safety)


def _refuse_empty_rollbacks(steps: list[Step]) -> None:
    """A rollback file without a statement (the stub `pgshift new` writes, never filled in) would
    be recorded as a rollback that undid nothing: refused, before anything runs."""
    from .model import Location  # noqa: PLC0415

    empty = [s for s in steps if not s.parsed.statements]
    if not empty:
        return
    what = ("rollback file has no SQL statement, only comments or blank lines: rolling back "
            f"{empty[0].version} ({empty[0].migration.name}) would undo nothing and record it as rolled back")
    if len(empty) > 1:
        what = (f"{len(empty)} rollback files have no SQL statement, only comments or blank lines: rolling back "
                "would undo nothing and record the versions as rolled back:\n"
                + "\n".join(f"  {Location(s.relpath, 1, 1)}: {s.version} ({s.migration.name})" for s in empty))
    raise InputError(
        what, location=Location(empty[0].relpath, 1, 1),
        hint="write the statements that undo the migration in the rollback file; if the version cannot be rolled "
             "back, delete its rollback file (pgshift then says it has none)",
        details={"empty_rollbacks": [s.version for s in empty]})


# --- test: a throwaway database ----------------------------------------------------------------

@dataclass(frozen=True)
class VersionCheck:
    version: str
    name: str
    status: str                      # passed, failed, no-rollback, error
    differences: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__, differences=list(self.differences))


@dataclass(frozen=True)
class TestResult:
    database: str
    applied: int
    checks: tuple[VersionCheck, ...]
    kept: bool
    restored_from: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.status in ("passed", "no-rollback") for c in self.checks)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "database": self.database, "applied": self.applied, "kept": self.kept,
                "restored_from": self.restored_from, "versions": [c.to_dict() for c in self.checks]}


def with_dbname(url: str, name: str) -> str:
    """*url* with another database name (any conninfo or URL form)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: PLC0415

    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


def test(project: Project, from_backup: str | Path | None = None, roundtrip: bool = False,
         keep: bool = False) -> TestResult:
    """Apply every migration to a throwaway database on the configured server; with
    ``roundtrip`` prove each rollback: snapshot, up, snapshot, rollback (must equal the
    first), up again (must equal the second). The database is always dropped (unless
    ``keep``), after a failure or Ctrl-C too."""
    import secrets  # noqa: PLC0415
    import time as _time  # noqa: PLC0415

    from . import db  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    files = _files(project)
    base_url = database_url(project)
    name = f"pgshift_test_{_time.strftime('%Y%m%d%H%M%S')}_{secrets.token_hex(3)}"
    with db.connect(base_url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        configured = admin.info.dbname
    emit(project.reporter, INFO, f"created throwaway database {name}")
    url = with_dbname(base_url, name)
    scratch = Project(project.config, config_mod.Environment(name="test"),
                      config_mod.Connection(url, "pgshift test"), project.reporter, stands_for=configured)
    checks: list[VersionCheck] = []
    applied = 0
    try:
        if from_backup is not None:
            _restore_backup(Path(from_backup), url, project.reporter)
        if not roundtrip:
            result = up(scratch, UpOptions(out_of_order=True, lock_wait=5))
            applied = len(result.run.steps) if result.run else 0
        else:
            applied, checks = _roundtrip(scratch, files, base_url)
        return TestResult(name, applied, tuple(checks), keep, str(from_backup) if from_backup else None)
    finally:
        if keep:
            emit(project.reporter, INFO, f"kept the test database {name}: {config_mod.mask_dsn(url)}")
        else:
            with db.connect(base_url) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            emit(project.reporter, INFO, f"dropped the test database {name}")


def _roundtrip(scratch: Project, files: list[MigrationFile], base_url: str) -> tuple[int, list[VersionCheck]]:
    """Apply each version to the scratch database, and prove its rollback on a copy of it
    (CREATE DATABASE ... TEMPLATE): rollback, compare, apply again, compare. A rollback that
    leaves something behind can then never spoil the proof of the versions after it."""
    import secrets  # noqa: PLC0415

    from psycopg import sql  # noqa: PLC0415

    from . import db  # noqa: PLC0415
    from . import ledger as ledger_mod  # noqa: PLC0415
    from . import snapshot  # noqa: PLC0415

    exclude = (scratch.config.ledger,)

    def snap(target: Project):
        with connected(target) as conn:
            return snapshot.take(conn, exclude=exclude)

    with connected(scratch) as conn:  # the ledger exists before the first snapshot, so it is no difference
        ledger_mod.ensure(conn, scratch.ledger, scratch.reporter)
        scratch_name = conn.info.dbname
    checks: list[VersionCheck] = []
    applied = 0
    pending = [s.version for s in status(scratch).states if s.state not in (APPLIED, CHANGED) and s.file]
    for m in files:
        if m.version not in pending:
            continue
        before = snap(scratch)
        # the first run reads every pending file (a syntax error anywhere stops it before anything
        # runs); the ones after it need not read them all again
        up(scratch, UpOptions(target=m.version, out_of_order=True, lock_wait=5, parse_all=applied == 0))
        applied += 1
        if m.rollback is None:
            checks.append(VersionCheck(m.version, m.name, "no-rollback"))
            emit(scratch.reporter, WARNING, f"{m.version} {m.name}: no rollback file to prove", level="warning")
            continue
        after = snap(scratch)
        probe_name = f"{scratch_name[:40]}_p{secrets.token_hex(3)}"
        with db.connect(base_url) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(probe_name),
                                                                           sql.Identifier(scratch_name)))
        probe = replace(scratch, connection=config_mod.Connection(with_dbname(base_url, probe_name), "pgshift test"))
        try:
            checks.append(_prove_rollback(probe, m, before, after, snap))
        finally:
            with db.connect(base_url) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(probe_name)))
        last = checks[-1]
        emit(scratch.reporter, INFO if last.status == "passed" else WARNING,
             f"{m.version} {m.name}: rollback " + ("restores the schema" if last.status == "passed" else
                                                   f"leaves {len(last.differences)} difference(s)"
                                                   + (f"; {last.error}" if last.error else "")),
             level="info" if last.status == "passed" else "warning")
    return applied, checks


def _prove_rollback(probe: Project, m: MigrationFile, before, after, snap) -> VersionCheck:
    from . import snapshot  # noqa: PLC0415

    try:
        rollback(probe, m.version, RollbackOptions(yes=True, lock_wait=5))
    except PgshiftError as exc:
        return VersionCheck(m.version, m.name, "failed", error=f"the rollback failed: {exc}")
    differences = [d.describe("before the migration", "after its rollback") for d in snapshot.diff(before, snap(probe))]
    try:
        up(probe, UpOptions(target=m.version, out_of_order=True, lock_wait=5))
    except PgshiftError as exc:
        return VersionCheck(m.version, m.name, "failed", tuple(differences),
                            error=f"applying it again after its rollback failed: {exc}")
    differences += [d.describe("after the first apply", "after applying it again")
                    for d in snapshot.diff(after, snap(probe))]
    return VersionCheck(m.version, m.name, "passed" if not differences else "failed", tuple(differences))


def _restore_backup(path: Path, url: str, reporter) -> None:
    """A pg_dump (custom format or plain SQL) into the throwaway database."""
    from .safety.backup import restore_file  # noqa: PLC0415

    if not path.is_file():
        raise InputError(f"backup file {path} does not exist")
    restore_file(path, url, reporter=reporter)


# --- diagnose -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Diagnosis:
    sections: dict

    def to_dict(self) -> dict:
        return self.sections


_DIAGNOSE = {
    "ledger": (
        "SELECT version, name, migration_type, status, started_at, completed_at, "
        "CASE WHEN completed_at IS NOT NULL THEN completed_at - started_at ELSE now() - started_at END AS duration, "
        "error FROM {ledger} ORDER BY id DESC LIMIT 50"),
    "waiting_locks": (
        "SELECT l.locktype, l.relation::regclass::text AS relation, l.mode, l.granted, a.pid, a.application_name, "
        "a.state, now() - a.xact_start AS transaction_age, left(a.query, 200) AS query, "
        "pg_blocking_pids(a.pid) AS blocked_by "
        "FROM pg_locks l LEFT JOIN pg_stat_activity a ON l.pid = a.pid WHERE NOT l.granted ORDER BY l.relation"),
    "blocking": (
        "SELECT w.pid AS waiting_pid, w.application_name AS waiting_app, left(w.query, 120) AS waiting_query, "
        "b.pid AS blocking_pid, b.application_name AS blocking_app, b.state AS blocking_state, "
        "now() - b.xact_start AS blocking_transaction_age, left(b.query, 120) AS blocking_query "
        "FROM pg_stat_activity w CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid) "
        "JOIN pg_stat_activity b ON b.pid = bp.pid ORDER BY w.pid"),
    "long_transactions": (
        "SELECT pid, application_name, state, now() - xact_start AS transaction_age, left(query, 200) AS query "
        "FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() "
        "AND now() - xact_start > interval '1 minute' ORDER BY xact_start"),
    "tables": (
        "SELECT schemaname, relname AS tablename, n_live_tup AS live_rows, n_dead_tup AS dead_rows, last_vacuum, "
        "last_autovacuum FROM pg_stat_user_tables "
        "WHERE schemaname NOT IN ('information_schema', 'pg_catalog') ORDER BY n_live_tup DESC LIMIT 50"),
}


def diagnose(project: Project) -> Diagnosis:
    from . import ledger as ledger_mod  # noqa: PLC0415

    sections: dict = {}
    with connected(project) as conn:
        for name, query in _DIAGNOSE.items():
            if name == "ledger":
                if not ledger_mod.exists(conn, project.ledger):
                    sections[name] = {"columns": [], "rows": [], "note": f"no ledger {project.config.ledger} yet"}
                    continue
                query = query.format(ledger=project.ledger.qualified)
            cur = conn.execute(query)
            columns = [c.name for c in cur.description]
            sections[name] = {"columns": columns, "rows": [list(r) for r in cur.fetchall()]}
    return Diagnosis(sections)


# --- lint ----------------------------------------------------------------------------------------

def lint(project_dir: str | Path | None = None, paths: list | None = None, fmt: str = "text",
         target_version: int | None = None, env: str | None = None):
    """Lint the project's migrations (or the given files and folders); returns (report, rendered text)."""
    from .lint.engine import LintReport  # noqa: PLC0415
    from .lint.engine import lint as run_lint  # noqa: PLC0415
    from .lint.output import render  # noqa: PLC0415

    cfg = config_mod.load(project_dir)
    sources: list[_LintSource] = []
    if not paths:
        discovery.require_folder(cfg.migrations_dir, cfg.root)
    targets = [Path(p) for p in (paths or [])] or [cfg.migrations_dir]
    for target in targets:
        if target.is_dir():
            if (target / discovery.ROLLBACK_DIR).is_dir() or any(target.glob("[0-9]*_*.sql")):
                for m in discovery.discover(target, cfg.root, read=False):
                    sources.append(_LintSource(m.relpath, m.abspath, m.rollback is not None))
                    if m.rollback is not None:
                        sources.append(_LintSource(m.rollback.relpath, str(m.rollback.path), is_rollback=True))
            else:
                sources.extend(_LintSource(_rel(path, cfg.root), str(path)) for path in sorted(target.rglob("*.sql")))
        elif target.parent.name == discovery.ROLLBACK_DIR:
            sources.append(_LintSource(_rel(target, cfg.root), str(target), is_rollback=True))
        else:
            named = discovery.is_migration_name(target.name)
            has_rollback = (discovery.rollback_for(target) is not None) if named else None
            sources.append(_LintSource(_rel(target, cfg.root), str(target), has_rollback))
    # findings name files as seen from where pgshift runs (a repository's root, in CI), so that
    # annotations and SARIF results point at files that exist there; outside it, from the project
    here = Path.cwd().resolve()
    if here != cfg.root:
        sources = [replace(s, relpath=_rel(Path(s.path), here)) if _under(Path(s.path), here) else s
                   for s in sources]
    options = _lint_options(cfg, target_version, cfg.environments.get(env or config_mod.DEFAULT_ENV))
    # Without a database, nothing says which files are still pending: a table created by an earlier
    # file may have been applied long ago and hold millions of rows. So each file is its own run
    # here (only tables created earlier in the same file are exempt); `up` lints its pending files
    # as one run.
    reports = _lint_each(sources, options) or [run_lint([], options)]
    report = LintReport(
        findings=[f for r in reports for f in r.findings],
        unused_ignores=[f for r in reports for f in r.unused_ignores],
        has_errors=any(r.has_errors for r in reports),
        files=sum(r.files for r in reports), statements=sum(r.statements for r in reports),
        target_version=reports[0].target_version)
    return report, render(report, fmt)


@dataclass(frozen=True)
class _LintSource:
    """A file to lint, not read yet (the workers read their own share)."""
    relpath: str
    path: str
    has_rollback: bool | None = None
    is_rollback: bool = False


def _lint_options(cfg: config_mod.Config, target_version: int | None = None,
                  env: config_mod.Environment | None = None, server_version: int | None = None):
    """The project's lint settings. The PostgreSQL version linted for is the first given of:
    --target-version, the environment's target_version, [lint] target_version,
    [pgshift] target_version, the connected server's major version; else the newest."""
    from .lint.engine import LintOptions  # noqa: PLC0415
    from .lint.registry import get_rule  # noqa: PLC0415

    for name in (*cfg.lint.disable, *cfg.lint.severity):
        if get_rule(name) is None:
            raise ConfigError(f"[lint] names an unknown rule {name!r}", location=config_mod.locate(cfg, name),
                              hint="see `pgshift lint --list`")
    version = (target_version or (env.target_version if env is not None else None) or cfg.lint.target_version
               or cfg.target_version or server_version)
    return LintOptions(target_version=version, disable=cfg.lint.disable, severity=cfg.lint.severity,
                       ledger=cfg.ledger)


def _lint_one_by_one(sources: list, options) -> list:
    """Read and lint each file as its own run."""
    from .lint.engine import LintInput, lint_each  # noqa: PLC0415

    inputs = [s if isinstance(s, LintInput) else
              LintInput(s.relpath, discovery.read_text(s.path, s.relpath), has_rollback=s.has_rollback,
                        is_rollback=s.is_rollback) for s in sources]
    return lint_each(inputs, options)


def _lint_each(sources: list, options) -> list:
    """Lint each file as its own run; many files are spread over the machine's cores
    (forked workers, which already have the parser and the rules loaded)."""
    from . import parallel  # noqa: PLC0415

    workers = parallel.workers_available()
    if len(sources) < 200 or workers < 2:
        return _lint_one_by_one(sources, options)
    from .lint.registry import all_rules  # noqa: PLC0415
    from .statements import fast_trees  # noqa: PLC0415

    all_rules()  # the rules and the fast parse trees are made once, before the fork
    shares = parallel.split(sources, workers)
    with fast_trees():
        parts = parallel.map_shares(lambda share: _lint_one_by_one(share, options), shares)
    return [r for part in parts for r in part]


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder)


def lint_explain(rule: str) -> str:
    from .lint.engine import explain  # noqa: PLC0415

    return explain(rule)


def lint_rule(rule: str) -> dict:
    """One rule's id, severity, versions, aliases, summary and documentation."""
    from .lint.registry import describe  # noqa: PLC0415

    return describe(rule)


def lint_rules() -> list[dict]:
    from .lint.engine import list_rules  # noqa: PLC0415

    return list_rules()


# --- check, backup, restore (production safety) ------------------------------------------------

def check(project: Project):
    """The preflight checks alone; the report's ``ok`` is False when one failed."""
    from .safety import commands  # noqa: PLC0415

    return commands.check(project, database_url(project))


def render_check(report) -> str:
    return report.render()


def backup(project: Project, out: str | Path | None = None):
    from .safety import commands  # noqa: PLC0415

    return commands.backup(project, out=out, url=database_url(project))


def restore(file: str | Path, database_url: str, project: Project | None = None, no_owner: bool = False):
    from .safety import commands  # noqa: PLC0415

    return commands.restore(project, file, database_url, no_owner=no_owner,
                            reporter=project.reporter if project is not None else None)


# --- the embedded server ------------------------------------------------------------------

@dataclass(frozen=True)
class DbStatus:
    pgdata: str
    running: bool
    url: str | None
    pid: int | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def db_command(project_dir: str | Path | None, action: str, database: str | None = None) -> DbStatus:
    from . import embedded  # noqa: PLC0415

    root = Path(project_dir or ".").resolve()
    pgdata = embedded.pgdata_for(root)
    if action == "start":
        embedded.start(pgdata, database)
    elif action == "stop":
        embedded.stop(pgdata)
    elif action not in ("status", "url"):
        raise InputError(f"unknown db action {action!r}")
    st = embedded.status(pgdata)
    url = None
    if st.running:
        url = embedded.url_for(pgdata, database)
    elif action == "url":
        raise ConfigError(f"the embedded PostgreSQL in {pgdata} is not running", hint="pgshift db start")
    return DbStatus(str(pgdata), st.running, url, st.pid)


__all__ = [
    "Project",
    "open_project",
    "database_url",
    "connected",
    "run_lock",
    "parse",
    "StatusResult",
    "status",
    "UpOptions",
    "UpResult",
    "up",
    "VerifyResult",
    "verify",
    "BaselineResult",
    "baseline",
    "CreatedFiles",
    "init",
    "new",
    "RollbackOptions",
    "RollbackResult",
    "rollback",
    "down",
    "VersionCheck",
    "TestResult",
    "test",
    "Diagnosis",
    "diagnose",
    "lint",
    "lint_explain",
    "lint_rules",
    "check",
    "render_check",
    "backup",
    "restore",
    "DbStatus",
    "db_command",
]
