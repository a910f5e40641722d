"""``pgshift lint``: static checks of migration files, and the rules' documentation.

The verb is imported from its own module in ``commands`` (``api`` would bring nothing lint
needs). The JSON document is the one :func:`~pgshift.cli.render.dump_json` writes for the
report; when it is large (compact, then) the findings are encoded in the processes that
found them and only joined here (``tests/unit/lint/test_lint_start.py`` holds the two equal).
"""
from __future__ import annotations

import click

from ..errors import ExitCode
from . import options as global_options
from .options import Command
from .render import SCHEMA_VERSION, dump_json, table

#: findings from which the document is surely compact: each is 8 values, and dump_json
#: writes a document of more than 5,000 values compact
_MANY = 1000


@click.command(cls=Command)
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default=None,
              help="Output format (default text; json with --json).")
@click.option("--explain", "explain", default=None, metavar="RULE", help="Print a rule's documentation.")
@click.option("--list", "list_rules", is_flag=True, help="List the rules.")
@click.option("--target-version", type=int, default=None, help="PostgreSQL major version to lint for.")
def lint(paths, fmt, explain, list_rules, target_version):
    """Static checks: what blocks or breaks production, with the line and the safe alternative."""
    from ..commands import lint as verb  # noqa: PLC0415

    opts = global_options.current()
    as_json = opts.json or fmt == "json"
    if explain:
        click.echo(dump_json(verb.lint_rule(explain)) if as_json else verb.lint_explain(explain))
        return ExitCode.OK
    if list_rules:
        rules = verb.lint_rules()
        click.echo(dump_json({"rules": rules}) if as_json else
                   table(("rule", "severity", "versions", "summary"),
                         [(r["id"], r["severity"], r["versions"], r["summary"]) for r in rules]))
        return ExitCode.OK
    fmt = fmt or ("json" if opts.json else "text")
    if fmt == "json":   # the contract's document
        run = verb.lint_encoded(opts.project, list(paths), encode_findings, target_version=target_version,
                                env=opts.env)
        click.echo(document(run), color=True)   # JSON escapes every control character: nothing to strip
        return ExitCode.FAILED if run.report.has_errors else ExitCode.OK
    report, text = verb.lint(opts.project, list(paths), fmt, target_version=target_version, env=opts.env)
    click.echo(text)
    return ExitCode.FAILED if report.has_errors else ExitCode.OK


def encode_findings(findings) -> str:
    """Findings as the comma-separated JSON objects of the compact document (no brackets)."""
    import json  # noqa: PLC0415

    return json.dumps([f.to_dict() for f in findings], separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)[1:-1]


def document(run) -> str:
    """The JSON document of a lint run whose findings came back encoded: ``dump_json(report.to_dict())``
    of the whole report, byte for byte."""
    import json  # noqa: PLC0415

    data = run.report.to_dict()       # the run without its findings ("findings" first, empty)
    data["summary"].update(run.counts)
    if run.findings < _MANY:
        data["findings"] = json.loads(f"[{','.join(run.parts)}]")
        return dump_json(data)
    del data["findings"]
    rest = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f'{{"schema_version":{SCHEMA_VERSION},"findings":[{",".join(run.parts)}],{rest[1:]}'
