"""``lint``: the project's migrations (or given files) checked without a database; and the
lint run of ``up`` over its pending files, for the server's version.

``pgshift lint`` is a short process, so this module imports only what linting needs: the
configuration, the files, the engine (and through it the parser), and ``pgshift.parallel``
only when the files are many enough to pay for a forked worker (:data:`FORK_FROM`).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import config as config_mod
from .. import discovery
from ..errors import ConfigError
from ..records import record, replace
from ..text import printable

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..lint.results import LintOptions, LintReport
    from ..project import Project
    from ..runs import Step

#: Files from which ``lint`` spreads the work over the machine's cores (another worker for each
#: FORK_FROM / 2 files more): below it one process lints them all, as a forked worker costs more
#: than it saves. A fork costs about 6 ms here, mostly pages copied on write in both processes
#: (8 files: 2.7 ms in one process, 8.3 ms with a worker; 100 files: 27.7 ms, 21.3 ms);
#: bench/lint.py --break-even measures it.
FORK_FROM = 56


def lint(project_dir: str | Path | None = None, paths: list | None = None, fmt: str = "text",
         target_version: int | None = None, env: str | None = None, *,
         cache: bool = False) -> tuple[LintReport, str]:
    """Lint the project's migrations and rollbacks, or the given files and folders, without a database.

    Each file is linted as a run of its own (without a database nothing says which files are
    pending; ``up`` lints its pending files together, for the server's version).

    Args:
        project_dir: The project folder (its ``[lint]`` settings apply); default the current folder.
        paths: Files or folders to lint instead of the project's migrations folder.
        fmt: How the text is rendered: ``text``, ``json``, ``sarif`` or ``github`` (annotations).
        target_version: The PostgreSQL major version to lint for; default the environment's
            ``target_version``, then ``[lint]``'s, then ``[pgshift]``'s, else the newest.
        env: The environment whose settings apply (its ``target_version``, its lock_timeout).
        cache: Use the lint cache (:mod:`pgshift.lint.cache`): a file unchanged since a lint
            of the same configuration is not linted again. ``pgshift lint`` uses it unless
            ``--no-cache``; off by default here, so that a library call writes nothing.

    Returns:
        ``(report, text)``: the ``LintReport`` (``findings``, ``unused_ignores``, ``has_errors``,
        ``files``, ``statements``, ``counts()``, ``to_dict()``) and the text rendered in *fmt*.

    Raises:
        ConfigError: ``[lint]`` names an unknown rule, or the project cannot be read (exit 2).
        DiscoveryError: The migrations folder is missing, or a file is badly named (exit 2).
    """
    from ..lint.output import render  # noqa: PLC0415

    sources, options, folder = _sources_and_options(project_dir, paths, target_version, env)
    if cache:
        from ..lint.cache import report_of  # noqa: PLC0415
        from ..lint.results import target_version as version_of  # noqa: PLC0415

        version = version_of(options)
        report = _merge([report_of(e, version) for e in _entries(sources, options, folder)], options)
    else:
        report = _merge(_lint_shares(sources, options, lambda reports: _merge(reports, options)), options)
    return report, render(report, fmt)


@record(frozen=True)
class EncodedLint:
    """A lint run whose findings were encoded where they were found (:func:`lint_encoded`)."""
    parts: list[str]          # encode(findings) of each file that had findings, in run order
    findings: int             # how many findings the parts hold
    counts: dict[str, int]    # findings and unused ignores per severity
    report: LintReport        # the run without its findings: its unused ignores, files, statements, version


def lint_encoded(project_dir: str | Path | None, paths: list | None, target_version: int | None = None,
                 env: str | None = None, *, cache: bool = False) -> EncodedLint:
    """:func:`lint` for a caller that writes the findings out rather than reads them: each process
    encodes the findings of each of its files as the JSON document's objects (the lint cache's
    entries, :func:`pgshift.lint.cache.entry_of`), so that they come back as texts rather than
    as thousands of objects, and are encoded on every core at once. With *cache*, a file's
    entry comes from the lint cache when the file is as it was."""
    sources, options, folder = _sources_and_options(project_dir, paths, target_version, env)
    if not sources:
        _merge([], options)     # an empty run still checks the settings (a bad severity: exit 2)
        entries = []
    elif cache:
        entries = _entries(sources, options, folder)
    else:
        from ..lint.cache import entry_of  # noqa: PLC0415

        entries = [e for share in _lint_shares(sources, options, lambda reports: [entry_of(r) for r in reports])
                   for e in share]
    return _encoded_entries(entries, options)


def _entries(sources: list, options: LintOptions, folder: Path) -> list:
    """Each file's result as the lint cache keeps it (``lint.cache.Entry``), in order: from the
    cache when the file is as it was, else linted (as :func:`_lint_shares` does) and kept."""
    from ..lint.cache import LintCache, entry_of  # noqa: PLC0415

    store = LintCache(folder, options)
    looked = [store.lookup(s.relpath, s.path, s.has_rollback, s.is_rollback) for s in sources]
    entries = [entry for entry, _ in looked]
    todo = [i for i, entry in enumerate(entries) if entry is None]
    if todo:
        fresh = _lint_shares([sources[i] for i in todo], options, lambda reports: [entry_of(r) for r in reports])
        for i, entry in zip(todo, (entry for share in fresh for entry in share), strict=True):
            entries[i] = entry
            store.put(sources[i].relpath, looked[i][1], entry)
    store.save()
    return entries


def _encoded_entries(entries: list, options: LintOptions) -> EncodedLint:
    """The run of :func:`lint_encoded` from the files' cache entries."""
    from ..lint.cache import findings_of  # noqa: PLC0415
    from ..lint.registry import SEVERITIES  # noqa: PLC0415
    from ..lint.results import LintReport, target_version  # noqa: PLC0415

    counts = dict.fromkeys(SEVERITIES, 0)
    for entry in entries:
        for severity, n in zip(SEVERITIES, entry[5], strict=True):
            counts[severity] += n
    report = LintReport([], [f for entry in entries for f in findings_of(entry[4])],
                        any(entry[1] for entry in entries), files=len(entries),
                        statements=sum(entry[0] for entry in entries), target_version=target_version(options))
    return EncodedLint([entry[2] for entry in entries if entry[2]], sum(entry[3] for entry in entries), counts,
                       report)


