"""A project: its configuration, the chosen environment, the resolved connection and the reporter.

The database URL is resolved here and only here, once per project, in the order the
contract gives: ``--database-url``, ``PGSHIFT_DATABASE_URL``, ``DATABASE_URL``, the
environment's ``url``, libpq's own ``PG*`` variables, and last the embedded server (never
for a protected environment). :class:`Connection` keeps where the URL came from
(``source``), so messages and run headers can say it.

Every verb takes a :class:`Project` (``open_project``); ``safety``, ``execution`` and the
commands read its fields, typed, instead of an untyped object.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, cast

from . import config as config_mod
from .config import Config, Environment, mask_dsn
from .errors import ConfigError
from .events import INFO, Reporter, emit
from .text import format_duration

if TYPE_CHECKING:
    from .ledger import Ledger

LIBPQ_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE", "PGPASSFILE")
URL_VARS = ("PGSHIFT_DATABASE_URL", "DATABASE_URL")

# where a URL came from (Connection.source); the environment's own url reads "[env.NAME] url"
FROM_FLAG = "--database-url"
FROM_LIBPQ = "libpq environment variables"
FROM_EMBEDDED = "embedded"


@dataclass(frozen=True)
class Connection:
    """Where a project connects, and where that choice came from."""
    url: str | None          # None: the embedded server; "": libpq's PG* variables alone
    source: str              # FROM_FLAG, a URL_VARS name, "[env.NAME] url", FROM_LIBPQ, FROM_EMBEDDED
    embedded: bool = False

    @property
    def masked(self) -> str:
        """The URL without its password, for messages."""
        return mask_dsn(self.url) if self.url is not None else "the embedded PostgreSQL"


def resolve_connection(config: Config, env: Environment, database_url: str | None = None,
                       environ: dict | None = None) -> Connection:
    """The connection *env* uses, by the contract's precedence (see the module docstring)."""
    environ = cast(dict, os.environ) if environ is None else environ
    if database_url:
        return Connection(database_url, FROM_FLAG)
    for var in URL_VARS:
        if environ.get(var):
            return Connection(environ[var], var)
    if env.url:
        url = config_mod.expand(env.url, environ=environ, where=f"[env.{env.name}] url", source=config.source)
        return Connection(url, f"[env.{env.name}] url")
    if any(environ.get(v) for v in LIBPQ_VARS):
        return Connection("", FROM_LIBPQ)
    if env.protected:
        raise ConfigError(
            f"environment {env.name!r} is protected and has no database configured; "
            "pgshift never uses its embedded PostgreSQL for a protected environment",
            hint=f"set url in [env.{env.name}], or pass --database-url",
        )
    return Connection(None, FROM_EMBEDDED, embedded=True)


