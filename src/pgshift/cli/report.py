"""``pgshift report``: the project as one self-contained HTML page."""
from __future__ import annotations

import click

from .options import Command
from .session import project, show


@click.command(cls=Command)
@click.option("--out", "out", type=click.Path(dir_okay=False), default="pgshift-report.html", show_default=True,
              help="The HTML file to write (relative to the current folder).")
@click.option("--roundtrip", is_flag=True,
              help="Run the round trip (as `pgshift test --roundtrip`, on a throwaway database) and show it.")
@click.option("--roundtrip-from", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Show the round trip of an earlier `pgshift --json test --roundtrip > FILE`.")
@click.option("--no-lint", is_flag=True, help="Leave lint out.")
@click.option("--plan", "plan_from", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Show a plan: `pgshift plan --format json --out FILE`.")
def report(out, roundtrip, roundtrip_from, no_lint, plan_from):
    """A self-contained HTML page: ledger timeline, states, lint findings, round trips, a plan, drift.

    The page needs nothing else to be read (no script, no network): open it in a
    browser, attach it to a CI run, mail it. When lint or the round trip cannot
    run, its section says why and the page is written anyway (exit 0).
    """
    from .. import api  # noqa: PLC0415

    if roundtrip and roundtrip_from:
        raise click.UsageError("--roundtrip and --roundtrip-from exclude each other: run it, or read an earlier run")
    result = api.report(project(), out, roundtrip=roundtrip, roundtrip_from=roundtrip_from, lint=not no_lint,
                        plan_from=plan_from)
    parts = [f"{result.versions} version(s)", f"{result.events} ledger event(s)"]
    parts.append(f"{result.findings} lint finding(s)" if result.findings is not None else "lint: not run")
    if result.roundtrip is not None:
        parts.append(f"{result.roundtrip} round trip(s), {result.roundtrip_failed} failed")
    elif result.roundtrip_error:
        parts.append("round trip: could not run")
    show(result, f"wrote {result.path} ({', '.join(parts)})")
