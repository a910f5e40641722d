"""``pgshift drift``, ``pgshift schema dump`` and ``pgshift schema diff``: the schema's truth."""
from __future__ import annotations

import click

from ..errors import ExitCode
from .options import Command, Group
from .session import project, show


@click.command(cls=Command)
def drift():
    """Compare the live schema with what the last applied version left (exit 1 on drift).

    Each version pgshift applies records the fingerprint of the schema it left (and, with
    store_snapshots = true, the snapshot, so the objects that differ are named). No shadow
    database. Read-only.
    """
    from .. import api  # noqa: PLC0415

    result = api.drift(project())
    if result.status == "unknown":
        lines = [f"{result.database}: drift unknown"]
    elif not result.drifted:
        lines = [f"{result.database}: no drift: the schema is what {result.expected_version} left"]
    else:
        at = f" ({result.last_matched_at:%Y-%m-%d %H:%M:%S})" if hasattr(result.last_matched_at, "strftime") else ""
        lines = [f"{result.database}: DRIFT: the schema differs from what {result.expected_version} left; "
                 f"it last matched after {result.last_matched_version}{at}"]
        if result.matches_version:
            lines.append(f"it is exactly the schema after {result.matches_version}: the versions since then look "
                         "undone by hand (or a restore)")
        lines += ["  " + d["text"].replace("\n", "\n  ") for d in result.differences]
    lines += [f"note: {n}" for n in result.notes]
    show(result, "\n".join(lines))
    return ExitCode.FAILED if result.drifted else ExitCode.OK


@click.group(cls=Group)
def schema():
    """The schema as a file (dump) and two databases compared (diff)."""


@schema.command("dump", cls=Command)
@click.option("--out", default=None, help="Write it to this file (relative to the project); default: stdout.")
def dump(out):
    """A stable, normalised schema file: pg_dump --schema-only without owners, grants or volatile lines."""
    from .. import api  # noqa: PLC0415
    from . import options as global_options  # noqa: PLC0415

    result = api.schema_dump(project(), out)
    if out is None and not global_options.current().json:
        click.echo(result.text, nl=False)
        return ExitCode.OK
    show(result, f"{result.path}: {'written' if result.changed else 'unchanged'} ({result.sha256[:12]})")
    return ExitCode.OK


class _TwoEnvironments(Command):
    """``schema diff``: its own ``--env`` (given twice) stands in for the global one."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params = [p for p in self.params if p.name != "env"]


@schema.command("diff", cls=_TwoEnvironments)
@click.option("--env", "envs", multiple=True, help="An environment to compare (its configured url); twice.")
@click.option("--url", "urls", multiple=True, help="A database URL to compare; twice, or with one --env.")
def diff(envs, urls):
    """Two databases: versions applied on one and not the other, and the objects that differ (exit 1 if any)."""
    from .. import api  # noqa: PLC0415

    result = api.schema_diff(project(), envs, urls)
    a, b = result.a, result.b
    lines = [f"applied on {a}, not on {b}: {', '.join(result.only_in_a) or 'none'}",
             f"applied on {b}, not on {a}: {', '.join(result.only_in_b) or 'none'}"]
    if result.differences:
        lines.append(f"{len(result.differences)} difference(s) in the schema:")
        lines += ["  " + d["text"].replace("\n", "\n  ") for d in result.differences]
    else:
        lines.append("the schemas are the same" + (f" ({result.a_sha256[:12]})" if result.same else ""))
    show(result, "\n".join(lines))
    return ExitCode.OK if result.same else ExitCode.FAILED
