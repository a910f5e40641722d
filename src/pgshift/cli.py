"""The command line: parse -> api -> render -> exit code.

Only click is imported at start-up; psycopg, pglast and rich load inside the
commands that need them, so `pgshift --help` stays quick. This is the only
place that prints errors.
"""
from __future__ import annotations

import os
import sys

import click

from . import __version__
from .errors import PgshiftError

_META = "pgshift.globals"


def _store(ctx: click.Context, param: click.Parameter, value):
    if param.name == "database_url" and value is not None and not value.strip():
        # an empty URL would silently mean "no URL": the configuration's, or the embedded server
        raise click.BadParameter("is empty: give a connection URL, or leave the option out to use the "
                                 "configuration", ctx=ctx, param=param)
    opts = ctx.meta.setdefault(_META, {})
    if value is not None and value is not False and value != ():
        opts[param.name] = value
    return value


_GLOBALS = [
    click.option("--project", type=click.Path(file_okay=False), default=None, expose_value=False, callback=_store,
                 help="Project folder holding pgshift.toml (default: the current folder)."),
    click.option("--env", "env", default=None, expose_value=False, callback=_store,
                 help="Environment from the configuration (default: dev)."),
    click.option("--database-url", default=None, expose_value=False, callback=_store,
                 help="Connect here, overriding the configuration."),
    click.option("--json", "json_out", is_flag=True, default=None, expose_value=False, callback=_store,
                 help="Machine-readable result on stdout."),
    click.option("--no-color", is_flag=True, default=None, expose_value=False, callback=_store,
                 help="Plain output, no colours."),
    click.option("-v", "--verbose", is_flag=True, default=None, expose_value=False, callback=_store,
                 help="Show every statement."),
    click.option("-q", "--quiet", is_flag=True, default=None, expose_value=False, callback=_store,
                 help="Only warnings and errors."),
]


def global_options(f):
    for option in reversed(_GLOBALS):
        f = option(f)
    return f


def _g(name, default=None):
    ctx = click.get_current_context()
    return ctx.meta.get(_META, {}).get(name, default)


def _reporter():
    from .reporting import make_reporter  # noqa: PLC0415

    ctx = click.get_current_context()
    reporter = ctx.meta.get("pgshift.reporter")
    if reporter is None:
        reporter = make_reporter(verbose=bool(_g("verbose")), quiet=bool(_g("quiet")),
                                 color=not _g("no_color") and "NO_COLOR" not in os.environ)
        ctx.meta["pgshift.reporter"] = reporter
        ctx.call_on_close(reporter.close)   # a live display never outlives the command, even on an error
    return reporter


def _project():
    from . import api  # noqa: PLC0415

    return api.open_project(_g("project"), _g("env"), _g("database_url"), reporter=_reporter())


def _out(result, text: str | None = None) -> None:
    if _g("json_out"):
        from .reporting import dump_json  # noqa: PLC0415

        click.echo(dump_json(result.to_dict() if hasattr(result, "to_dict") else result))
    elif text:
        click.echo(text)


def _duration(value: str | None, *, timeout: bool = False) -> float | None:
    """Seconds from a duration option; a lock or statement timeout within PostgreSQL's range."""
    if value is None:
        return None
    from .model import parse_duration, parse_timeout  # noqa: PLC0415

    try:
        return (parse_timeout if timeout else parse_duration)(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _confirm_fn():
    if not sys.stdin.isatty():
        return None

    def confirm(prompt: str, word: str) -> bool:
        from contextlib import nullcontext  # noqa: PLC0415

        # a live display (rich's spinner) would redraw the line the word is typed on: paused first
        ctx = click.get_current_context(silent=True)
        reporter = ctx.meta.get("pgshift.reporter") if ctx is not None else None
        paused = getattr(reporter, "paused", None)
        with paused() if paused is not None else nullcontext():
            answer = click.prompt(click.unstyle(prompt), default="", show_default=False, err=True)
        return answer.strip() == word

    return confirm


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="pgshift")
@global_options
def cli():
    """pgshift: safe, versioned PostgreSQL migrations.

    Plain SQL files in migrations/, split by the real PostgreSQL parser, each
    applied in its own transaction with its ledger event, under a lock
    timeout, with errors that point at file:line:col.

    \b
    Exit codes: 0 success, 1 the operation failed, 2 bad usage, configuration
    or input files, 3 refused for safety (checks, confirmation, lock held).
    """


@cli.command()
@global_options
def init():
    """Create pgshift.toml, migrations/ and migrations/rollbacks/."""
    from . import api  # noqa: PLC0415

    result = api.init(_g("project"))
    lines = [f"created {p}" for p in result.paths] or ["nothing to do: the project is already set up"]
    _out(result, "\n".join(lines))


@cli.command()
@click.argument("name")
@click.option("--template", type=click.Choice(["schema", "data", "index", "blank"]), default="blank",
              show_default=True, help="What the new file starts from.")
@click.option("--no-rollback", is_flag=True, help="Do not create the rollback stub.")
@click.option("--description", default=None, help="The header's Description line.")
@global_options
def new(name, template, no_rollback, description):
    """Create a timestamped migration (and its rollback stub)."""
    from . import api  # noqa: PLC0415

    result = api.new(_project(), name, template, rollback=not no_rollback, description=description)
    _out(result, "\n".join(f"created {p}" for p in result.paths))


