"""pgshift: safe, versioned PostgreSQL migrations.

The library API is :mod:`pgshift.api` (one function per command, typed results). Its names
are re-exported here lazily (PEP 562), so ``import pgshift`` stays cheap and
``pgshift.up(...)`` imports the API only when it is first used. Nothing inside pgshift
imports this package root: modules import what they need from their own rooms.
"""
from ._version import __version__

# the version, the api module, and api.__all__ but for ``lint``, which names the lint package here
# (pinned by tests/unit/test_public_api.py; ``pgshift.api.lint`` is the verb)
__all__ = [
    "__version__", "api",
    "Project", "open_project", "database_url", "connected", "run_lock", "parse", "StatusResult", "status",
    "UpOptions", "UpResult", "up", "VerifyResult", "verify", "BaselineResult", "baseline", "CreatedFiles",
    "init", "new", "RollbackOptions", "RollbackResult", "rollback", "down", "VersionCheck", "TestResult",
    "test", "Diagnosis", "diagnose", "lint_explain", "lint_rule", "lint_rules", "check", "render_check",
    "backup", "restore", "DbStatus", "db_command", "RepairOptions", "RepairResult", "repair",
    "ReportResult", "report",
    "DriftResult", "drift", "SchemaDumpResult", "schema_dump", "SchemaDiffResult", "schema_diff",
    "SquashResult", "squash",
    "FleetOptions", "FleetResult", "FleetStatus", "fleet_up", "fleet_status",
    "PlanOptions", "PlanResult", "plan",
]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'pgshift' has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    api = importlib.import_module("pgshift.api")
    return api if name == "api" else getattr(api, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

