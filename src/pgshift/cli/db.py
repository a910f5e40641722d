"""``pgshift db start|stop|status|url``: the embedded PostgreSQL."""
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
def stop():
    """Stop it."""
    _run("stop")


@db.command("status")
def status():
    """Say whether it runs."""
    _run("status")


@db.command("url")
def url():
    """Print its connection URL."""
    _run("url")
