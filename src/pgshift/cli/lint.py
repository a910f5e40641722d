"""``pgshift lint``: static checks of migration files, and the rules' documentation."""
from __future__ import annotations

import click

from ..errors import ExitCode
from . import options as global_options
from .options import Command
from .render import dump_json, table


@click.command(cls=Command)
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default=None,
              help="Output format (default text; json with --json).")
@click.option("--explain", "explain", default=None, metavar="RULE", help="Print a rule's documentation.")
@click.option("--list", "list_rules", is_flag=True, help="List the rules.")
@click.option("--target-version", type=int, default=None, help="PostgreSQL major version to lint for.")
def lint(paths, fmt, explain, list_rules, target_version):
    """Static checks: what blocks or breaks production, with the line and the safe alternative."""
    from .. import api  # noqa: PLC0415

    opts = global_options.current()
    as_json = opts.json or fmt == "json"
    if explain:
        click.echo(dump_json(api.lint_rule(explain)) if as_json else api.lint_explain(explain))
        return ExitCode.OK
    if list_rules:
        rules = api.lint_rules()
        click.echo(dump_json({"rules": rules}) if as_json else
                   table(("rule", "severity", "versions", "summary"),
                         [(r["id"], r["severity"], r["versions"], r["summary"]) for r in rules]))
        return ExitCode.OK
    fmt = fmt or ("json" if opts.json else "text")
    report, text = api.lint(opts.project, list(paths), "text" if fmt == "json" else fmt,
                            target_version=target_version, env=opts.env)
    click.echo(dump_json(report.to_dict()) if fmt == "json" else text)   # json: the contract's document
    return ExitCode.FAILED if report.has_errors else ExitCode.OK
