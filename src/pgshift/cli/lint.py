"""``pgshift lint``: static checks of migration files, and the rules' documentation.

A lint in a pre-commit hook or in CI is mostly start-up, so this module loads nothing
heavy of its own. A plain command line (paths and ``--format``, ``--target-version`` and
the global options, each with its value; see :func:`plain_command`) is read here without
click, whose import and parsing are 15 ms of a lint (a small JSON document still loads it,
through cli/render); any other line, ``--help``,
``--explain``, ``--list`` and every usage error, goes to the click command (``lint``, made
when the root group first asks for it). Both end in :func:`run`.

The verb is imported from its own module in ``commands`` (``api`` would bring nothing lint
needs). The JSON document is the one :func:`~pgshift.cli.render.dump_json` writes for the
report; when it is large (compact, then) the findings are encoded in the processes that
found them and only joined here (``tests/unit/lint/test_lint_start.py`` holds the two equal).
"""
from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from ..errors import ExitCode

FORMATS = ("text", "json", "sarif", "github")

#: set when a lint has printed its findings: the process may leave without tearing down (cli.run)
finished = False

#: findings from which the document is surely compact: each is 8 values, and dump_json
#: writes a document of more than 5,000 values compact
_MANY = 1000
#: render.SCHEMA_VERSION, for the large document, which would otherwise load cli/render and
#: with it click for nothing else (a test holds the two equal)
_SCHEMA_VERSION = 1

# the global options a plain line may hold (cli/options.py declares them for click)
_GLOBAL_FLAGS = {"--json": "json", "--no-color": "no_color", "-v": "verbose", "--verbose": "verbose",
                 "-q": "quiet", "--quiet": "quiet"}
_GLOBAL_VALUES = {"--project": "project", "--env": "env", "--database-url": "database_url"}


def __getattr__(name: str):
    """``lint``, the click command, made when first asked for."""
    if name != "lint":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import click  # noqa: PLC0415

    from . import options as global_options  # noqa: PLC0415
    from .options import Command  # noqa: PLC0415

    @click.command(cls=Command)
    @click.argument("paths", nargs=-1, type=click.Path(exists=True))
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                  help="Output format (default text; json with --json).")
    @click.option("--explain", "explain", default=None, metavar="RULE", help="Print a rule's documentation.")
    @click.option("--list", "list_rules", is_flag=True, help="List the rules.")
    @click.option("--target-version", type=int, default=None, help="PostgreSQL major version to lint for.")
    @click.option("--no-cache", is_flag=True,
                  help="Lint every file again: neither read nor write the lint cache (.pgshift_cache/).")
    def lint(paths, fmt, explain, list_rules, target_version, no_cache):
        """Static checks: what blocks or breaks production, with the line and the safe alternative.

        A file's findings are kept in .pgshift_cache/ at the project's root (PGSHIFT_CACHE_DIR
        elsewhere) and used again while the file, its rollback and the lint settings are unchanged."""
        return run(global_options.current(), paths, fmt, target_version, explain=explain, list_rules=list_rules,
                   cache=not no_cache)

    globals()["lint"] = lint
    return lint


def run(opts, paths, fmt: str | None, target_version: int | None, *, explain: str | None = None,
        list_rules: bool = False, cache: bool = True) -> ExitCode:
    """The command, its line read: *opts* holds the global options. When the lint has printed,
    :data:`finished` tells :func:`pgshift.cli.run` the process may leave at once."""
    from ..commands import lint as verb  # noqa: PLC0415

    global finished

    as_json = opts.json or fmt == "json"
    if explain or list_rules:
        from .render import dump_json, table  # noqa: PLC0415

    if explain:
        _echo(dump_json(verb.lint_rule(explain)) if as_json else verb.lint_explain(explain))
        return ExitCode.OK
    if list_rules:
        rules = verb.lint_rules()
        _echo(dump_json({"rules": rules}) if as_json else
              table(("rule", "severity", "versions", "summary"),
                    [(r["id"], r["severity"], r["versions"], r["summary"]) for r in rules]))
        return ExitCode.OK
    fmt = fmt or ("json" if opts.json else "text")
    if fmt == "json":   # the contract's document
        encoded = verb.lint_encoded(opts.project, list(paths), target_version=target_version, env=opts.env,
                                    cache=cache)
        _echo_pieces(document_pieces(encoded))
        finished = True
        return ExitCode.FAILED if encoded.report.has_errors else ExitCode.OK
    report, text = verb.lint(opts.project, list(paths), fmt, target_version=target_version, env=opts.env,
                             cache=cache)
    _echo(text)
    finished = True
    return ExitCode.FAILED if report.has_errors else ExitCode.OK