@dataclass
class Project:
    """A project opened for one run: configuration, environment, connection, reporter.

    Made by :func:`open_project`; every verb takes one. Nothing connects until a verb does.

    Attributes:
        config: The parsed ``pgshift.toml`` (or ``[tool.pgshift]``): root folder, migrations
            folder, ledger table, environments, lint settings.
        env: The chosen environment's settings (timeouts, ``protected``, backups, checks).
        connection: Where the project connects (``.url``; ``.source``, where that URL came from;
            ``.embedded``, pgshift's own server) and, ``.masked``, the URL without its password.
        reporter: Receives every event (progress, plan, findings, warnings); None drops them.
            :class:`pgshift.events.RecordingReporter` keeps them for a test or a later rendering.
        stands_for: For a throwaway copy, the name of the database it copies (what a file's
            ``\\c`` names); None otherwise.
        environ: The environment variables it was opened with (None: ``os.environ``); another
            environment of the project (``require_applied_in``) is resolved with them too.
    """
    config: Config
    env: Environment
    connection: Connection
    reporter: Reporter | None = None
    stands_for: str | None = None   # a throwaway copy: the name of the database it copies
    environ: dict | None = field(default=None, repr=False, compare=False)
    _url: str | None = field(default=None, repr=False, compare=False)

    @property
    def ledger(self) -> Ledger:
        """The ledger table this project records its events in."""
        from .ledger import Ledger  # noqa: PLC0415

        return Ledger(self.config.ledger_schema, self.config.ledger_table)

    @property
    def backup_dir(self) -> Path:
        """The environment's backup folder, relative to the project root unless absolute."""
        folder = Path(self.env.backup_dir)
        return folder if folder.is_absolute() else Path(self.config.root) / folder

    def url(self, *, start: bool = True) -> str:
        """The URL to connect to, starting the embedded server when that is the choice (once).

        Starting it is announced to the reporter, with its data folder: the server outlives the
        command. With ``start=False`` (the read-only commands: status, verify, ``up --dry-run``,
        diagnose) a server that is not running is a ConfigError (exit 2) saying how to start it."""
        if self._url is None:
            if self.connection.embedded:
                from . import embedded  # noqa: PLC0415

                pgdata = embedded.pgdata_for(self.config.root)
                if embedded.is_running(pgdata):
                    emit(self.reporter, INFO, f"using the embedded PostgreSQL in {pgdata}", level="debug")
                elif not start:
                    raise ConfigError(
                        f"the embedded PostgreSQL in {pgdata} is not running, and this command only reads: "
                        "it does not start one",
                        hint="start it with `pgshift db start` (`pgshift up` starts it too), or point pgshift at a "
                             "database: --database-url, DATABASE_URL or [env.NAME] url")
                else:
                    emit(self.reporter, INFO, f"starting the embedded PostgreSQL in {pgdata}; it keeps running "
                         "after this command (`pgshift db stop` stops it, `pgshift db list` lists them)")
                self._url = embedded.start(pgdata, self.env.database)
            else:
                self._url = self.connection.url or ""
        return self._url

    @contextmanager
    def connected(self, *, start: bool = True, watch: bool = True) -> Iterator:
        """A connection; server notices go to the reporter. ``start=False``: never start the
        embedded server (see :meth:`url`). ``watch``: a watchdog gives every wait on it a deadline,
        the environment's ``stall_timeout`` (see ``db.Watchdog``): a connection that neither answers
        nor closes ends the command with an error instead of a wait without end."""
        from . import db  # noqa: PLC0415
        from .errors import OperationError, PgshiftError  # noqa: PLC0415

        url = self.url(start=start)
        conn = db.connect(url)
        conn.add_notice_handler(lambda diag: emit(self.reporter, INFO, f"server notice: {diag.message_primary}"))
        try:
            if not watch:
                yield conn
                return
            stall = self.env.effective_stall_timeout
            with db.Watchdog(conn, url, stall) as watchdog:
                try:
                    yield conn
                except Exception as exc:
                    if watchdog.tripped is None or (isinstance(exc, PgshiftError)
                                                    and exc.details.get("connection_lost")):
                        raise
                    raise OperationError(
                        f"the connection to the server stalled ({watchdog.tripped}); pgshift gave up on it after "
                        f"{format_duration(stall)} and ended its server session",
                        hint="check the network between pgshift and the server, then run the command again "
                             "(stall_timeout in the environment sets how long pgshift waits)",
                        details={"stalled": watchdog.tripped, "connection_lost": True}) from None
        finally:
            conn.close()

    def database_name(self, conn) -> str:
        """The database a file's ``\\c`` may name: the one connected to, or the one this copy stands for."""
        return self.stands_for or conn.info.dbname

    def shown_database(self, conn) -> str:
        """The database a result names: the masked URL; with libpq's variables alone (no url),
        where libpq connected (host, port, user, database; never a password)."""
        if self.connection.url or self.connection.embedded:
            return self.connection.masked
        from . import db  # noqa: PLC0415

        return db.libpq_target(conn)

    def at(self, url: str, source: str, *, env: Environment | None = None, stands_for: str | None = None) -> Project:
        """The same project pointed at another database (a throwaway copy, a probe)."""
        return replace(self, connection=Connection(url, source), env=env or self.env, _url=None,
                       stands_for=stands_for if stands_for is not None else self.stands_for)


def open_project(project: str | Path | None = None, env: str | None = None, database_url: str | None = None,
                 reporter: Reporter | None = None, environ: dict | None = None) -> Project:
    """Load a project's configuration, choose its environment and resolve its connection.

    The URL is resolved once, in this order: *database_url*, ``PGSHIFT_DATABASE_URL``,
    ``DATABASE_URL``, the environment's ``url``, libpq's ``PG*`` variables, and last the
    embedded PostgreSQL (never for a protected environment). Nothing connects yet.

    Args:
        project: The project folder (holding ``pgshift.toml`` or a ``pyproject.toml`` with
            ``[tool.pgshift]``); default the current folder.
        env: The environment's name (an ``[env.NAME]`` section); default ``dev``.
        database_url: A PostgreSQL URL that wins over every other setting (``--database-url``).
        reporter: Where events go (see :class:`Project`); default none.
        environ: The environment variables to read instead of ``os.environ`` (for tests).

    Returns:
        The opened :class:`Project`.

    Raises:
        ConfigError: The folder does not exist, the configuration is invalid, the environment
            is unknown, a ``${VAR}`` is unset, or a protected environment has no URL (exit 2).
    """
    cfg = config_mod.load(project)
    environment = cfg.environment(env or config_mod.DEFAULT_ENV)
    return Project(cfg, environment, resolve_connection(cfg, environment, database_url, environ), reporter,
                   environ=environ)


def environment_project(project: Project, name: str) -> Project:
    """The environment *name* of the same project, reached through its own configured url.

    The flag, ``PGSHIFT_DATABASE_URL``, ``DATABASE_URL`` and libpq's variables name the
    environment being deployed; read here, they would make pgshift ask that database itself."""
    env = project.config.environment(name)
    if not env.url:
        raise ConfigError(f"[env.{project.env.name}] require_applied_in names {name!r}, which has no url of its own: "
                          f"pgshift cannot read {name}'s ledger to check what it has applied",
                          hint=f"set url in [env.{name}]: require_applied_in reads {name}'s ledger through it")
    given = project.environ if project.environ is not None else os.environ
    environ = {k: v for k, v in given.items() if k not in URL_VARS}
    try:
        connection = resolve_connection(project.config, env, None, environ)
    except ConfigError as exc:
        exc.hint = f"export it: require_applied_in = {name!r} reads {name}'s ledger through [env.{name}] url"
        raise
    return Project(project.config, env, connection, project.reporter, environ=project.environ)
