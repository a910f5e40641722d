"""The command line: parse -> api -> render -> exit code. The only place that prints or exits.

At start-up only click and this package's root load: each command lives in a module of
its own (``COMMANDS`` below), imported when that command runs, and ``pgshift --help``
lists them from the table without importing one. psycopg, pglast and rich load inside
the commands that use them. A plain ``pgshift lint`` line (paths and options with their
values, nothing to explain: :func:`pgshift.cli.lint.plain_command`) is run without click
at all: a lint in a pre-commit hook or CI is mostly start-up. The root group (``cli``)
is made when first asked for.

The global options are parsed into one :class:`~pgshift.cli.options.GlobalOptions` on
the click context. A command returns an :class:`~pgshift.errors.ExitCode` (None for
OK); an error carries its own; :func:`main` turns either into the process's exit code.
"""
from __future__ import annotations

import sys
from importlib import import_module

from .._version import __version__
from ..errors import ExitCode, PgshiftError

# command -> (its module in pgshift.cli, the line `pgshift --help` shows: its help's first paragraph)
COMMANDS: dict[str, tuple[str, str]] = {
    "backup": ("safety", "pg_dump in custom format (mode 0600, with a SHA-256 beside it)."),
    "baseline": ("up", "Record every version up to VERSION as applied without running it."),
    "check": ("safety", "The preflight safety checks, alone (exit 3 when one fails)."),
    "db": ("db", "The embedded PostgreSQL (in .pgshift/pgdata under the project)."),
    "diagnose": ("diagnose", "The guide's diagnostics: ledger with durations, waiting locks, who blocks whom, "
                             "table statistics."),
    "down": ("rollback", "Roll back, newest first, stopping at the first failure."),
    "drift": ("schema", "Compare the live schema with what the last applied version left (exit 1 on drift)."),
    "fleet": ("fleet", "One rollout of the migrations over many databases or tenant schemas."),
    "init": ("scaffold", "Create pgshift.toml, migrations/ and migrations/rollbacks/."),
    "lint": ("lint", "Static checks: what blocks or breaks production, with the line and the safe alternative."),
    "new": ("scaffold", "Create a timestamped migration (and its rollback stub)."),
    "plan": ("plan", "Run the pending migrations on a copy: locks, rewrites, blast radius, time at size, data truth."),
    "restore": ("safety", "Restore a backup into another database (--database-url is required)."),
    "repair": ("repair", "Repair the ledger: record checksums, remove failed entries of gone files, mark versions."),
    "report": ("report",
               "A self-contained HTML page: ledger timeline, states, lint findings, round trips, a plan, drift."),
    "rollback": ("rollback", "Run VERSION's rollback file and record it (asks you to type ROLLBACK)."),
    "schema": ("schema", "The schema as a file (dump) and two databases compared (diff)."),
    "squash": ("squash", "Write one baseline migration in place of the history up to --to, proven on a throwaway "
                         "database."),
    "status": ("status", "Every version: applied, pending, failed, rolled_back, changed, missing, out_of_order."),
    "test": ("test", "Apply every migration to a throwaway database, then drop it."),
    "up": ("up", "Apply pending migrations in version order."),
    "verify": ("status", "Compare applied files with their recorded checksums; exit 1 on any mismatch."),
}


