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
@click.option("--edit", is_flag=True, help="Open the new files in $VISUAL (else $EDITOR).")
def new(name, template, no_rollback, description, edit):
    """Create a timestamped migration (and its rollback stub)."""
    import os  # noqa: PLC0415

    from .. import api  # noqa: PLC0415
    from ..errors import InputError  # noqa: PLC0415

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if edit and not editor:   # said before anything is created
        raise InputError("--edit needs an editor: neither VISUAL nor EDITOR is set",
                         hint="export EDITOR=vim (or code --wait, nano, ...), or leave out --edit")
    result = api.new(project(), name, template, rollback=not no_rollback, description=description)
    show(result, "\n".join(f"created {p}" for p in result.paths))
    if edit:
        # click runs the editor through the shell, so EDITOR may carry arguments (code --wait)
        click.edit(filename=list(result.paths), editor=editor)
