"""``report``: one static HTML page of the project: the ledger as a timeline, each version's
state, lint findings by rule and by file, and the round-trip results.

The data comes from the other verbs (``status`` for the states, the ledger read whole for the
timeline, ``lint`` over the project's files, ``test --roundtrip`` when asked); the page is
``report_html``'s. A report is a view: when lint or the round trip cannot run, the page says so
in that section and is written anyway; only an unreachable database (no states, no ledger)
stops it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..errors import InputError, PgshiftError
from ..project import Project
from ..rehearsal.roundtrip import VersionCheck

DEFAULT_OUT = "pgshift-report.html"


@dataclass(frozen=True)
class ReportResult:
    """The page ``report`` wrote: where, and what it counted.

    Attributes:
        path: the HTML file written (absolute).
        versions: how many versions the page lists.
        events: how many ledger events the timeline draws from.
        states: how many versions are in each state (state -> count).
        findings: how many lint findings (``None`` when lint could not run).
        lint_error: why lint could not run, or ``None``.
        roundtrip: how many versions the round trip proved (``None`` when not asked for or it
            could not run).
        roundtrip_failed: how many of them failed (``None`` as for ``roundtrip``).
        roundtrip_error: why the round trip could not run, or ``None``.
        html: the page itself (not in ``to_dict()``).
    """
    path: str
    versions: int
    events: int
    states: dict
    findings: int | None
    lint_error: str | None
    roundtrip: int | None
    roundtrip_failed: int | None
    roundtrip_error: str | None
    html: str = field(repr=False, compare=False, default="")

    def to_dict(self) -> dict:
        """``--json``: the path, the page's size, and the counts it shows."""
        return {"path": self.path, "bytes": len(self.html.encode()), "versions": self.versions, "states": self.states,
                "events": self.events, "findings": self.findings, "lint_error": self.lint_error,
                "roundtrip": self.roundtrip, "roundtrip_failed": self.roundtrip_failed,
                "roundtrip_error": self.roundtrip_error}


def report(project: Project, out: str | Path | None = None, *, roundtrip: bool = False,
           roundtrip_from: str | Path | None = None, lint: bool = True,
           plan_from: str | Path | None = None) -> ReportResult:
    """Write the project's report, a self-contained HTML page, to *out* (default
    ``pgshift-report.html`` in the current folder).

    Args:
        project: the project, from :func:`open_project`; its database is read (states, ledger).
        out: the HTML file to write (its folder is created); an existing file is replaced.
        roundtrip: run the round trip (as ``test(project, roundtrip=True)``: a throwaway database
            on the project's server) and show its results.
        roundtrip_from: instead, show the results of an earlier run: a file holding the output of
            ``pgshift --json test --roundtrip``.
        lint: lint the project's migrations (as ``pgshift lint``) and show the findings.
        plan_from: show a plan: a file ``pgshift plan --format json --out FILE`` wrote (its
            verdict, each statement's locks and what they block, time at size, data truth).

    Returns:
        A :class:`ReportResult`: where the page was written and what it counted.

    Raises:
        InputError: *roundtrip_from* is missing or holds no round-trip results; *plan_from* is
            missing or holds no plan; both round-trip arguments given; *out* cannot be written.
    """
    from .report_html import ReportData, render  # noqa: PLC0415

    if roundtrip and roundtrip_from is not None:
        raise InputError("give the round trip to run (roundtrip) or the file of an earlier one (roundtrip_from), "
                         "not both")
    path = Path(out if out is not None else DEFAULT_OUT).absolute()
    checks, source = (_read_checks(Path(roundtrip_from)) if roundtrip_from is not None else (None, None))
    plan, plan_source = (_read_plan(Path(plan_from)) if plan_from is not None else (None, None))
    states, events, database, ledger_exists = _ledger_and_states(project)
    drift, drift_error = _drift(project) if ledger_exists else (None, None)
    lint_report, lint_error = _lint(project) if lint else (None, None)
    roundtrip_error = None
    if roundtrip:
        checks, source, roundtrip_error = _run_roundtrip(project)
    data = ReportData(
        project=project.config.root.name, database=database, ledger=project.config.ledger,
        ledger_exists=ledger_exists, generated_at=_dt.datetime.now(_dt.timezone.utc), tool_version=__version__,
        states=tuple(states), events=tuple(events), lint=lint_report, lint_error=lint_error,
        roundtrip=checks, roundtrip_source=source, roundtrip_error=roundtrip_error, drift=drift,
        drift_error=drift_error, plan=plan, plan_source=plan_source)
    page = render(data)
    _write(path, page)
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    return ReportResult(
        path=str(path), versions=len(states), events=len(events), states=counts,
        findings=None if lint_report is None else len(lint_report.all_findings()), lint_error=lint_error,
        roundtrip=None if checks is None else len(checks),
        roundtrip_failed=None if checks is None else sum(c.status in ("failed", "error") for c in checks),
        roundtrip_error=roundtrip_error, html=page)


