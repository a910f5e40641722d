"""``pgshift repair``: set the ledger straight by hand, each change audited."""
from __future__ import annotations

import click

from .options import Command, duration
from .session import confirm_fn, project, show


@click.command(cls=Command)
@click.option("--record-checksums", is_flag=True,
              help="Record the files' checksums for applied versions with none (or a different one).")
@click.option("--remove-failed", is_flag=True, help="Delete failed or interrupted events of files that are gone.")
@click.option("--mark-applied", "mark_applied", multiple=True, metavar="VERSION",
              help="Record VERSION as applied without running it (repeatable).")
@click.option("--mark-pending", "mark_pending", multiple=True, metavar="VERSION",
              help="Record VERSION as not applied, without running its rollback (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show the changes and make none.")
@click.option("--yes", is_flag=True, help="Confirm without typing REPAIR (protected environments).")
@click.option("--lock-wait", default="60s", show_default=True, help="How long to wait for another runner's lock.")
def repair(record_checksums, remove_failed, mark_applied, mark_pending, dry_run, yes, lock_wait):
    """Repair the ledger: record checksums, remove failed entries of gone files, mark versions."""
    from .. import api  # noqa: PLC0415

    options = api.RepairOptions(record_checksums=record_checksums, remove_failed=remove_failed,
                                mark_applied=tuple(mark_applied), mark_pending=tuple(mark_pending), yes=yes,
                                dry_run=dry_run, lock_wait=duration(lock_wait))
    result = api.repair(project(), options, confirm=confirm_fn())
    lines = [f"{a['action']} {a['version']}: {a['what']}" for a in result.actions]
    verb = "would make" if result.dry_run else "made"
    lines.append(f"{verb} {len(result.actions)} change(s)" if result.actions else "nothing to repair")
    show(result, "\n".join(lines))
