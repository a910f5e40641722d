"""``pgshift test``: every migration (and, with --roundtrip, every rollback) on a throwaway database."""
from __future__ import annotations

import click

from ..errors import ExitCode
from .options import Command
from .render import table
from .session import project, show


@click.command(cls=Command)
@click.option("--from-backup", type=click.Path(dir_okay=False), default=None,
              help="Restore this pg_dump (custom format or plain SQL) first.")
@click.option("--roundtrip", is_flag=True, help="Prove every rollback restores the schema.")
@click.option("--keep", is_flag=True, help="Keep the throwaway database.")
def test(from_backup, roundtrip, keep):
    """Apply every migration to a throwaway database, then drop it."""
    from .. import api  # noqa: PLC0415

    result = api.test(project(), from_backup=from_backup, roundtrip=roundtrip, keep=keep)
    lines = [f"applied {result.applied} migration(s) to {result.database}"]
    if result.checks:
        lines.append(table(("version", "name", "rollback"), [(c.version, c.name, c.status) for c in result.checks]))
        for c in result.checks:
            lines += [f"  {c.version} {c.name}: {d}" for d in c.differences]
            if c.error:
                lines.append(f"  {c.version} {c.name}: {c.error}")
    lines.append("all rollbacks restore the schema" if roundtrip and result.ok else
                 ("rollback differences found" if not result.ok else "ok"))
    show(result, "\n".join(lines))
    return ExitCode.OK if result.ok else ExitCode.FAILED
