"""Static checks of migration files: what blocks or breaks production.

The engine (:mod:`pgshift.lint.engine`) runs the rules of
:mod:`pgshift.lint.registry` (one a module in :mod:`pgshift.lint.rules`) over
files in run order and returns findings as data; :mod:`pgshift.lint.output`
renders them. Nothing is imported until used, so that ``import pgshift.lint``
stays cheap::

    from pgshift.lint import LintInput, LintOptions, lint
    report = lint([LintInput("migrations/x.sql", text)], LintOptions(target_version=15))
"""
from __future__ import annotations

__all__ = ["LintInput", "LintOptions", "LintReport", "lint", "render", "explain", "list_rules"]


def __getattr__(name):
    if name in ("LintInput", "LintOptions", "LintReport", "lint", "explain", "list_rules"):
        from . import engine  # noqa: PLC0415

        return getattr(engine, name)
    if name == "render":
        from .output import render  # noqa: PLC0415

        return render
    raise AttributeError(name)
