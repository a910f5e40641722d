"""The global options, parsed into one :class:`GlobalOptions` kept on the click context.

``--project``, ``--env``, ``--database-url``, ``--json``, ``--no-color``, ``-v`` and ``-q``
are accepted before or after the command (``pgshift --json status`` is ``pgshift status
--json``): every :class:`Command` and :class:`Group` carries them, and each occurrence is
stored into the one object (given twice, the later wins). When the command line itself is
wrong, the global options it holds are read anyway, so that a usage error under ``--json``
is reported as JSON too.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import click


@dataclass
class GlobalOptions:
    project: str | None = None        # the project folder (default: the current folder)
    env: str | None = None            # the environment (default: the configuration's)
    database_url: str | None = None   # overrides the configuration
    json: bool = False                # the result (or the error) as JSON on stdout
    no_color: bool = False
    verbose: bool = False
    quiet: bool = False


def current() -> GlobalOptions:
    """The options of the command that runs."""
    return click.get_current_context().ensure_object(GlobalOptions)


def _set(options: GlobalOptions, name: str, value) -> None:
    if value is not None and value is not False:   # an option not given changes nothing
        setattr(options, name, value)


def _store(ctx: click.Context, param: click.Parameter, value):
    if param.name == "database_url" and value is not None and not value.strip():
        # an empty URL would silently mean "no URL": the configuration's, or the embedded server
        raise click.BadParameter("is empty: give a connection URL, or leave the option out to use the "
                                 "configuration", ctx=ctx, param=param)
    _set(ctx.ensure_object(GlobalOptions), param.name, value)
    return value


def _global_params() -> list[click.Parameter]:
    def option(*decls: str, **attrs) -> click.Option:
        return click.Option(decls, default=None, expose_value=False, callback=_store, **attrs)

    return [
        option("--project", type=click.Path(file_okay=False),
               help="Project folder holding pgshift.toml (default: the current folder)."),
        option("--env", "env", help="Environment from the configuration (default: dev)."),
        option("--database-url", help="Connect here, overriding the configuration."),
        option("--json", "json", is_flag=True, help="Machine-readable result on stdout."),
        option("--no-color", is_flag=True, help="Plain output, no colours."),
        option("-v", "--verbose", is_flag=True, help="Show every statement."),
        option("-q", "--quiet", is_flag=True, help="Only warnings and errors."),
    ]


def _salvage(command: click.Command, ctx: click.Context, args: list[str]) -> None:
    """After a usage error: store the global options the line holds all the same (``--json``
    after an unknown option, say), read by the command's own parser, unknown options skipped."""
    probe = click.Context(command, info_name=ctx.info_name, parent=ctx.parent, ignore_unknown_options=True,
                          allow_interspersed_args=True, resilient_parsing=True)
    parser = command.make_parser(probe)
    while args:
        try:
            opts, _, _ = parser.parse_args(list(args))
        except click.UsageError:
            args = args[:-1]   # an option missing its value at the end: read what stands before it
            continue
        options = ctx.ensure_object(GlobalOptions)
        for field in fields(GlobalOptions):
            _set(options, field.name, opts.get(field.name))
        return


class _GlobalOptionsMixin:
    """The global options on a command or group, after its own options (as ``--help`` lists them)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_global_params())

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        line = list(args)   # the parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.UsageError:
            _salvage(self, ctx, line)
            raise


class Command(_GlobalOptionsMixin, click.Command):
    """A pgshift command: ``@click.command(cls=Command)``."""


class Group(_GlobalOptionsMixin, click.Group):
    """A pgshift group; its subcommands are :class:`Command` and its subgroups its own class."""

    command_class = Command
    group_class = type

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:   # no such command: the options after its name still count
            _salvage(self, ctx, list(args))
            raise


def duration(value: str | None, *, timeout: bool = False) -> float | None:
    """Seconds from a duration option; a lock or statement timeout within PostgreSQL's range."""
    if value is None:
        return None
    from ..text import parse_duration, parse_timeout  # noqa: PLC0415

    try:
        return (parse_timeout if timeout else parse_duration)(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
