"""``pgshift up`` and ``pgshift baseline``: the ledger moves forward."""
from __future__ import annotations

import click

from .options import Command, duration
from .session import confirm_fn, project, show, show_run


@click.command(cls=Command)
@click.option("--target", default=None, help="Apply up to and including this version.")
@click.option("--dry-run", is_flag=True, help="Print the plan and touch nothing.")
@click.option("--yes", is_flag=True, help="Confirm without a prompt (protected environments).")
@click.option("--lock-timeout", default=None, help="lock_timeout for every statement, e.g. 2s, 500ms; 0 for none.")
@click.option("--statement-timeout", default=None, help="statement_timeout, e.g. 5min; 0 for none.")
@click.option("--lock-wait", default="60s", show_default=True, help="How long to wait for another runner's lock.")
@click.option("--blocker-wait", default=None,
              help="How long a statement waits for a visible session blocking its lock before giving up, "
                   "instead of queueing behind it (0: attempt at once); default 5min when protected, else 0.")
@click.option("--out-of-order", is_flag=True, help="Apply pending versions older than the newest applied one.")
@click.option("--allow-changed", is_flag=True, help="Go on although applied files changed.")
@click.option("--no-backup", is_flag=True, help="Skip the pre-migration backup (protected environments).")
@click.option("--monitor", is_flag=True, help="Report locks and blockers while it runs.")
@click.option("--force", is_flag=True, help="Apply despite lint errors in a protected environment.")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Apply exactly what `pgshift plan --format json --out FILE` planned; "
                   "refused when it no longer holds.")
@click.option("--allow-drift", is_flag=True,
              help="Apply in a protected environment although the schema drifted (see `pgshift drift`).")
def up(target, dry_run, yes, lock_timeout, statement_timeout, lock_wait, blocker_wait, out_of_order, allow_changed,
       no_backup, monitor, force, allow_drift, plan_file):
    """Apply pending migrations in version order."""
    from .. import api  # noqa: PLC0415

    options = api.UpOptions(target=target, dry_run=dry_run, out_of_order=out_of_order, allow_changed=allow_changed,
                            lock_timeout=duration(lock_timeout, timeout=True),
                            statement_timeout=duration(statement_timeout, timeout=True),
                            lock_wait=duration(lock_wait), yes=yes, force=force, no_backup=no_backup,
                            monitor=monitor, blocker_wait=duration(blocker_wait), allow_drift=allow_drift,
                            plan=plan_file)
    show_run(api.up(project(), options, confirm=confirm_fn()), "applied {n} migration(s)", "the database is up to date")


@click.command(cls=Command)
@click.argument("version")
@click.option("--lock-wait", default="60s", show_default=True)
def baseline(version, lock_wait):
    """Record every version up to VERSION as applied without running it."""
    from .. import api  # noqa: PLC0415

    result = api.baseline(project(), version, duration(lock_wait))
    show(result, f"baselined {len(result.versions)} version(s)"
         + (f": {result.versions[0]} … {result.versions[-1]}" if result.versions else ""))
