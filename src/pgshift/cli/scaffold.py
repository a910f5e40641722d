"""``pgshift init`` and ``pgshift new``: a project's files, and a migration's."""
from __future__ import annotations

import click

from . import options as global_options
from .options import Command
from .session import project, show


@click.command(cls=Command)
def init():
    """Create pgshift.toml, migrations/ and migrations/rollbacks/."""
    from .. import api  # noqa: PLC0415

    result = api.init(global_options.current().project)
    show(result, "\n".join(f"created {p}" for p in result.paths) or "nothing to do: the project is already set up")


@click.command(cls=Command)
@click.argument("name")
@click.option("--template", type=click.Choice(["schema", "data", "index", "blank"]), default="blank",
              show_default=True, help="What the new file starts from.")
@click.option("--no-rollback", is_flag=True, help="Do not create the rollback stub.")
@click.option("--description", default=None, help="The header's Description line.")
def new(name, template, no_rollback, description):
    """Create a timestamped migration (and its rollback stub)."""
    from .. import api  # noqa: PLC0415

    result = api.new(project(), name, template, rollback=not no_rollback, description=description)
    show(result, "\n".join(f"created {p}" for p in result.paths))
