"""The public surface: api.__all__ and pgshift.__all__ pinned, every public name documented."""
from __future__ import annotations

import dataclasses
import inspect
import re
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
    "DriftResult", "drift", "SchemaDumpResult", "schema_dump", "SchemaDiffResult", "schema_diff",
    "SquashResult", "squash",
    "FleetOptions", "FleetResult", "FleetStatus", "fleet_up", "fleet_status",
    "PlanOptions", "PlanResult", "plan",
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


def _section(doc: str, title: str) -> str | None:
    """The lines of a Google-style section (``Args:``), up to the next section or the end."""
    lines = inspect.cleandoc(doc).splitlines()
    if f"{title}:" not in lines:
        return None
    body = []
    for line in lines[lines.index(f"{title}:") + 1:]:
        if line and not line.startswith(" "):
            break   # the next section (Returns:, Raises:) or prose after it
        body.append(line)
    return "\n".join(body)


def _names(section: str | None) -> set[str]:
    return set(re.findall(r"^    \**(\w+)(?: \(.*?\))?:", section or "", re.M))


def _google_style_problems(name: str, obj) -> list[str]:
    doc = _written_docstring(obj) or ""
    problems = []
    if inspect.isclass(obj):
        fields = {f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")} \
            if dataclasses.is_dataclass(obj) else set()
        if fields and fields - _names(_section(doc, "Attributes")):
            problems.append(f"{name}: Attributes: lacks {sorted(fields - _names(_section(doc, 'Attributes')))}")
        return problems
    sig = inspect.signature(obj)
    params = {p for p in sig.parameters}
    if params and params - _names(_section(doc, "Args")):
        problems.append(f"{name}: Args: lacks {sorted(params - _names(_section(doc, 'Args')))}")
    if sig.return_annotation not in (None, "None", inspect.Signature.empty) and not (_section(doc, "Returns") or _section(doc, "Yields")):
        problems.append(f"{name}: no Returns:")
    untyped = [p.name for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty]
    if untyped or sig.return_annotation is inspect.Signature.empty:
        problems.append(f"{name}: not fully annotated ({untyped or 'the return'})")
    return problems


def test_every_public_name_is_documented_google_style():
    """Functions: an ``Args:`` line per parameter, ``Returns:`` (or ``Yields:``), every parameter and the
    return annotated; dataclasses: an ``Attributes:`` line per public field."""
    problems = [p for name in api.__all__ for p in _google_style_problems(name, getattr(api, name))]
    assert not problems, "\n".join(problems)


def test_the_google_style_check_finds_what_is_missing():
    def documented(a: int, b: str = "") -> int:
        """Do it.

        Args:
            a: One.
            b (str): Two.

        Returns:
            Three.
        """
        return a

    def undocumented(a, b: str = ""):
        """Do it.

        Args:
            a: One.
        """

    assert _google_style_problems("documented", documented) == []
    assert _google_style_problems("undocumented", undocumented) == [
        "undocumented: Args: lacks ['b']", "undocumented: not fully annotated (['a'])"]


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
    collectable = [n for n in api.__all__ if n.lower().startswith("test") and getattr(getattr(api, n), "__test__", True)]
    assert not collectable, f"public names pytest would collect: {collectable}"
