"""One function per command, returning typed results. Never prints, never exits.

The CLI, the pytest plugin and the tests all go through here. Output goes to
the injected reporter; errors are raised as :class:`pgshift.errors.PgshiftError`.
"""
from __future__ import annotations

import datetime as _dt
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import config as config_mod
from . import discovery
from .errors import ConfigError, InputError, MismatchError, PlanError, SafetyRefusal
from .events import CONFIRM, INFO, PLAN, WARNING, emit
from .model import (
    APPLIED, CHANGED, MISSING, TX_FILE, MigrationFile, ParsedFile, Plan, RunResult, Step, VersionState,
)

Confirm = Callable[[str, str], bool]   # (prompt, the word to type) -> confirmed


@dataclass
class Project:
    config: config_mod.Config
    env: config_mod.Environment
    connection: config_mod.Connection
    reporter: object = None

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


@contextmanager
def run_lock(project: Project, conn, wait: float):
    from . import db  # noqa: PLC0415

    db.acquire_run_lock(conn, project.config.ledger, wait, project.reporter)
    try:
        yield
    finally:
        db.release_run_lock(conn, project.config.ledger)


def _files(project: Project) -> list[MigrationFile]:
    return discovery.discover(project.config.migrations_dir, project.config.root)


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
        counts: dict[str, int] = {}
        for s in self.states:
            counts[s.state] = counts.get(s.state, 0) + 1
        return {"database": self.database, "ledger": self.ledger, "ledger_exists": self.ledger_exists,
                "counts": counts, "versions": [s.to_dict() for s in self.states]}


def status(project: Project) -> StatusResult:
    from . import ledger as ledger_mod  # noqa: PLC0415
    from .planning import version_states  # noqa: PLC0415

    files = _files(project)
    with connected(project) as conn:
        exists = ledger_mod.exists(conn, project.ledger)
        events = ledger_mod.read(conn, project.ledger) if exists else []
    states = version_states(files, events)
    return StatusResult(tuple(states), project.connection.masked, project.config.ledger, exists)


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


@dataclass(frozen=True)
class UpResult:
    plan: Plan
    run: RunResult | None
    findings: tuple = ()
    database: str = ""

    def to_dict(self) -> dict:
        steps = [{"version": s.version, "name": s.migration.name, "file": s.relpath, "mode": s.mode,
                  "mode_reason": s.parsed.mode_reason, "statements": len(s.parsed.statements),
                  "resume_from": s.resume_from} for s in self.plan.steps]
        out = {"database": self.database, "dry_run": self.run is None, "plan": steps,
               "warnings": list(self.plan.warnings), "findings": [f.to_dict() for f in self.findings]}
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


def _lint_pending(project: Project, steps: list[Step], all_files: list[MigrationFile]) -> tuple:
    if not steps:
        return ()
    cfg = project.config
    try:
        from .lint.engine import LintInput, LintOptions, lint  # noqa: PLC0415

        inputs = [LintInput(s.relpath, s.parsed.text, has_rollback=s.migration.rollback is not None,
                            parsed=s.parsed) for s in steps]
        report = lint(inputs, LintOptions(target_version=cfg.lint.target_version or cfg.target_version,
                                          disable=cfg.lint.disable, severity=cfg.lint.severity, ledger=cfg.ledger))
    except Exception as exc:  # noqa: BLE001 - a linter bug must not stop a migration; it is said, not hidden
        emit(project.reporter, WARNING, f"lint could not run ({type(exc).__name__}: {exc}); "
                                        "applying without its findings", level="warning")
        return ()
    return tuple(report.findings)