def _sources_and_options(project_dir, paths, target_version, env) -> tuple[list, LintOptions, Path]:
    """The files to lint (not read yet), the project's lint settings, and its lint cache's folder."""
    cfg = config_mod.load(project_dir)
    sources: list[_LintSource] = []
    if not paths:
        discovery.require_folder(cfg.migrations_dir, cfg.root)
    targets = [Path(p) for p in (paths or [])] or [cfg.migrations_dir]
    for target in targets:
        if target.is_dir():
            if (target / discovery.ROLLBACK_DIR).is_dir() or any(target.glob("[0-9]*_*.sql")):
                for m in discovery.discover(target, cfg.root, read=False):
                    sources.append(_LintSource(m.relpath, m.abspath, m.rollback is not None))
                    if m.rollback is not None:
                        sources.append(_LintSource(m.rollback.relpath, str(m.rollback.path), is_rollback=True))
            else:
                sources.extend(_LintSource(_rel(path, cfg.root), str(path)) for path in sorted(target.rglob("*.sql")))
        elif target.parent.name == discovery.ROLLBACK_DIR:
            sources.append(_LintSource(_rel(target, cfg.root), str(target), is_rollback=True))
        else:
            named = discovery.is_migration_name(target.name)
            has_rollback = (discovery.rollback_for(target) is not None) if named else None
            sources.append(_LintSource(_rel(target, cfg.root), str(target), has_rollback))
    # findings name files as seen from where pgshift runs (a repository's root, in CI), so that
    # annotations and SARIF results point at files that exist there; outside it, from the project
    here = Path.cwd().resolve()
    if here != cfg.root:
        sources = [replace(s, relpath=_rel(Path(s.path), here)) if _under(Path(s.path), here) else s
                   for s in sources]
    options = _lint_options(cfg, target_version, cfg.environments.get(env or config_mod.DEFAULT_ENV))
    from ..lint.cache import folder_for  # noqa: PLC0415

    return sources, options, folder_for(cfg.root)


