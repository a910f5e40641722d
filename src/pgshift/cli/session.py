"""What the commands share while one runs: its reporter, its project, its output, its prompt."""
from __future__ import annotations

import os
import sys
from contextlib import nullcontext

import click

from . import options as global_options

_REPORTER = "pgshift.reporter"   # ctx.meta key: the run's one reporter


def reporter():
    """The run's reporter, made once and closed with the command (a live display never
    outlives it, even on an error)."""
    ctx = click.get_current_context()
    made = ctx.meta.get(_REPORTER)
    if made is None:
        from .reporters import make_reporter  # noqa: PLC0415

        opts = global_options.current()
        made = make_reporter(verbose=opts.verbose, quiet=opts.quiet,
                             color=not opts.no_color and "NO_COLOR" not in os.environ)
        ctx.meta[_REPORTER] = made
        ctx.call_on_close(made.close)
    return made


def project():
    """The project of the command line's options, with the run's reporter (an api.Project)."""
    from .. import api  # noqa: PLC0415

    opts = global_options.current()
    return api.open_project(opts.project, opts.env, opts.database_url, reporter=reporter())


def show(result, text: str | None = None) -> None:
    """The result on stdout: its JSON document with ``--json``, else the text (if any)."""
    if global_options.current().json:
        from .render import dump_json  # noqa: PLC0415

        click.echo(dump_json(result.to_dict() if hasattr(result, "to_dict") else result))
    elif text:
        click.echo(text)


def show_run(result, done: str, nothing: str) -> None:
    """An up or rollback result: a dry run's, or what it did (*done* with ``{n}``, the steps)."""
    if result.run is None:
        show(result, "dry run: nothing was changed")
    else:
        n = len(result.run.steps)
        show(result, done.format(n=n) if n else nothing)


def confirm_fn():
    """The prompt for a protected run's confirmation word; None without a terminal."""
    if not sys.stdin.isatty():
        return None

    def confirm(prompt: str, word: str) -> bool:
        # a live display (rich's spinner) would redraw the line the word is typed on: paused first
        ctx = click.get_current_context(silent=True)
        live = ctx.meta.get(_REPORTER) if ctx is not None else None
        paused = getattr(live, "paused", None)
        with paused() if paused is not None else nullcontext():
            answer = click.prompt(click.unstyle(prompt), default="", show_default=False, err=True)
        return answer.strip() == word

    return confirm
