"""``pgshift db start|stop|status|url|list``: the embedded PostgreSQL (``stop --all``: every one pgshift started)."""
from __future__ import annotations

import click

from ..errors import PgshiftError
from . import options as global_options
from .options import Group
from .session import show


@click.group(cls=Group)
def db():
    """The embedded PostgreSQL (in .pgshift/pgdata under the project)."""


def _run(action: str) -> None:
    from .. import api  # noqa: PLC0415

    opts = global_options.current()
    try:   # the environment's own database name, where the configuration gives one
        database = api.open_project(opts.project, opts.env).env.database
    except PgshiftError:
        database = None
    result = api.db_command(opts.project, action, database)
    if action == "url":
        show(result, result.url)
    else:
        state = f"running (pid {result.pid})\nurl: {result.url}" if result.running else "stopped"
        show(result, f"embedded PostgreSQL in {result.pgdata}: {state}")


@db.command("start")
def start():
    """Start it (creating it the first time)."""
    _run("start")


@db.command("stop")
@click.option("--all", "every", is_flag=True, help="Stop every embedded server pgshift started (see `db list`).")
def stop(every):
    """Stop it (with --all: every embedded server pgshift started)."""
    if every:
        _servers(stop=True)
    else:
        _run("stop")


@db.command("status")
def status():
    """Say whether it runs."""
    _run("status")


@db.command("url")
def url():
    """Print its connection URL."""
    _run("url")


@db.command("list")
def list_():
    """List the embedded servers pgshift started, of every project."""
    _servers(stop=False)


def _servers(stop: bool) -> None:
    from ..commands.db import db_servers  # noqa: PLC0415

    result = db_servers(stop=stop)
    lines = [f"stopped the embedded PostgreSQL in {pgdata}" for pgdata in result.stopped]
    for s in result.servers:
        state = f"running (pid {s.pid})" if s.running else "not running (a stale postmaster.pid)"
        lines.append(f"{s.project or '(no project)'}: {state}\n  data: {s.pgdata}"
                     + (f"\n  url: {s.url}" if s.url else ""))
    if not result.servers:
        lines.append("no embedded PostgreSQL started by pgshift is running" if not stop else
                     "no embedded PostgreSQL started by pgshift is left running")
    show(result, "\n".join(lines))