def up(project: Project, options: UpOptions = UpOptions(), confirm: Confirm | None = None) -> UpResult:
    from . import ledger as ledger_mod  # noqa: PLC0415
    from .execution import Executor  # noqa: PLC0415
    from .planning import PlanOptions, build_plan, pending_versions, version_states  # noqa: PLC0415

    files = _files(project)
    plan_options = PlanOptions(options.target, options.out_of_order, options.allow_changed)
    with connected(project) as conn:
        database = conn.info.dbname
        lock = run_lock(project, conn, options.lock_wait) if not options.dry_run else _nothing()
        with lock:
            # read-only until every pending file has been read, named, split and parsed
            events = ledger_mod.read(conn, project.ledger)
            states = version_states(files, events)
            chosen = pending_versions(states, plan_options)
            by_version = {m.version: m for m in files}
            parsed = {s.version: parse(by_version[s.version], database) for s in chosen}
            plan = build_plan(files, events, parsed, plan_options)
            findings = _lint_pending(project, list(plan.steps), files)
            for f in findings:
                emit(project.reporter, "finding", f"{f.location}  {f.severity}  {f.rule}  {f.message}",
                     level="warning" if f.severity != "info" else "info", finding=f.to_dict())
            errors = [f for f in findings if f.severity == "error"]
            if errors and project.env.protected and not options.force and not options.dry_run:
                raise SafetyRefusal(
                    f"lint found {len(errors)} error(s) in the pending migrations of protected environment "
                    f"{project.env.name!r}; first: {errors[0].location} {errors[0].rule}: {errors[0].message}",
                    hint="fix them, silence a reviewed one with `-- pgshift:ignore RULE`, or pass --force")
            for w in plan.warnings:
                emit(project.reporter, WARNING, w, level="warning")
            emit(project.reporter, PLAN, _plan_summary(plan), steps=[s.version for s in plan.steps],
                 dry_run=options.dry_run)
            if options.dry_run or plan.empty:
                return UpResult(plan, None if options.dry_run else RunResult(()), findings, project.connection.masked)
            ledger_mod.ensure(conn, project.ledger, project.reporter)
            if project.env.protected:
                _protected_gate(project, conn, plan, options, confirm, files)
            executor = Executor(conn, project.ledger, _exec_options(project, options), project.reporter)
            run = _run_with_monitor(project, executor, plan, options)
            return UpResult(plan, run, findings, project.connection.masked)


def _run_with_monitor(project, executor, plan, options) -> RunResult:
    monitor = None
    if options.monitor or project.env.protected:
        try:
            from .safety import monitor as monitor_mod  # noqa: PLC0415
        except ImportError:
            monitor_mod = None
        if monitor_mod is not None:
            monitor = monitor_mod.start(project, executor.conn.info.backend_pid, database_url(project))
    try:
        return executor.run(plan)
    finally:
        if monitor is not None:
            monitor.stop()


def _protected_gate(project, conn, plan, options, confirm, files) -> None:
    """Protected environments: promotion path, preflight, backup, confirmation."""
    env = project.env
    if env.require_applied_in:
        _require_applied_in(project, plan)
    try:
        from .safety import gate  # noqa: PLC0415
    except ImportError:
        gate = None
    if gate is not None:
        gate.before_apply(project, conn, plan, options)
    _confirm(project, f"apply {len(plan.steps)} migration(s) to {env.name}", env.name, options.yes, confirm)


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

    other = open_project(project.config.root, project.env.require_applied_in, None, project.reporter)
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


@contextmanager
def _nothing():
    yield


def _plan_summary(plan: Plan) -> str:
    if plan.empty:
        return "nothing to apply: the database is up to date"
    lines = [f"{len(plan.steps)} migration(s) to apply:"]
    for s in plan.steps:
        extra = f", resuming after statement {s.resume_from}" if s.resume_from else ""
        lines.append(f"  {s.version}  {s.migration.name}  [{s.mode}: {s.parsed.mode_reason}; "
                     f"{len(s.parsed.statements)} statements{extra}]")
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
    result = status(project)
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
    path = folder / f"{version}_{name}.sql"
    path.write_text(templates.HEADER.format(**fields) + templates.BODIES[template], encoding="utf-8")
    created = [str(path)]
    if rollback:
        rb_dir = folder / discovery.ROLLBACK_DIR
        rb_dir.mkdir(exist_ok=True)
        rb = rb_dir / f"{version}_rollback_{name}.sql"
        rb.write_text(templates.ROLLBACK_HEADER.format(**fields) + templates.ROLLBACK_BODIES[template],
                      encoding="utf-8")
        created.append(str(rb))
    return CreatedFiles(tuple(created))


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


__all__ = [name for name in dir() if not name.startswith("_")]
_ = (field, TX_FILE, PlanError, MismatchError)
