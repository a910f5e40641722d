"""pgshift's library API: one function per command, typed results. Never prints, never exits.

The CLI, the pytest plugin and the tests all go through here. Open a project, call a verb,
read its result (every result has ``to_dict()``, the shape ``--json`` prints). Output goes
to the reporter you pass to :func:`open_project`; failures are raised as
:class:`pgshift.errors.PgshiftError`, whose ``exit_code``, ``location`` and ``hint`` say what
went wrong and what to do::

    from pgshift import api

    project = api.open_project("path/to/project", env="dev", database_url="postgresql://...")
    print(api.status(project).to_dict()["counts"])
    result = api.up(project, api.UpOptions(target="20250101000002"))

This module holds no logic: each name is re-exported from the room that owns it
(``project``, ``commands/*``, ``rehearsal``), and ``__all__`` is pinned by a test.
"""
from __future__ import annotations

from contextlib import AbstractContextManager

from .commands._common import parse, run_lock
from .commands.diagnose import Diagnosis, diagnose
from .commands.lint import lint, lint_explain, lint_rule, lint_rules
from .commands.ops import backup, check, render_check, restore
from .commands.rollback import RollbackOptions, RollbackResult, down, rollback
from .commands.scaffold import CreatedFiles, init, new
from .commands.server import DbStatus, db_command
from .commands.status import StatusResult, VerifyResult, status, verify
from .commands.test import TestResult, test
from .commands.up import BaselineResult, UpOptions, UpResult, baseline, up
from .project import Project, open_project
from .rehearsal.roundtrip import VersionCheck


def database_url(project: Project) -> str:
    """The URL *project* connects to, starting its embedded server when that is the choice."""
    return project.url()


def connected(project: Project) -> AbstractContextManager:
    """A connection to *project*'s database with pgshift's session settings (a context manager)."""
    return project.connected()


__all__ = [
    "Project",
    "open_project",
    "database_url",
    "connected",
    "run_lock",
    "parse",
    "StatusResult",
    "status",
    "UpOptions",
    "UpResult",
    "up",
    "VerifyResult",
    "verify",
    "BaselineResult",
    "baseline",
    "CreatedFiles",
    "init",
    "new",
    "RollbackOptions",
    "RollbackResult",
    "rollback",
    "down",
    "VersionCheck",
    "TestResult",
    "test",
    "Diagnosis",
    "diagnose",
    "lint",
    "lint_explain",
    "lint_rule",
    "lint_rules",
    "check",
    "render_check",
    "backup",
    "restore",
    "DbStatus",
    "db_command",
]
