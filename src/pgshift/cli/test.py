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
@click.option("--strict", is_flag=True,
              help="With --roundtrip: a column at another position, or a view or function printed otherwise, fails "
                   "too (by default they are notes).")
@click.option("--markdown", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE",
              help="With --roundtrip: also write the report per version, grouped by kind, as Markdown (for a pull "
                   "request).")
def test(from_backup, roundtrip, keep, strict, markdown):
    """Apply every migration to a throwaway database, then drop it."""
    from .. import api  # noqa: PLC0415

    if (strict or markdown) and not roundtrip:
        raise click.UsageError("--strict and --markdown are options of --roundtrip")
    result = api.test(project(), from_backup=from_backup, roundtrip=roundtrip, keep=keep, strict=strict)
    if markdown:
        from pathlib import Path  # noqa: PLC0415

        Path(markdown).write_text(result.to_markdown(), encoding="utf-8")
    lines = [f"applied {result.applied} migration(s) to {result.database}"]
    if result.checks:
        lines.append(table(("version", "name", "rollback"), [(c.version, c.name, c.status) for c in result.checks]))
        for c in result.checks:
            lines += [f"  {c.version} {c.name}: {d}" for d in c.differences]
            lines += [f"  {c.version} {c.name}: note: {d}" for d in c.notes]
            if c.error:
                lines.append(f"  {c.version} {c.name}: {c.error}")
    lines.append("all rollbacks restore the schema" if roundtrip and result.ok else
                 ("rollback differences found" if not result.ok else "ok"))
    show(result, "\n".join(lines))
    return ExitCode.OK if result.ok else ExitCode.FAILED
