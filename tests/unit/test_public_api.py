"""The public surface: api.__all__ and pgshift.__all__ pinned, every public name documented."""
from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys

import pgshift
from pgshift import api

PINNED = [
    "Project", "open_project", "database_url", "connected", "run_lock", "parse",
    "StatusResult", "status", "UpOptions", "UpResult", "up", "VerifyResult", "verify",
    "BaselineResult", "baseline", "CreatedFiles", "init", "new",
    "RollbackOptions", "RollbackResult", "rollback", "down",
    "VersionCheck", "TestResult", "test", "Diagnosis", "diagnose",
    "lint", "lint_explain", "lint_rule", "lint_rules", "check", "render_check", "backup", "restore",
    "DbStatus", "db_command", "RepairOptions", "RepairResult", "repair",
    "ReportResult", "report",
]


def test_api_all_is_pinned():
    """Adding or removing a public name is a decision: change PINNED with it."""
    assert api.__all__ == PINNED


def test_the_package_root_reexports_the_api_lazily():
    # `lint` is the lint package at the root (a submodule wins over a re-export); the verb is api.lint
    assert pgshift.__all__ == ["__version__", "api", *(n for n in api.__all__ if n != "lint")]
    for name in pgshift.__all__[2:]:
        assert getattr(pgshift, name) is getattr(api, name)
    code = "import sys, pgshift; print('pgshift.api' in sys.modules, 'psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"], "`import pgshift` must not import the API or psycopg"


def _written_docstring(obj) -> str | None:
    doc = obj.__doc__
    if doc is None:
        return None
    if dataclasses.is_dataclass(obj) and doc.startswith(obj.__name__ + "("):
        return None   # the signature a dataclass generates is no documentation
    return doc.strip() or None


def test_every_public_name_has_a_written_docstring():
    missing = [name for name in api.__all__ if _written_docstring(getattr(api, name)) is None]
    assert not missing, f"public names without a written docstring: {missing}"


def test_every_result_type_has_a_documented_to_dict():
    results = [getattr(api, n) for n in api.__all__ if inspect.isclass(getattr(api, n))
               and hasattr(getattr(api, n), "to_dict")]
    assert len(results) >= 10
    undocumented = [cls.__name__ for cls in results if not (cls.to_dict.__doc__ or "").strip()]
    assert not undocumented, f"to_dict() without a docstring: {undocumented}"


def test_api_verbs_are_not_collected_by_pytest():
    """`from pgshift.api import test, TestResult` in a user's test module must not become a test."""
    assert api.test.__test__ is False
    assert api.TestResult.__test__ is False
