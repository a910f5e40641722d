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

This module holds no logic: each name is re-exported, lazily, from the room that owns it
(``project``, ``commands/*``, ``rehearsal``), and ``__all__`` is pinned by a test.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what each name is, for readers and type checkers; at run time see __getattr__
    from contextlib import AbstractContextManager

    from .commands._common import parse, run_lock
    from .commands.db import DbStatus, db_command
    from .commands.diagnose import Diagnosis, diagnose
    from .commands.fleet import FleetOptions, FleetResult, FleetStatus, fleet_status, fleet_up
    from .commands.lint import lint, lint_explain, lint_rule, lint_rules
    from .commands.plan import PlanOptions, PlanResult, plan
    from .commands.repair import RepairOptions, RepairResult, repair
    from .commands.report import ReportResult, report
    from .commands.rollback import RollbackOptions, RollbackResult, down, rollback
    from .commands.safety import backup, check, render_check, restore
    from .commands.scaffold import CreatedFiles, init, new
    from .commands.schema import DriftResult, SchemaDiffResult, SchemaDumpResult, drift, schema_diff, schema_dump
    from .commands.squash import SquashResult, squash
    from .commands.status import StatusResult, VerifyResult, status, verify
    from .commands.test import TestResult, test
    from .commands.up import BaselineResult, UpOptions, UpResult, baseline, up
    from .project import Project, open_project
    from .rehearsal.roundtrip import VersionCheck

# name -> the module (under pgshift) that owns it: imported when the name is first used, so that
# `pgshift status` loads the status verb and not every other one
_OWNERS = {
    "parse": "commands._common",
    "run_lock": "commands._common",
    "Diagnosis": "commands.diagnose",
    "diagnose": "commands.diagnose",
    "FleetOptions": "commands.fleet",
    "FleetResult": "commands.fleet",
    "FleetStatus": "commands.fleet",
    "fleet_up": "commands.fleet",
    "fleet_status": "commands.fleet",
    "lint": "commands.lint",
    "lint_explain": "commands.lint",
    "lint_rule": "commands.lint",
    "lint_rules": "commands.lint",
    "PlanOptions": "commands.plan",
    "PlanResult": "commands.plan",
    "plan": "commands.plan",
    "backup": "commands.safety",
    "check": "commands.safety",
    "render_check": "commands.safety",
    "restore": "commands.safety",
    "RollbackOptions": "commands.rollback",
    "RollbackResult": "commands.rollback",
    "RepairOptions": "commands.repair",
    "RepairResult": "commands.repair",
    "repair": "commands.repair",
    "ReportResult": "commands.report",
    "report": "commands.report",
    "down": "commands.rollback",
    "rollback": "commands.rollback",
    "CreatedFiles": "commands.scaffold",
    "init": "commands.scaffold",
    "new": "commands.scaffold",
    "DbStatus": "commands.db",
    "db_command": "commands.db",
    "StatusResult": "commands.status",
    "VerifyResult": "commands.status",
    "status": "commands.status",
    "verify": "commands.status",
    "TestResult": "commands.test",
    "test": "commands.test",
    "BaselineResult": "commands.up",
    "UpOptions": "commands.up",
    "UpResult": "commands.up",
    "baseline": "commands.up",
    "up": "commands.up",
    "Project": "project",
    "open_project": "project",
    "VersionCheck": "rehearsal.roundtrip",
    "DriftResult": "commands.schema",
    "drift": "commands.schema",
    "SchemaDumpResult": "commands.schema",
    "schema_dump": "commands.schema",
    "SchemaDiffResult": "commands.schema",
    "schema_diff": "commands.schema",
    "SquashResult": "commands.squash",
    "squash": "commands.squash",
}


def __getattr__(name: str):
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'pgshift.api' has no attribute {name!r}")
    value = getattr(import_module(f"pgshift.{owner}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def database_url(project: Project) -> str:
    """The URL *project* connects to, starting its embedded server when that is the choice.

    Args:
        project: An opened project (:func:`open_project`).

    Returns:
        The URL, with its password; ``""`` when libpq's ``PG*`` variables alone say where.

    Raises:
        OperationError: The embedded PostgreSQL cannot start.
    """
    return project.url()


def connected(project: Project) -> AbstractContextManager:
    """A connection to *project*'s database with pgshift's session settings.

    Use it as ``with api.connected(project) as conn:`` (a psycopg connection, closed on
    leaving); server notices go to the project's reporter.

    Args:
        project: An opened project (:func:`open_project`).

    Returns:
        A context manager that yields the connection.

    Raises:
        OperationError: The database cannot be reached, or the embedded PostgreSQL cannot start.
    """
    return project.connected(watch=False)   # the caller's connection: no deadline on its idling


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
    "RepairOptions",
    "RepairResult",
    "repair",
    "ReportResult",
    "report",
    "DriftResult",
    "drift",
    "SchemaDumpResult",
    "schema_dump",
    "SchemaDiffResult",
    "schema_diff",
    "SquashResult",
    "squash",
    "FleetOptions",
    "FleetResult",
    "FleetStatus",
    "fleet_up",
    "fleet_status",
    "PlanOptions",
    "PlanResult",
    "plan",
]