def _ledger_and_states(project: Project):
    """(version states, every ledger event, the database as shown, whether the ledger exists)."""
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from .status import status  # noqa: PLC0415

    result = status(project)
    with project.connected() as conn:
        events = ledger_mod.read(conn, project.ledger) if result.ledger_exists else []
    return result.states, events, result.database, result.ledger_exists


def _drift(project: Project):
    """(``pgshift drift``'s result as a dict, None), or (None, why it could not be read)."""
    from .schema import drift  # noqa: PLC0415

    try:
        return drift(project).to_dict(), None
    except PgshiftError as exc:
        return None, str(exc)


def _lint(project: Project):
    """(the lint report, None), or (None, why lint could not run)."""
    from .lint import lint  # noqa: PLC0415

    try:
        lint_report, _ = lint(project.config.root, env=project.env.name)
    except PgshiftError as exc:
        return None, str(exc)
    return lint_report, None


def _run_roundtrip(project: Project):
    """(checks, where they come from, None), or (None, None, why the round trip could not run)."""
    from .test import test  # noqa: PLC0415

    try:
        result = test(project, roundtrip=True)
    except PgshiftError as exc:
        return None, None, str(exc)
    return result.checks, f"Run for this report on the throwaway database {result.database} (dropped since).", None


def _read_checks(path: Path) -> tuple[tuple[VersionCheck, ...], str]:
    """The checks in the output of ``pgshift --json test --roundtrip``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the round-trip results {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{path} is not JSON: {exc}",
                         hint="write it with `pgshift --json test --roundtrip > FILE`") from None
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, list) or not all(isinstance(v, dict) and "version" in v for v in versions):
        what = "a failed run's error" if isinstance(data, dict) and "error" in data else "no round-trip results"
        raise InputError(f"{path} holds {what}", hint="write it with `pgshift --json test --roundtrip > FILE`")
    checks = tuple(VersionCheck(str(v["version"]), str(v.get("name") or ""), str(v.get("status") or "unknown"),
                                tuple(str(d) for d in v.get("differences") or ()), v.get("error"))
                   for v in versions)
    modified = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc)
    return checks, f"Read from {path.name}, written {modified:%Y-%m-%d %H:%M:%S} UTC."


def _read_plan(path: Path) -> tuple[dict, str]:
    """The plan document in *path* (``pgshift plan --format json --out FILE``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{path} is not JSON: {exc}", hint="write it with `pgshift plan --format json --out FILE`") \
            from None
    needed = ("statements", "truth", "violations", "versions", "database", "server_version")
    if not isinstance(data, dict) or not all(k in data for k in needed):
        raise InputError(f"{path} holds no plan", hint="write it with `pgshift plan --format json --out FILE`")
    modified = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc)
    return data, f"Read from {path.name}, written {modified:%Y-%m-%d %H:%M:%S} UTC."


def _write(path: Path, page: str) -> None:
    """The page, written whole or not at all (a temporary file beside it, renamed)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(page, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
