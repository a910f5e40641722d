"""pgshift's built-in checks of a project's migrations, collected by ``pytest --pgshift``.

Each check is a test function that takes the plugin's fixtures; the plugin collects them under
the project's configuration file (``pgshift.toml::rollbacks_round_trip``), marked ``pgshift``.
A check that fails says why in one message (no traceback into pgshift):

- ``history_is_linear``: the files make one line of versions: no duplicate version, no badly
  named or orphaned file, no version dated in the future (every migration written after it
  would be out of order), no file whose ``-- Migration:`` header names another version (a
  copy that kept its old header);
- ``migrations_apply``: every migration applies, in order, on an empty database (the
  session's template database: the one ``migrated_database`` clones);
- ``rollbacks_round_trip``: every rollback restores the schema its migration changed, and the
  migration applies again after it (``api.test(project, roundtrip=True)``);
- ``lint_has_no_error``: ``pgshift lint`` finds no error (warnings and info pass);
- ``schema_dump_is_current``: the schema dump named by ``dump_schema`` matches the migrated
  database (skipped, with the reason, while pgshift has no such setting or it is unset).
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest

from ..errors import PgshiftError

if TYPE_CHECKING:
    from .plugin import MigratedTemplate

# a version dated more than this after now is "in the future" (clocks and time zones differ)
FUTURE_SLACK = _dt.timedelta(days=1)
_UNKNOWN = object()


def explain(exc: PgshiftError) -> str:
    """An error as pgshift's command line shows it: the message, the SQL context, the hint."""
    text = str(exc)
    if exc.context:
        text += "\n" + exc.context
    if exc.hint:
        text += "\nhint: " + exc.hint
    return text


def _fail(message: str) -> None:
    pytest.fail(message, pytrace=False)


def history_is_linear(pgshift_project_dir: Path) -> None:
    """No duplicate, badly named or orphaned file; no version in the future; headers name their own file."""
    from .. import config as config_mod  # noqa: PLC0415
    from .. import discovery  # noqa: PLC0415

    try:
        cfg = config_mod.load(pgshift_project_dir)
        found = discovery.discover(cfg.migrations_dir, cfg.root)
    except PgshiftError as exc:
        failure: str | None = explain(exc)   # failed outside the except: no "during handling" chain in the report
    else:
        failure = _history_problems(found)
    if failure:
        _fail(failure)


def _history_problems(found: list) -> str | None:
    from .. import discovery  # noqa: PLC0415

    problems = []
    latest = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None) + FUTURE_SLACK
    for m in found:
        try:
            when = _dt.datetime.strptime(m.version, "%Y%m%d%H%M%S")
        except ValueError:
            when = None   # a sequence number, not a time: nothing to compare with the clock
        if when is not None and when > latest:
            problems.append(f"{m.relpath}: version {m.version} is in the future ({when:%Y-%m-%d %H:%M:%S} UTC): "
                            "every migration written until then gets an older version, out of order wherever "
                            "this one is applied")
        named = discovery.headers(m.text or "").get("migration")
        if named and not named.startswith(f"{m.version}_"):
            problems.append(f"{m.relpath}: its header says `-- Migration: {named}`: a copy of another "
                            "migration that kept its header, or a file renamed to another version")
    if problems:
        return f"{len(problems)} problem(s) in the history:\n" + "\n".join(problems)
    return None


def migrations_apply(_pgshift_template: MigratedTemplate) -> None:
    """Every migration applies, in order, on an empty database (the session's template)."""
    if _pgshift_template.error is not None:
        _fail("the migrations do not apply on an empty database:\n" + explain(_pgshift_template.error))


def rollbacks_round_trip(pgshift_server_url: str, pgshift_project_dir: Path, pytestconfig: pytest.Config) -> None:
    """Every rollback restores the schema before its migration, and the migration applies again after it."""
    from .. import api  # noqa: PLC0415
    from .plugin import project_env  # noqa: PLC0415

    try:
        project = api.open_project(pgshift_project_dir, env=project_env(pytestconfig),
                                   database_url=pgshift_server_url)
        result = api.test(project, roundtrip=True)
    except PgshiftError as exc:
        failure: str | None = explain(exc)
    else:
        failure = None
        failed = [c for c in result.checks if c.status not in ("passed", "no-rollback")]
        if failed:
            lines = []
            for c in failed:
                lines.append(f"{c.version} {c.name}: {c.status}" + (f": {c.error}" if c.error else ""))
                lines.extend(f"    {d}" for d in c.differences)
            failure = f"{len(failed)} of {len(result.checks)} rollback(s) do not round-trip:\n" + "\n".join(lines)
    if failure:
        _fail(failure)


def lint_has_no_error(pgshift_project_dir: Path, pytestconfig: pytest.Config) -> None:
    """``pgshift lint`` finds no error in the project's migrations and rollbacks."""
    from .. import api  # noqa: PLC0415
    from .plugin import project_env  # noqa: PLC0415

    try:
        report, _text = api.lint(pgshift_project_dir, env=project_env(pytestconfig))
    except PgshiftError as exc:
        failure: str | None = explain(exc)
    else:
        errors = [f for f in report.findings if f.severity == "error"]
        lines = [f"{f.location}  {f.rule}  {f.message}" + (f"\n    hint: {f.hint}" if f.hint else "") for f in errors]
        failure = f"lint found {len(errors)} error(s):\n" + "\n".join(lines) if errors else None
    if failure:
        _fail(failure)


def schema_dump_is_current(pgshift_project_dir: Path, _pgshift_template: MigratedTemplate,
                           pytestconfig: pytest.Config) -> None:
    """The schema dump named by ``dump_schema`` is the migrated schema (skipped while there is none)."""
    import difflib  # noqa: PLC0415

    from .. import api  # noqa: PLC0415
    from .. import config as config_mod  # noqa: PLC0415
    from .plugin import project_env  # noqa: PLC0415

    cfg = config_mod.load(pgshift_project_dir)
    setting = getattr(cfg, "dump_schema", _UNKNOWN)
    if setting is _UNKNOWN:
        pytest.skip("pgshift has no `dump_schema` setting yet: there is no schema dump to compare")
    if not setting:
        pytest.skip("`dump_schema` is not set in the project's configuration")
    if _pgshift_template.error is not None:
        pytest.skip("the migrations do not apply (see migrations_apply): no migrated schema to compare")
    path = cfg.root / str(setting)
    try:
        project = api.open_project(pgshift_project_dir, env=project_env(pytestconfig),
                                   database_url=_pgshift_template.url)
        text = api.schema_dump(project).text
    except PgshiftError as exc:
        _fail(explain(exc))
        return
    if not path.is_file():
        _fail(f"{setting} does not exist: `pgshift schema dump --out {setting}` writes it (and `up` keeps it "
              "current)")
    recorded = path.read_text(encoding="utf-8")
    if recorded != text:
        lines = list(difflib.unified_diff(recorded.splitlines(), text.splitlines(), f"{setting} (committed)",
                                          "the migrations' schema", lineterm="", n=1))
        _fail(f"{setting} is not the schema the migrations make (`pgshift schema dump --out {setting}` "
              "rewrites it):\n" + "\n".join(lines[:60]) + ("\n..." if len(lines) > 60 else ""))


# name -> check, in the order they run
CHECKS: dict[str, Callable[..., None]] = {
    "history_is_linear": history_is_linear,
    "migrations_apply": migrations_apply,
    "rollbacks_round_trip": rollbacks_round_trip,
    "lint_has_no_error": lint_has_no_error,
    "schema_dump_is_current": schema_dump_is_current,
}
