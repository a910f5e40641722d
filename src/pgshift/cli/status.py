"""``pgshift status`` and ``pgshift verify``: the ledger against the files."""
from __future__ import annotations

import click

from ..errors import ExitCode
from . import options as global_options
from .options import Command
from .render import render_status
from .session import project, show


@click.command(cls=Command)
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when `up` has something to apply (pending, failed, rolled back, out of order; a "
                   "repeatable migration pending, changed or failed): for CI.")
def status(exit_code):
    """Every version: applied, pending, failed, rolled_back, changed, missing, out_of_order.

    A rollback "stub" holds no statement yet (as `pgshift new` wrote it). Read-only: the
    embedded PostgreSQL is not started (exit 2, saying how, when it is not running).
    """
    from .. import api  # noqa: PLC0415

    result = api.status(project())
    text = render_status(result, color=not global_options.current().no_color)
    if result.repeatables:   # migrations/repeatable/*.sql, after the versions
        text += "\nrepeatable migrations:\n" + "\n".join(
            f"  {r.file or r.name}  {r.state}" + (f": {r.error}" if r.error else "") for r in result.repeatables)
    show(result, text)
    if exit_code and (result.to_apply or any(r.state in ("pending", "changed", "failed") for r in result.repeatables)):
        return ExitCode.FAILED
    return ExitCode.OK


@click.command(cls=Command)
def verify():
    """Compare applied files with their recorded checksums; exit 1 on any mismatch."""
    from .. import api  # noqa: PLC0415

    result = api.verify(project())
    lines = [f"{s.file}: changed since applied (recorded {s.recorded_checksum[:12]}, file {s.file_checksum[:12]})"
             for s in result.changed]
    lines += [f"{s.version} {s.name}: applied, but its file is missing" for s in result.missing]
    lines += [f"{s.file or s.version}: unverifiable: the ledger recorded no checksum for it"
              for s in result.unverifiable]
    lines.append(f"{result.checked} applied migration(s) checked: "
                 + ("all match" if result.ok else f"{len(result.changed) + len(result.missing)} mismatch(es)"))
    if result.unverifiable:
        lines.append(f"{len(result.unverifiable)} applied migration(s) unverifiable (no recorded checksum): "
                     "`pgshift repair --record-checksums` records the files' current checksums")
    show(result, "\n".join(lines))
    return ExitCode.OK if result.ok else ExitCode.FAILED