def _merge(reports: Sequence[LintReport], options: LintOptions) -> LintReport:
    """Reports of separate runs as one (none: an empty run's)."""
    from ..lint.results import LintReport  # noqa: PLC0415

    if not reports:
        from ..lint.engine import lint  # noqa: PLC0415

        return lint([], options)
    if len(reports) == 1:
        return reports[0]
    return LintReport(
        findings=[f for r in reports for f in r.findings],
        unused_ignores=[f for r in reports for f in r.unused_ignores],
        has_errors=any(r.has_errors for r in reports),
        files=sum(r.files for r in reports), statements=sum(r.statements for r in reports),
        target_version=reports[0].target_version)


@record(frozen=True)
class _LintSource:
    """A file to lint, not read yet (the workers read their own share)."""
    relpath: str
    path: str
    has_rollback: bool | None = None
    is_rollback: bool = False


def _lint_options(cfg: config_mod.Config, target_version: int | None = None,
                  env: config_mod.Environment | None = None, server_version: int | None = None):
    """The project's lint settings. The PostgreSQL version linted for is the first given of:
    --target-version, the environment's target_version, [lint] target_version,
    [pgshift] target_version, the connected server's major version; else the newest."""
    from ..lint.registry import get_rule  # noqa: PLC0415
    from ..lint.results import LintOptions  # noqa: PLC0415

    for name in (*cfg.lint.disable, *cfg.lint.severity):
        if get_rule(name) is None:
            raise ConfigError(f"[lint] names an unknown rule {name!r}", location=config_mod.locate(cfg, name),
                              hint="see `pgshift lint --list`")
    version = (target_version or (env.target_version if env is not None else None) or cfg.lint.target_version
               or cfg.target_version or server_version)
    return LintOptions(target_version=version, disable=cfg.lint.disable, severity=cfg.lint.severity,
                       ledger=cfg.ledger, environment=env.name if env is not None else None,
                       lock_timeout=(env.effective_lock_timeout or 0.0) if env is not None else None)


def _lint_one_by_one(sources: Sequence, options) -> list:
    """Read and lint each file as its own run."""
    from ..lint.engine import LintInput, lint_each  # noqa: PLC0415

    inputs = [s if isinstance(s, LintInput) else
              LintInput(s.relpath, discovery.read_text(s.path, s.relpath), has_rollback=s.has_rollback,
                        is_rollback=s.is_rollback) for s in sources]
    return lint_each(inputs, options)