@cli.command()
@global_options
def status():
    """Every version: applied, pending, failed, rolled_back, changed, missing, out_of_order."""
    from . import api  # noqa: PLC0415
    from .reporting import render_status  # noqa: PLC0415

    result = api.status(_project())
    _out(result, render_status(result, color=not _g("no_color")))


@cli.command()
@click.option("--target", default=None, help="Apply up to and including this version.")
@click.option("--dry-run", is_flag=True, help="Print the plan and touch nothing.")
@click.option("--yes", is_flag=True, help="Confirm without a prompt (protected environments).")
@click.option("--lock-timeout", default=None, help="lock_timeout for every statement, e.g. 2s, 500ms; 0 for none.")
@click.option("--statement-timeout", default=None, help="statement_timeout, e.g. 5min; 0 for none.")
@click.option("--lock-wait", default="60s", show_default=True, help="How long to wait for another runner's lock.")
@click.option("--out-of-order", is_flag=True, help="Apply pending versions older than the newest applied one.")
@click.option("--allow-changed", is_flag=True, help="Go on although applied files changed.")
@click.option("--no-backup", is_flag=True, help="Skip the pre-migration backup (protected environments).")
@click.option("--monitor", is_flag=True, help="Report locks and blockers while it runs.")
@click.option("--force", is_flag=True, help="Apply despite lint errors in a protected environment.")
@global_options
def up(target, dry_run, yes, lock_timeout, statement_timeout, lock_wait, out_of_order, allow_changed, no_backup,
       monitor, force):
    """Apply pending migrations in version order."""
    from . import api  # noqa: PLC0415

    options = api.UpOptions(target=target, dry_run=dry_run, out_of_order=out_of_order, allow_changed=allow_changed,
                            lock_timeout=_duration(lock_timeout, timeout=True),
                            statement_timeout=_duration(statement_timeout, timeout=True),
                            lock_wait=_duration(lock_wait), yes=yes, force=force, no_backup=no_backup,
                            monitor=monitor)
    result = api.up(_project(), options, confirm=_confirm_fn())
    if result.run is None:
        _out(result, "dry run: nothing was changed")
    else:
        n = len(result.run.steps)
        _out(result, f"applied {n} migration(s)" if n else "the database is up to date")


@cli.command()
@global_options
def verify():
    """Compare applied files with their recorded checksums; exit 1 on any mismatch."""
    from . import api  # noqa: PLC0415

    result = api.verify(_project())
    lines = []
    for s in result.changed:
        lines.append(f"{s.file}: changed since applied (recorded {s.recorded_checksum[:12]}, "
                     f"file {s.file_checksum[:12]})")
    for s in result.missing:
        lines.append(f"{s.version} {s.name}: applied, but its file is missing")
    lines.append(f"{result.checked} applied migration(s) checked: "
                 + ("all match" if result.ok else f"{len(result.changed) + len(result.missing)} mismatch(es)"))
    _out(result, "\n".join(lines))
    if not result.ok:
        sys.exit(1)


@cli.command()
@click.argument("version")
@click.option("--lock-wait", default="60s", show_default=True)
@global_options
def baseline(version, lock_wait):
    """Record every version up to VERSION as applied without running it."""
    from . import api  # noqa: PLC0415

    result = api.baseline(_project(), version, _duration(lock_wait))
    _out(result, f"baselined {len(result.versions)} version(s)"
         + (f": {result.versions[0]} … {result.versions[-1]}" if result.versions else ""))


@cli.group()
@global_options
def db():
    """The embedded PostgreSQL (in .pgshift/pgdata under the project)."""


def _db_action(action):
    from . import api  # noqa: PLC0415
    from . import config as config_mod  # noqa: PLC0415

    database = None
    try:
        cfg = config_mod.load(_g("project"))
        database = cfg.environment(_g("env") or config_mod.DEFAULT_ENV).database
    except PgshiftError:
        pass
    result = api.db_command(_g("project"), action, database)
    if action == "url":
        _out(result, result.url)
    else:
        state = f"running (pid {result.pid})\nurl: {result.url}" if result.running else "stopped"
        _out(result, f"embedded PostgreSQL in {result.pgdata}: {state}")


@db.command("start")
@global_options
def db_start():
    """Start it (creating it the first time)."""
    _db_action("start")


@db.command("stop")
@global_options
def db_stop():
    """Stop it."""
    _db_action("stop")


@db.command("status")
@global_options
def db_status():
    """Say whether it runs."""
    _db_action("status")


@db.command("url")
@global_options
def db_url():
    """Print its connection URL."""
    _db_action("url")


def _register_optional():
    """Commands that live in their own modules (they import nothing heavy at start-up)."""
    from . import cli_more  # noqa: PLC0415

    cli_more.register(cli, global_options, _g, _project, _out, _duration, _confirm_fn)


def main(argv=None) -> int:
    try:
        _register_optional()
    except ImportError:
        pass
    try:
        cli.main(args=argv, prog_name="pgshift", standalone_mode=False)
        return 0
    except PgshiftError as err:
        _print_error(err)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return 2 if isinstance(err, click.UsageError) else err.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def _print_error(err: PgshiftError) -> None:
    ctx_json = False
    try:
        ctx_json = bool(click.get_current_context(silent=True) and _g("json_out"))
    except RuntimeError:
        pass
    if "--json" in sys.argv[1:]:
        ctx_json = True
    if ctx_json:
        from .reporting import dump_json  # noqa: PLC0415

        click.echo(dump_json(err.to_dict()))
    from .reporting import render_error  # noqa: PLC0415

    click.echo(render_error(err, color=False), err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
