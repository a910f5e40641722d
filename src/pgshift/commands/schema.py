"""``drift``, ``schema dump`` and ``schema diff``: the schema the ledger expects, the schema as a
file, and two databases side by side (issue 14, points 1 to 3). The hooks ``up`` and ``down``
call are here too: a fingerprint after each version, the drift check before a protected ``up``,
the schema file kept current."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import InputError, PgshiftError, SafetyRefusal
from ..events import INFO, WARNING, emit
from ..project import Project

if TYPE_CHECKING:
    from ..schema.drift import DriftReport


def _difference_dict(d: Any, before: str, after: str) -> dict:
    out = d.to_dict()
    out["text"] = d.describe(before, after)
    return out


@dataclass(frozen=True)
class DriftResult:
    """What ``drift`` found: the live schema against the ledger's expectation.

    Attributes:
        database: The database checked, without its password.
        status: ``clean`` (the schema is what the last version left), ``drifted``, or
            ``unknown`` (no version recorded a fingerprint yet).
        live_sha256: The fingerprint of the schema now.
        expected_version: The last version that recorded the schema it left (None: unknown).
        expected_sha256: That version's fingerprint.
        last_matched_version: The last version after which the schema still matched (None when
            it matches now or nothing is known).
        last_matched_at: When that version ran (the drift came after it).
        matches_version: An earlier version whose recorded schema equals the live one (the
            versions after it undone by hand, a restore), else None.
        objects_named: Whether the expected snapshot was stored, so differing objects are named.
        differences: Each object that differs: ``kind`` (missing, extra, changed),
            ``object_type``, ``name``, ``attribute``, ``before`` (expected), ``after`` (live), ``text``.
        notes: What else the ledger tells (a version applied over a drifted schema, no snapshot).
    """
    database: str
    status: str
    live_sha256: str
    expected_version: str | None = None
    expected_sha256: str | None = None
    last_matched_version: str | None = None
    last_matched_at: Any = None
    matches_version: str | None = None
    objects_named: bool = False
    differences: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def drifted(self) -> bool:
        """Whether the schema differs from the expectation."""
        return self.status == "drifted"

    def to_dict(self) -> dict:
        """``--json``: every attribute, ``drifted`` too."""
        return {"database": self.database, "status": self.status, "drifted": self.drifted,
                "live_sha256": self.live_sha256, "expected_version": self.expected_version,
                "expected_sha256": self.expected_sha256, "last_matched_version": self.last_matched_version,
                "last_matched_at": self.last_matched_at, "matches_version": self.matches_version,
                "objects_named": self.objects_named, "differences": list(self.differences),
                "notes": list(self.notes)}


def _drift_result(database: str, report: DriftReport) -> DriftResult:
    expected = report.expected
    drifted = report.drifted and expected is not None
    label = f"after {expected.version}" if expected else "expected"
    return DriftResult(
        database=database, status=report.status, live_sha256=report.live_sha256,
        expected_version=expected.version if expected else None,
        expected_sha256=expected.sha256 if expected else None,
        last_matched_version=expected.version if drifted and expected else None,
        last_matched_at=expected.at if drifted and expected else None,
        matches_version=report.matches_earlier.version if report.matches_earlier else None,
        objects_named=report.objects_named,
        differences=tuple(_difference_dict(d, label, "in the database") for d in report.differences),
        notes=report.notes)


def drift(project: Project) -> DriftResult:
    """Compare the live schema with what the ledger says the last version left.

    No shadow database: each version applied by this pgshift recorded the fingerprint of the
    schema it left; the live schema's fingerprint is compared with the newest. With
    ``store_snapshots = true`` the expected snapshot is stored too, and each object that differs
    is named. Read-only.

    Args:
        project: An opened project.

    Returns:
        A :class:`DriftResult` (``drifted`` True when the schema differs).

    Raises:
        OperationError: The database cannot be reached (exit 1).
    """
    from ..schema.drift import check  # noqa: PLC0415

    with project.connected() as conn:
        report = check(conn, project.ledger)
        return _drift_result(project.shown_database(conn), report)


def refuse_on_drift(project: Project, conn: Any, allow: bool) -> dict | None:
    """Before ``up`` changes anything: the live schema against the ledger's expectation.

    A protected environment refuses on drift (exit 3) unless *allow* (``--allow-drift``) or
    ``allow_drift = true``; elsewhere a warning. Returns what the first event records
    (``details.drift_before``), or None when there is no drift to record."""
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..schema.drift import check, fingerprinted  # noqa: PLC0415
    from ..schema.fingerprint import snapshot  # noqa: PLC0415

    if project.stands_for is not None:   # a throwaway copy (pgshift test): nobody's schema to guard
        return None
    if project.config.fingerprint == "off" or not fingerprinted(ledger_mod.read(conn, project.ledger)):
        return None     # nothing recorded to compare with: no catalog read
    live = snapshot(conn, project.ledger)
    report = check(conn, project.ledger, live=live)
    if not report.drifted or report.expected is None:
        return None
    expected = report.expected
    named = [f"  {d.describe(f'after {expected.version}', 'in the database').splitlines()[0].rstrip(':')}"
             for d in report.differences[:20]]
    what = (f"the schema of {project.shown_database(conn)} differs from what {expected.version} left "
            f"(changed outside migrations since then)" + (":\n" + "\n".join(named) if named else ""))
    if project.env.protected and not (allow or project.env.allow_drift):
        raise SafetyRefusal(
            f"drift in protected environment {project.env.name!r}: {what}; nothing was changed",
            hint="`pgshift drift` shows it; put the change into a migration, or undo it by hand; "
                 "--allow-drift applies anyway",
            details={"expected_version": expected.version, "expected_sha256": expected.sha256,
                     "live_sha256": report.live_sha256})
    emit(project.reporter, WARNING, f"drift: {what}", level="warning")
    if project.config.store_snapshots:   # what the run found, so `drift` can name it later
        with conn.transaction():
            ledger_mod.store_snapshot(conn, project.ledger, report.live_sha256, live.to_json())
    return {"expected": expected.sha256, "found": report.live_sha256, "after_version": expected.version}


class Fingerprints:
    """The ``after_step`` hook of ``up`` and ``rollback`` (``run_plan``): the schema a version left,
    recorded in its event after the last step of the run (``fingerprint = "run"``, the default:
    nothing else runs between the versions of a run, which holds the run lock, and a snapshot per
    version would cost a catalog read each, about 0.25 s at 1,000 tables), after every step
    (``"each"``), or never (``"off"``). *drift_before* (what ``refuse_on_drift`` found) goes into
    the first event that records a fingerprint. :meth:`flush`, after a run that stopped early,
    records the schema after the last step that completed."""

    def __init__(self, project: Project, conn: Any, steps: Sequence[Any], drift_before: dict | None = None) -> None:
        self.project, self.conn = project, conn
        self.mode = project.config.fingerprint
        self.last = steps[-1].version if steps else None
        self.pending = {**drift_before, "first_version": steps[0].version} if drift_before and steps else None
        self.unrecorded: str | None = None     # the newest completed step without a fingerprint

    def __call__(self, step: Any) -> None:
        if self.mode == "off":
            return
        if self.mode == "run" and step.version != self.last:
            self.unrecorded = step.version
            return
        self._record(step.version)

    def flush(self) -> None:
        """After a run that stopped early: the schema after its last completed step (never raises)."""
        if self.unrecorded is None or self.conn.broken or self.conn.closed:
            return
        try:
            self._record(self.unrecorded)
        except Exception:  # noqa: BLE001 - the run's own error is the one to report
            pass

    def _record(self, version: str) -> None:
        import psycopg  # noqa: PLC0415

        try:
            record_fingerprint(self.project, self.conn, version, self.pending)
        except (psycopg.Error, PgshiftError) as exc:   # the version is applied: a missing fingerprint is no failure
            if self.conn.broken or self.conn.closed:
                raise
            why = (str(exc).strip() or repr(exc)).splitlines()[0]
            emit(self.project.reporter, WARNING, f"{version} is applied, but the schema it left could not be "
                                                 f"recorded ({why}); `pgshift drift` will say the expectation is "
                                                 "unknown", level="warning")
        self.pending = None
        self.unrecorded = None


def fingerprints(project: Project, conn: Any, steps: Sequence[Any], drift_before: dict | None = None
                 ) -> Fingerprints:
    """The ``after_step`` hook of ``up`` and ``rollback`` (see :class:`Fingerprints`)."""
    return Fingerprints(project, conn, steps, drift_before)


def record_fingerprint(project: Project, conn: Any, version: str, drift_before: dict | None = None) -> None:
    """After *version* ran (applied or rolled back): record the schema it left in its event."""
    from ..schema import fingerprint  # noqa: PLC0415

    if project.stands_for is not None:   # a throwaway copy: its round trip takes its own snapshots
        return
    fingerprint.record(conn, project.ledger, version, store=project.config.store_snapshots,
                       extra={"drift_before": drift_before} if drift_before else None)


@dataclass(frozen=True)
class SchemaDumpResult:
    """What ``schema dump`` wrote.

    Attributes:
        database: The database dumped, without its password.
        path: The file written; None when the text went to the caller (``text``).
        text: The normalised schema (``pg_dump --schema-only``, post-processed).
        sha256: The SHA-256 of the text.
        changed: Whether the file's content changed (False: it already held this text).
    """
    database: str
    path: Path | None
    text: str = field(repr=False)
    sha256: str
    changed: bool = True

    def to_dict(self) -> dict:
        """``--json``: where it went, its hash and whether it changed (the text itself without a path)."""
        out: dict = {"database": self.database, "path": self.path, "sha256": self.sha256, "changed": self.changed,
                     "bytes": len(self.text.encode("utf-8"))}
        if self.path is None:
            out["text"] = self.text
        return out


def schema_dump(project: Project, out: str | Path | None = None) -> SchemaDumpResult:
    """Write the database's schema as a stable, normalised SQL file.

    ``pg_dump --schema-only`` without owners, grants, comments of pg_dump's own, session
    settings or pgshift's tables: two databases migrated from the same files give the same
    bytes, and a migration that changes the schema changes the file exactly there.

    Args:
        project: An opened project.
        out: The file to write (relative to the project's folder); None returns the text only.

    Returns:
        A :class:`SchemaDumpResult`.

    Raises:
        OperationError: The database cannot be reached, no pg_dump fits the server, or pg_dump failed.
        InputError: The file cannot be written (exit 2).
    """
    with project.connected() as conn:
        return _dump(project, conn, out)


def _dump(project: Project, conn: Any, out: str | Path | None) -> SchemaDumpResult:
    import hashlib  # noqa: PLC0415
    import os  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from ..schema.dump import dump  # noqa: PLC0415

    text = dump(project.url(), conn, project.ledger)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path = None
    changed = True
    if out is not None:
        path = Path(out) if Path(out).is_absolute() else project.config.root / out
        try:
            changed = not path.is_file() or path.read_text(encoding="utf-8") != text
            if changed:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")   # one per writer
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)
        except OSError as exc:
            raise InputError(f"cannot write the schema file {path}: {exc.strerror or exc}") from None
    return SchemaDumpResult(project.shown_database(conn), path, text, sha, changed)


def keep_dump(project: Project, conn: Any) -> None:
    """``dump_schema = "schema.sql"``: after ``up`` or ``down`` changed something, rewrite it."""
    if not project.config.dump_schema or project.stands_for is not None:
        return
    try:
        result = _dump(project, conn, project.config.dump_schema)
    except PgshiftError as exc:   # what ran stays applied: a schema file not rewritten is a warning
        emit(project.reporter, WARNING, f"the schema file {project.config.dump_schema} was not updated: "
                                        f"{exc.message}", level="warning")
        return
    if result.changed:
        emit(project.reporter, INFO, f"schema file {project.config.dump_schema} updated", level="info")


@dataclass(frozen=True)
class SchemaDiffResult:
    """Two databases side by side.

    Attributes:
        a: The first database's label (an environment's name, or its URL without password).
        b: The second's.
        only_in_a: Versions applied on *a* and not on *b*.
        only_in_b: Versions applied on *b* and not on *a*.
        a_sha256: The fingerprint of *a*'s schema.
        b_sha256: The fingerprint of *b*'s schema.
        differences: Each object that differs (``missing``: on *a* only, ``extra``: on *b*
            only, ``changed``: ``before`` is *a*'s value, ``after`` *b*'s), with ``text``.
    """
    a: str
    b: str
    only_in_a: tuple[str, ...]
    only_in_b: tuple[str, ...]
    a_sha256: str
    b_sha256: str
    differences: tuple[dict, ...] = ()

    @property
    def same(self) -> bool:
        """Whether both have the same versions applied and the same schema."""
        return not (self.only_in_a or self.only_in_b or self.differences) and self.a_sha256 == self.b_sha256

    def to_dict(self) -> dict:
        """``--json``: every attribute, ``same`` too."""
        return {"a": self.a, "b": self.b, "same": self.same, "only_in_a": list(self.only_in_a),
                "only_in_b": list(self.only_in_b), "a_sha256": self.a_sha256, "b_sha256": self.b_sha256,
                "differences": list(self.differences)}


def schema_diff(project: Project, envs: Sequence[str] = (), urls: Sequence[str] = ()) -> SchemaDiffResult:
    """Compare two databases: two environments of the project (each through its configured
    ``url``) or two URLs; versions applied on one and not the other, and the objects that differ.

    Args:
        project: An opened project (its ledger setting and environments are used).
        envs: Two environment names, or one with one URL in *urls*.
        urls: Two database URLs, or one with one environment.

    Returns:
        A :class:`SchemaDiffResult` (``same`` True when nothing differs). Read-only.

    Raises:
        InputError: Not exactly two databases were named (exit 2).
        ConfigError: An environment is unknown or has no url (exit 2).
        OperationError: A database cannot be reached (exit 1).
    """
    import os  # noqa: PLC0415
    from contextlib import ExitStack  # noqa: PLC0415

    from ..config import mask_dsn  # noqa: PLC0415
    from ..errors import ConfigError  # noqa: PLC0415
    from ..project import URL_VARS, resolve_connection  # noqa: PLC0415
    from ..schema.compare import compare  # noqa: PLC0415

    if len(envs) + len(urls) != 2:
        raise InputError(f"schema diff compares two databases; {len(envs) + len(urls)} given",
                         hint="pgshift schema diff --env staging --env production (or --url URL twice)")
    sides: list[tuple[str, Project]] = []
    for name in envs:
        env = project.config.environment(name)
        if not env.url:
            raise ConfigError(f"[env.{name}] has no url: schema diff reaches each environment through its own url",
                              hint=f"set url in [env.{name}], or pass --url")
        given = project.environ if project.environ is not None else os.environ   # the flag and DATABASE_URL
        environ = {k: v for k, v in given.items() if k not in URL_VARS}           # name no environment here
        connection = resolve_connection(project.config, env, None, environ)
        sides.append((name, Project(project.config, env, connection, project.reporter, environ=project.environ)))
    for url in urls:
        sides.append((mask_dsn(url), project.at(url, "--url")))
    with ExitStack() as stack:
        conns = [(label, stack.enter_context(p.connected())) for label, p in sides]
        a, b, differences = compare(conns[0], conns[1], project.ledger)
    av, bv = set(a.versions), set(b.versions)
    return SchemaDiffResult(
        a.label, b.label, tuple(v for v in a.versions if v not in bv), tuple(v for v in b.versions if v not in av),
        a.sha256, b.sha256, tuple(_difference_dict(d, f"on {a.label}", f"on {b.label}") for d in differences))
