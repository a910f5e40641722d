"""``db``: the project's embedded PostgreSQL (start, stop, status, url), and every server
pgshift started (list, ``stop --all``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError, OperationError


@dataclass(frozen=True)
class DbStatus:
    """A project's embedded PostgreSQL, as ``db_command`` left it.

    Attributes:
        pgdata: Its data folder.
        running: Whether it runs.
        url: Its URL (to the project's database when one was named), when it runs.
        pid: The postmaster's process id, when it runs.
    """
    pgdata: str
    running: bool
    url: str | None
    pid: int | None

    def to_dict(self) -> dict:
        """``--json``: every field."""
        return dict(self.__dict__)


def db_command(project_dir: str | Path | None, action: str, database: str | None = None) -> DbStatus:
    """Start, stop or look at the project's embedded PostgreSQL (``pgshift db ACTION``).

    Args:
        project_dir: The project folder; default the current folder.
        action: ``start``, ``stop``, ``status`` or ``url``.
        database: The database its URL names (``start`` creates it); default ``postgres``.

    Returns:
        A :class:`DbStatus` after the action.

    Raises:
        InputError: An unknown action (exit 2).
        ConfigError: ``url`` of a server that is not running (exit 2).
        OperationError: The server cannot start or stop.
    """
    from .. import embedded  # noqa: PLC0415

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


@dataclass(frozen=True)
class DbServer:
    """A server pgshift started: its data folder, its project (None for one the test plugin or a
    bench started), whether it runs, its pid and URL."""
    pgdata: str
    project: str | None
    running: bool
    pid: int | None
    url: str | None

    def to_dict(self) -> dict:
        """``--json``: every field."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class DbServers:
    """The servers pgshift started that are still there (``db list``), and those ``db stop --all`` stopped."""
    servers: tuple[DbServer, ...]
    stopped: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """``--json``: the servers (each as :meth:`DbServer.to_dict`) and the data folders stopped."""
        return {"servers": [s.to_dict() for s in self.servers], "stopped": list(self.stopped)}


def db_servers(stop: bool = False) -> DbServers:
    """``pgshift db list``: the embedded servers pgshift started, from its registry (entries
    whose server has stopped are pruned). ``stop``: ``pgshift db stop --all`` stops each one
    first; a server that will not stop is an OperationError naming it, after the others stopped."""
    from .. import embedded  # noqa: PLC0415

    stopped, failed = [], []
    if stop:
        for pgdata in embedded.known_servers():
            try:
                if embedded.stop(pgdata):
                    stopped.append(str(pgdata))
            except OperationError as exc:
                failed.append(exc.message)
    servers = []
    for pgdata in embedded.known_servers():
        st = embedded.status(pgdata)
        project = embedded.project_of(pgdata)
        servers.append(DbServer(str(pgdata), str(project) if project else None, st.running, st.pid, st.url))
    if failed:
        raise OperationError("\n".join(failed), hint=f"stopped {len(stopped)} other server(s); see each server's "
                                                    "log file in its data folder",
                             details={"stopped": stopped})
    return DbServers(tuple(servers), tuple(stopped))
