"""``db``: the project's embedded PostgreSQL (start, stop, status, url)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError


@dataclass(frozen=True)
class DbStatus:
    """The embedded server of a project: its data folder, whether it runs, its URL and pid."""
    pgdata: str
    running: bool
    url: str | None
    pid: int | None

    def to_dict(self) -> dict:
        """``--json``: every field."""
        return dict(self.__dict__)


def db_command(project_dir: str | Path | None, action: str, database: str | None = None) -> DbStatus:
    """``pgshift db start|stop|status|url``: the project's embedded PostgreSQL."""
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
