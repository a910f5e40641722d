"""``pgshift rollback`` and ``pgshift down``: rollback files run, newest first."""
from __future__ import annotations

import click

from .options import Command, duration
from .session import confirm_fn, project, show_run


def _rollback_options(f):
    f = click.option("--yes", is_flag=True, help="Confirm without typing ROLLBACK (required without a terminal).")(f)
    f = click.option("--dry-run", is_flag=True, help="Show what would run and touch nothing.")(f)
    f = click.option("--lock-timeout", default=None, help="lock_timeout for every statement.")(f)
    f = click.option("--lock-wait", default="60s", show_default=True)(f)
    f = click.option("--blocker-wait", default=None,
                     help="How long a statement waits for a visible session blocking its lock (0: attempt at once); "
                          "default 5min when protected, else 0.")(f)
    f = click.option("--no-backup", is_flag=True, help="Skip the emergency backup (protected environments).")(f)
    f = click.option("--monitor", is_flag=True, help="Report locks and blockers while it runs.")(f)
    return f


def _options(yes, dry_run, lock_timeout, lock_wait, blocker_wait, no_backup, monitor):
    from .. import api  # noqa: PLC0415

    return api.RollbackOptions(yes=yes, dry_run=dry_run, lock_timeout=duration(lock_timeout, timeout=True),
                               lock_wait=duration(lock_wait), no_backup=no_backup, monitor=monitor,
                               blocker_wait=duration(blocker_wait))


@click.command(cls=Command)
@click.argument("version")
@_rollback_options
def rollback(version, **options):
    """Run VERSION's rollback file and record it (asks you to type ROLLBACK)."""
    from .. import api  # noqa: PLC0415

    show_run(api.rollback(project(), version, _options(**options), confirm=confirm_fn()),
             "rolled back {n} version(s)", "nothing to roll back")


@click.command(cls=Command)
@click.option("--steps", type=int, default=None, help="Roll back the newest N applied versions.")
@click.option("--to", "to", default=None, help="Roll back every version newer than this one.")
@_rollback_options
def down(steps, to, **options):
    """Roll back, newest first, stopping at the first failure."""
    from .. import api  # noqa: PLC0415

    show_run(api.down(project(), steps=steps, to=to, options=_options(**options), confirm=confirm_fn()),
             "rolled back {n} version(s)", "nothing to roll back")
