"""``pgshift squash``: one baseline migration in place of the history up to a version."""
from __future__ import annotations

import click

from ..errors import ExitCode
from .options import Command
from .session import project, show


@click.command(cls=Command)
@click.option("--to", "to", required=True, metavar="VERSION", help="The newest version the baseline replaces.")
@click.option("--archive", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Where the replaced files go (default: squashed/<VERSION>/ in the project).")
@click.option("--dry-run", is_flag=True, help="Prove the baseline; write and move nothing.")
def squash(to, archive, dry_run):
    """Write one baseline migration in place of the history up to --to, proven on a throwaway database.

    Its schema equals the history's (catalog snapshots of two throwaway databases compared); the
    replaced files move out of the migrations folder. Databases that applied them keep working;
    new ones apply the baseline."""
    from .. import api  # noqa: PLC0415

    result = api.squash(project(), to, archive=archive, dry_run=dry_run)
    verb = "would write" if result.dry_run else "wrote"
    lines = [f"{verb} {result.baseline}: replaces {len(result.replaced)} version(s), "
             f"{result.replaced[0]}..{result.version} ({result.objects} objects, the history's schema)"]
    if result.archived_to:
        lines.append(f"moved the replaced files to {result.archived_to}/")
    show(result, "\n".join(lines))
    return ExitCode.OK
