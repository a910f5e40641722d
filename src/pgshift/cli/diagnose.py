"""``pgshift diagnose``: the guide's diagnostic queries, as tables."""
from __future__ import annotations

import click

from .options import Command
from .render import cell, table
from .session import project, show


@click.command(cls=Command)
def diagnose():
    """The guide's diagnostics: ledger with durations, waiting locks, who blocks whom, table statistics."""
    from .. import api  # noqa: PLC0415

    result = api.diagnose(project())
    parts = []
    for name, section in result.sections.items():
        parts.append(f"== {name.replace('_', ' ')} ==")
        if section.get("note"):
            parts.append(section["note"])
        elif not section["rows"]:
            parts.append("(none)")
        else:
            parts.append(table(section["columns"], [[cell(v) for v in r] for r in section["rows"]]))
    show(result, "\n".join(parts))
