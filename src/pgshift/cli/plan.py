"""``pgshift plan``: the pending migrations run on a copy of the target, observed, and gated."""
from __future__ import annotations

import click

from ..errors import ExitCode
from .options import Command, duration
from .session import project, show


@click.command(cls=Command)
@click.option("--target", default=None, help="Plan up to and including this version.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE",
              help="Write the plan to FILE (in --format) instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True,
              help="json is what `pgshift up --plan FILE` reads; markdown is for a pull request.")
@click.option("--scale-rows", type=click.IntRange(min=0), default=100_000, show_default=True,
              help="At most this many rows per table in the copy; durations are extrapolated to the target's size.")
@click.option("--from-backup", type=click.Path(dir_okay=False), default=None,
              help="Build the copy from this backup instead of the target's schema and synthetic rows.")
@click.option("--truth-timeout", default="10s", show_default=True,
              help="statement_timeout of each read-only data-truth query on the target.")
@click.option("--no-probes", is_flag=True, help="Do not probe the blast radius from a second session.")
@click.option("--copy-server", default=None, metavar="URL",
              help="Make the copy on this server (a scratch one, or `pgshift db url`'s); default the target's server.")
@click.option("--column-stats", is_flag=True,
              help="Shape the copy's rows by the target's column statistics (pg_stats: null fractions, widths).")
def plan(target, out, fmt, scale_rows, from_backup, truth_timeout, no_probes, copy_server, column_stats):
    """Run the pending migrations on a copy: locks, rewrites, blast radius, time at size, data truth."""
    from .. import api  # noqa: PLC0415

    options = api.PlanOptions(target=target, scale_rows=scale_rows, from_backup=from_backup,
                              truth_timeout=duration(truth_timeout), probes=not no_probes, copy_server=copy_server,
                              column_stats=column_stats)
    result = api.plan(project(), options)
    if fmt == "json":
        from .render import dump_json  # noqa: PLC0415

        rendered = dump_json(result.to_dict())
    else:
        rendered = result.to_markdown() if fmt == "markdown" else result.to_text()
    if out:
        from pathlib import Path  # noqa: PLC0415

        Path(out).write_text(rendered if rendered.endswith("\n") else rendered + "\n", encoding="utf-8")
        show(result, f"plan written to {out}: " + ("passes" if result.ok else "fails") + " the policy")
    elif fmt == "json":
        click.echo(rendered)
    else:
        show(result, rendered.rstrip("\n"))
    return ExitCode.OK if result.ok else ExitCode.FAILED