def __getattr__(name: str):
    """``cli`` (the root click group) and ``LazyGroup``, made when first asked for."""
    if name not in ("cli", "LazyGroup"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _root()[name]


def _root() -> dict:
    """The root group and its class, made once."""
    if "cli" in globals():
        return globals()
    import click  # noqa: PLC0415

    from .options import Group  # noqa: PLC0415

    class LazyGroup(Group):
        """click's documented lazy group: a command's module is imported when it is asked for."""

        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(COMMANDS)

        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            if name not in COMMANDS:
                return None
            return getattr(import_module(f"{__name__}.{COMMANDS[name][0]}"), name)

        def resolve_command(self, ctx: click.Context, args: list[str]):
            try:
                return super().resolve_command(ctx, args)
            except click.exceptions.NoSuchCommand as err:   # "did you mean": from the table
                raise click.exceptions.NoSuchCommand(err.command_name, possibilities=COMMANDS, ctx=ctx) from None

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            # as click.Group.format_commands does, from the table: listing imports no command
            limit = formatter.width - 6 - max(map(len, COMMANDS))
            with formatter.section("Commands"):
                formatter.write_dl([(name, click.Command(name, help=text).get_short_help_str(limit))
                                    for name, (_, text) in sorted(COMMANDS.items())])

    @click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
    @click.version_option(__version__, prog_name="pgshift")
    def cli():
        """pgshift: safe, versioned PostgreSQL migrations.

        Plain SQL files in migrations/, split by the real PostgreSQL parser, each
        applied in its own transaction with its ledger event, under a lock
        timeout, with errors that point at file:line:col.

        \b
        Exit codes: 0 success, 1 the operation failed, 2 bad usage, configuration
        or input files, 3 refused for safety (checks, confirmation, lock held).
        """

    globals().update(cli=cli, LazyGroup=LazyGroup)
    return globals()


def main(argv: list[str] | None = None, *, whole_process: bool = False) -> int:
    """Run ``pgshift ARGV`` (default: the process's arguments); return the exit code.
    *whole_process*: the process runs this command only (see :func:`run`)."""
    args = sys.argv[1:] if argv is None else list(argv)
    plain = None
    if "lint" in args:
        from .lint import plain_command  # noqa: PLC0415

        plain = plain_command(args)
    if plain is None:
        from .options import GlobalOptions  # noqa: PLC0415

        options = GlobalOptions()
    else:
        options = plain.options
        if whole_process:
            import gc  # noqa: PLC0415

            gc.disable()
    try:
        if plain is not None:
            result = plain()
        else:
            result = _root()["cli"].main(args=argv, prog_name="pgshift", standalone_mode=False, obj=options)
    except PgshiftError as err:
        _print_error(err, options)
        return err.exit_code
    except _click("Abort"):
        return _interrupted("aborted", options)
    except _click("ClickException") as err:
        import click  # noqa: PLC0415

        code = ExitCode.INPUT if isinstance(err, click.UsageError) else err.exit_code
        if options.json:
            from .render import click_error_dict, dump_json  # noqa: PLC0415

            click.echo(dump_json(click_error_dict(err, code)))
        err.show()
        return code
    except KeyboardInterrupt:
        return _interrupted("interrupted", options)
    except Exception as exc:  # noqa: BLE001 - never a traceback: what nobody foresaw is an error object too
        err = _unforeseen(exc)
        _print_error(err, options)
        return err.exit_code
    # a command returns its ExitCode (None: OK); --help and --version return click's 0
    return ExitCode.OK if result is None else result


def _click(name: str):
    """click's exception class *name*; nothing (an empty tuple catches nothing) while click is not
    loaded, as on a plain ``pgshift lint`` line."""
    click = sys.modules.get("click")
    return () if click is None else getattr(click.exceptions, name)


def _print_error(err: PgshiftError, options) -> None:
    import click  # noqa: PLC0415

    from .render import dump_json, render_error  # noqa: PLC0415

    if options.json:
        click.echo(dump_json(err.to_dict()))
    click.echo(render_error(err, color=False), err=True)


def _interrupted(message: str, options) -> ExitCode:
    """Ctrl-C (or end of input at a prompt): said on stderr, and under ``--json`` the error object."""
    import click  # noqa: PLC0415

    if options.json:
        from .render import dump_json, error_dict  # noqa: PLC0415

        click.echo(dump_json(error_dict("Interrupted", ExitCode.INTERRUPTED, message)))
    click.echo(message, err=True)
    return ExitCode.INTERRUPTED


def _unforeseen(exc: Exception) -> PgshiftError:
    """An exception nobody foresaw, as the PgshiftError it stands for (exit 1): its type, its
    message and where it was raised, instead of a traceback."""
    import traceback  # noqa: PLC0415

    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else None
    return PgshiftError(f"unexpected {type(exc).__name__}" + (f": {exc}" if str(exc) else ""),
                        hint="this is a bug in pgshift: please report it with the command line, the output of "
                             "`pgshift --version` and this message",
                        details={"exception": type(exc).__name__, "where": where})


def run() -> None:
    """Console-script entry point (``python -m pgshift`` too).

    A lint (a short process, mostly start-up; a plain lint line, see :mod:`pgshift.cli.lint`)
    runs without the cyclic garbage collector: it makes no garbage the collector could find
    (parse trees, facts and findings hold no cycles; the parser pauses it anyway), and its
    passes over the objects the imports made cost 10 ms.
    After it, as its process holds nothing to release (no connection, no server, no thread, no
    temporary file; its cache is written), the process leaves with ``os._exit`` once its output
    is flushed: tearing the interpreter down, every module and object freed one by one, would
    take longer than the lint of a hundred files (15 ms), to give the system memory it takes
    back at once anyway."""
    code = main(whole_process=True)
    lint = sys.modules.get(f"{__name__}.lint")
    if lint is not None and getattr(lint, "finished", False):
        import os  # noqa: PLC0415

        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)      # let the interpreter report what it would about the broken stream
        parallel = sys.modules.get("pgshift.parallel")
        if parallel is not None:
            parallel.reap()     # the workers, done and leaving: no exit handler will
        os._exit(int(code))
    sys.exit(code)