def _lint_shares(sources: list, options, finish: Callable[[list[LintReport]], object]) -> list:
    """Lint each file as its own run, and ``finish`` the reports of each chunk of files where they
    were made: by this process and a forked worker (which has the parser and the rules loaded
    already) for each further core that :data:`FORK_FROM` files pay for, each taking the next
    chunk when it is free (:func:`pgshift.parallel.map_chunks`); what ``finish`` returns, in order.

    Without a database, nothing says which files are still pending: a table created by an earlier
    file may have been applied long ago and hold millions of rows. So each file is its own run
    here (only tables created earlier in the same file are exempt); `up` lints its pending files
    as one run."""
    if not sources:
        return []
    if len(sources) < FORK_FROM:
        return [finish(_lint_one_by_one(sources, options))]
    from .. import parallel  # noqa: PLC0415

    workers = min(parallel.workers_available(), len(sources) * 2 // FORK_FROM)
    if workers < 2 or not parallel.can_fork():
        return [finish(_lint_one_by_one(sources, options))]
    from ..lint.registry import all_rules  # noqa: PLC0415
    from ..sql import fast_trees  # noqa: PLC0415

    # the rule table is built once, before the fork; each worker turns the fast parse trees on
    # again itself (a forked child starts with pglast unpatched). The files go out in chunks
    # taken as each process is free, about a dozen per process: a process slowed by other work
    # on the machine lints fewer of them
    all_rules()
    with fast_trees():
        return parallel.map_chunks(lambda chunk: finish(_lint_one_by_one(chunk, options)), sources, workers,
                                   max(8, len(sources) // (workers * 12)))


def _lint_each(sources: list, options) -> list:
    """Each file's report, in order (linted as :func:`_lint_shares` does)."""
    return [r for share in _lint_shares(sources, options, list) for r in share]


def _rel(path: Path, root: Path) -> str:
    """*path* as findings name it (relative to *root* when under it), control characters escaped."""
    try:
        return printable(str(path.resolve().relative_to(root)))
    except ValueError:
        return printable(str(path))


def _under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder)


def lint_explain(rule: str) -> str:
    """One rule's documentation as text, as ``pgshift lint --explain RULE`` prints it.

    Args:
        rule: The rule's id (or an alias), e.g. ``set-not-null``.

    Returns:
        The rule's id, severity and versions, then its problem, safe alternative and example.

    Raises:
        UnknownRule: No rule has that id (an InputError, exit 2; also a KeyError).
    """
    from ..lint.engine import explain  # noqa: PLC0415

    return explain(rule)


def lint_rule(rule: str) -> dict:
    """One rule as data.

    Args:
        rule: The rule's id (or an alias).

    Returns:
        ``{"id", "severity", "versions", "aliases", "summary", "doc"}``.

    Raises:
        UnknownRule: No rule has that id (an InputError, exit 2; also a KeyError).
    """
    from ..lint.registry import describe  # noqa: PLC0415

    return describe(rule)


def lint_rules() -> list[dict]:
    """Every rule, as ``pgshift lint --list`` shows them.

    Returns:
        One dict per rule: ``id``, ``severity`` (error, warning, info), ``versions`` (the
        PostgreSQL versions it applies to), ``summary`` and ``aliases``.
    """
    from ..lint.engine import list_rules  # noqa: PLC0415

    return list_rules()


def lint_pending(project: Project, steps: list[Step], server_version: int | None = None) -> tuple:
    """Lint the files about to run, as one run, for the server's version unless one is configured."""
    if not steps:
        return ()
    from ..events import WARNING, emit  # noqa: PLC0415
    from ..lint.engine import LintInput, lint  # noqa: PLC0415

    inputs = [LintInput(s.relpath, s.parsed.text, has_rollback=s.migration.rollback is not None, parsed=s.parsed)
              for s in steps]
    options = _lint_options(project.config, env=project.env, server_version=server_version)  # bad [lint]: exit 2
    try:
        report = lint(inputs, options)
    except Exception as exc:  # noqa: BLE001 - a linter bug must not stop a migration; it is said, not hidden
        emit(project.reporter, WARNING, f"lint could not run ({type(exc).__name__}: {exc}); "
                                        "applying without its findings", level="warning")
        return ()
    return tuple(report.findings) + tuple(report.unused_ignores)


def report_findings(reporter, findings, per_rule: int = 3) -> None:
    """Lint findings before a run: errors and warnings (a few per rule, then a count), info with -v."""
    from ..events import FINDING, emit  # noqa: PLC0415

    shown: dict[str, int] = {}
    for f in findings:
        level = {"error": "warning", "warning": "warning"}.get(f.severity, "debug")
        shown[f.rule] = shown.get(f.rule, 0) + 1
        if shown[f.rule] <= per_rule or level == "debug":
            emit(reporter, FINDING, f"{f.location}  {f.severity}  {f.rule}  {f.message}", level=level,
                 finding=f.to_dict())
    for rule, count in shown.items():
        if count > per_rule and any(f.rule == rule and f.severity != "info" for f in findings):
            emit(reporter, FINDING,
                 f"... and {count - per_rule} more {rule} finding(s); `pgshift lint` lists them all",
                 level="warning")
