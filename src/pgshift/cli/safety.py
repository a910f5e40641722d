"""``pgshift check``, ``backup`` and ``restore``: production safety on its own."""
from __future__ import annotations

import click

from ..errors import ExitCode
from . import options as global_options
from .options import Command
from .session import project, show


@click.command(cls=Command)
def check():
    """The preflight safety checks, alone (exit 3 when one fails)."""
    from .. import api  # noqa: PLC0415

    report = api.check(project())
    show(report, api.render_check(report))
    return ExitCode.OK if report.ok else ExitCode.REFUSED


@click.command(cls=Command)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="Write the dump here.")
def backup(out_file):
    """pg_dump in custom format (mode 0600, with a SHA-256 beside it)."""
    from .. import api  # noqa: PLC0415

    result = api.backup(project(), out=out_file)
    show(result, f"backup written: {result.path}")


@click.command(cls=Command)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--no-owner", is_flag=True, help="Do not restore object owners (when the roles do not exist there).")
def restore(file, no_owner):
    """Restore a backup into another database (--database-url is required)."""
    from .. import api  # noqa: PLC0415

    url = global_options.current().database_url
    if not url:
        raise click.UsageError("restore needs --database-url URL: the database to restore into")
    result = api.restore(file, url, project=project(), no_owner=no_owner)
    show(result, f"restored {file}")