def plain_command(args: list[str]):
    """``pgshift ARGS`` as a call of :func:`run` with its ``options``, when ARGS is a plain lint
    line; else None, and click reads it. Plain: ``lint``, global flags and global options with
    their value before it; after it only existing, readable paths, ``--format`` with one of the
    formats, ``--target-version`` with a number, ``--no-cache`` and the global options; no token click would read
    otherwise or refuse (``--opt=value``, ``-qv``, ``--``, a missing path or value, help)."""
    if "lint" not in args:
        return None
    at = args.index("lint")
    options = SimpleNamespace(project=None, env=None, database_url=None, json=False, no_color=False,
                              verbose=False, quiet=False)
    paths: list[str] = []
    fmt = version = None
    cache = True
    tokens = iter(enumerate(args))
    for i, token in tokens:
        if i == at:
            continue
        if token in _GLOBAL_FLAGS:
            setattr(options, _GLOBAL_FLAGS[token], True)
        elif i > at and token == "--no-cache":
            cache = False
        elif token in _GLOBAL_VALUES or (i > at and token in ("--format", "--target-version")):
            j, value = next(tokens, (at, None))
            if j == at or value.startswith("-") or not _plain_value(token, value):
                return None
            if token == "--format":
                fmt = value
            elif token == "--target-version":
                version = int(value)
            else:
                setattr(options, _GLOBAL_VALUES[token], value)
        elif i > at and not token.startswith("-") and os.path.exists(token) and os.access(token, os.R_OK):
            paths.append(token)
        else:
            return None

    def call() -> ExitCode:
        return run(options, tuple(paths), fmt, version, cache=cache)

    call.options = options
    return call


def _plain_value(option: str, value: str) -> bool:
    """Whether click takes *value* for *option* as it is (else click reads the line, and says why not)."""
    if option == "--format":
        return value in FORMATS
    if option == "--target-version":
        return value.isascii() and value.isdigit()
    if option == "--project":   # a folder, or nothing yet
        return not os.path.isfile(value)
    return bool(value.strip())   # an empty --database-url is refused


def _echo(text: str) -> None:
    """``click.echo(text)``: the same bytes on stdout, without loading click where it would only
    pass them on (a UTF-8 stdout, and no escape sequence in *text* for it to strip)."""
    _echo_pieces((text,))


def _echo_pieces(pieces) -> None:
    """:func:`_echo` of the text the *pieces* make, written piece by piece where it can be (a
    lint's JSON document is megabytes: joined, then copied with its newline, it would take 5 ms)."""
    out = sys.stdout
    pieces = list(pieces)
    if (out is None or sys.platform == "win32"
            or (getattr(out, "encoding", None) or "").lower().replace("-", "") != "utf8"
            or any("\x1b" in piece for piece in pieces)):
        import click  # noqa: PLC0415

        click.echo("".join(pieces))
        return
    out.writelines(pieces)
    out.write("\n")
    out.flush()


def document(run) -> str:
    """The JSON document of a lint run whose findings came back encoded: ``dump_json(report.to_dict())``
    of the whole report, byte for byte."""
    return "".join(document_pieces(run))


def document_pieces(run):
    """:func:`document` in pieces, in order (the findings as the processes encoded them)."""
    import json  # noqa: PLC0415

    data = run.report.to_dict()       # the run without its findings ("findings" first, empty)
    data["summary"].update(run.counts)
    if run.findings < _MANY:
        from .render import dump_json  # noqa: PLC0415

        data["findings"] = json.loads(f"[{','.join(run.parts)}]")
        return [dump_json(data)]
    del data["findings"]
    rest = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    pieces = [f'{{"schema_version":{_SCHEMA_VERSION},"findings":[']
    for part in run.parts:
        pieces += (part, ",")
    if run.parts:
        pieces.pop()     # the comma after the last part
    pieces.append(f"],{rest[1:]}")
    return pieces
