"""``plan``: evidence before production. Every pending statement run on a copy of the target
(locks observed and reconciled with lint's predictions, blast radius probed, durations at the
target's size), the target's rows checked read-only, a fingerprint for ``up --plan``, and the
environment's policy as a gate."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import mask_dsn
from ..errors import InputError
from ..model import APPLIED, CHANGED, MISSING
from ..project import Project
from ._common import files, parse

PLAN_FORMAT = 1


@dataclass(frozen=True)
class PlanOptions:
    """What ``plan`` is asked to do: ``pgshift plan``'s flags.

    Attributes:
        target: Plan up to and including this version; None: every pending one.
        scale_rows: At most this many rows per table in the copy (the rest is extrapolated).
        from_backup: Build the copy from this backup (its schema and rows) instead of the
            target's schema with synthetic rows.
        truth_timeout: ``statement_timeout`` of each data-truth query on the target, in seconds.
        probes: Probe the blast radius from a second session.
        copy_server: A server URL where the copy is made (a scratch or the embedded server:
            ``pgshift db url``); None: the target's own server, which then runs the copy's work.
        column_stats: Read the target's column statistics (``pg_stats``: its null fractions and
            average widths, which show a sample of the data to whoever may read it) to shape
            the copy's synthetic rows; off unless the user allows it.
    """
    target: str | None = None
    scale_rows: int = 100_000
    from_backup: str | None = None
    truth_timeout: float = 10.0
    probes: bool = True
    copy_server: str | None = None
    column_stats: bool = False


@dataclass(frozen=True)
class PlanResult:
    """The plan: one document (``to_dict``, the JSON of ``pgshift plan``) and its verdict.

    Attributes:
        document: ``format``, ``database``, ``versions``, ``statements`` (each a trace, see
            :class:`pgshift.proof.trace.StatementTrace`), ``truth``, ``tables``, ``scaling``,
            ``policy``, ``violations``, ``fingerprint``, ``seconds``.
        violations: Each threshold the plan breaks, one line each.
    """
    document: dict = field(default_factory=dict)
    violations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the plan passes the policy."""
        return not self.violations

    def to_dict(self) -> dict:
        """``--json``: the document with ``ok``."""
        return {"ok": self.ok, **self.document}

    def to_markdown(self) -> str:
        """The plan as a pull-request comment."""
        from ..proof.report import markdown  # noqa: PLC0415

        return markdown(self.document)

    def to_text(self) -> str:
        """The plan for a terminal."""
        from ..proof.report import text  # noqa: PLC0415

        return text(self.document)


_SCALING = ("linear in rows: the duration measured on the copy times (target rows / copy rows) of the largest "
            "table the statement touches; index builds and sorts grow a little faster (n log n), caches and "
            "I/O differ: read it as within 0.5x to 2x")


def plan(project: Project, options: PlanOptions | None = None) -> PlanResult:
    """Plan the pending migrations: run each on a throwaway copy, observe, check the target's rows.

    The copy is made on the project's server: the target's schema (``pg_dump --schema-only``)
    filled with synthetic rows (``min(target rows, scale_rows)`` per table), or a backup. Each
    pending file runs on it as ``up`` would run it; after each statement its session's locks,
    rewrites, new columns and constraints are read, and the application's operations are probed
    from a second session. On the target only reads run, in READ ONLY transactions under
    ``truth_timeout``. The copy is always dropped.

    Args:
        project: An opened project (its environment's database is the target).
        options: What to plan; None: every pending version with the defaults.

    Returns:
        A :class:`PlanResult`; ``.ok`` is False when the environment's ``plan_policy`` is broken.

    Raises:
        InputError: ``target`` is no known version, or ``from_backup`` does not exist (exit 2).
        ConfigError: ``plan_policy`` holds an unknown key or a bad value (exit 2).
        OperationError: The target or its server cannot be reached, or pg_dump fails.
    """
    from .. import db  # noqa: PLC0415
    from ..proof import clone, fingerprint, policy, trace, truth  # noqa: PLC0415
    from ..rehearsal.throwaway import scratch_name, throwaway  # noqa: PLC0415
    from ..sql.requirements import data_requirements, pending_enum_labels  # noqa: PLC0415
    from .status import status  # noqa: PLC0415

    options = options or PlanOptions()
    rules = policy.read(project.env.plan_policy)
    started = time.monotonic()
    found = {m.version: m for m in files(project)}
    states = status(project).states
    versions = [s.version for s in states]
    if options.target is not None and options.target not in versions:
        raise InputError(f"--target {options.target}: no such version")
    cut = versions.index(options.target) + 1 if options.target is not None else len(versions)
    pending = [found[s.version] for s in states[:cut]
               if s.state not in (APPLIED, CHANGED, MISSING) and s.file and s.version in found]
    url = project.url()
    ledger = project.ledger
    with db.connect(url, application_name="pgshift-plan") as conn:
        database = conn.info.dbname
        server_version = db.server_version(conn)
        parsed = [(m, parse(m, database)) for m in pending]
        schema = fingerprint.schema_of(conn, ledger)
        conn.execute(f"SET statement_timeout = {int(options.truth_timeout * 1000)}")
        skip = {f"{ledger.schema}.{ledger.table}", ledger.table}
        sizes = clone.target_sizes(conn, skip)
        stats = clone.column_stats(conn, sizes) if options.column_stats else None
        checks = []
        enums = pending_enum_labels(stmt.node for _m, p in parsed for stmt in p.statements if stmt.node is not None)
        for _m, p in parsed:
            for stmt in p.statements:
                for req in data_requirements(stmt.node) if stmt.node is not None else ():
                    checks.append(truth.check(conn, f"{p.relpath}:{stmt.location.line}", req,
                                              options.truth_timeout, server_version, enums))
    traces: list = []
    if parsed:
        with db.connect(url, application_name="pgshift-plan") as admin:
            admin_db = admin.info.dbname
        server_url = options.copy_server or db.with_dbname(url, admin_db)
        with throwaway(server_url, project.reporter, name=scratch_name("pgshift_plan")) as copy_url:
            if options.from_backup is not None:
                from ..safety.backup import restore_file  # noqa: PLC0415

                if not Path(options.from_backup).is_file():
                    raise InputError(f"backup file {options.from_backup} does not exist")
                restore_file(options.from_backup, copy_url, reporter=project.reporter)
                with db.connect(copy_url) as c:
                    c.execute("ANALYZE")
                    copied = clone.target_sizes(c, skip)
                filled = {t: clone.TableSize(s.table, s.target_rows, s.target_bytes,
                                             copied[t].target_rows if t in copied else 0)
                          for t, s in sizes.items()}
            else:
                clone.schema_into(url, copy_url)
                filled = clone.fill(copy_url, sizes, options.scale_rows, stats)
            tracer = trace.Tracer(copy_url, filled, probes=options.probes)
            try:
                for m, p in parsed:
                    traces += tracer.run_file(m.version, p)
            finally:
                tracer.close()
        sizes = filled
    statements = [t.to_dict() for t in traces]
    truth_dicts = [c.to_dict() for c in checks]
    size_dicts = {t: s.to_dict() for t, s in sizes.items()}
    violations = policy.evaluate(rules, statements, truth_dicts, size_dicts)
    document = {
        "format": PLAN_FORMAT, "database": database, "server_version": server_version,
        "versions": [{"version": m.version, "file": p.relpath, "mode": p.mode, "checksum": m.checksum}
                     for m, p in parsed],
        "statements": statements, "truth": truth_dicts, "tables": list(size_dicts.values()),
        "scaling": {"scale_rows": options.scale_rows, "method": _SCALING,
                    "copy_server": mask_dsn(options.copy_server) if options.copy_server else "the target's server",
                    "source": "backup" if options.from_backup else "synthetic rows in the target's schema"},
        "policy": rules, "violations": violations,
        "fingerprint": fingerprint.make({m.version: m.checksum for m in pending}, schema, server_version),
        "seconds": round(time.monotonic() - started, 3),
    }
    return PlanResult(document, tuple(violations))


def check_plan(project: Project, path: str | Path | None) -> str | None:
    """What ``up --plan FILE`` may apply: the plan's last version, when the pending files (up to
    it), the target's schema and the server's version are still those the plan was made from.

    Args:
        project: An opened project (its environment's database is the target).
        path: The plan (``pgshift plan --format json --out FILE``); None when the environment
            requires a plan (``require_plan = true``) and none was given.

    Returns:
        The version ``up`` applies up to (None: the plan holds no version).

    Raises:
        SafetyRefusal: No plan where one is required, the plan fails its policy, or something
            changed since the plan: each difference is named (exit 3).
        InputError: The file is not a plan (exit 2).
    """
    import json  # noqa: PLC0415

    from .. import db  # noqa: PLC0415
    from ..errors import SafetyRefusal  # noqa: PLC0415
    from ..proof import fingerprint  # noqa: PLC0415
    from .status import status  # noqa: PLC0415

    if path is None:
        raise SafetyRefusal(f"environment {project.env.name} requires a plan (require_plan = true)",
                            hint="pgshift plan --format json --out plan.json, review it, "
                                 "then pgshift up --plan plan.json")
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        planned = doc["fingerprint"]
        versions = [v["version"] for v in doc["versions"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a plan made by pgshift plan --format json: {exc}") from None
    if doc.get("violations"):
        raise SafetyRefusal(f"the plan {path} fails its policy: " + "; ".join(doc["violations"]),
                            hint="fix the migrations or the data, plan again",
                            details={"violations": doc["violations"]})
    states = status(project).states
    order = [s.version for s in states]
    cut = max((order.index(v) + 1 for v in versions if v in order), default=0)
    found = {m.version: m for m in files(project)}
    pending = {s.version: found[s.version].checksum for s in states[:cut] if s.version in found
               and s.state not in (APPLIED, CHANGED, MISSING) and s.file}
    pending.update({v: found[v].checksum for v in planned["files"] if v in found and v in pending})
    with db.connect(project.url(), application_name="pgshift-plan") as conn:
        schema = fingerprint.schema_of(conn, project.ledger)
        version = db.server_version(conn)
    changed = fingerprint.differences(planned, pending, schema, version)
    if changed:
        raise SafetyRefusal(f"the plan {path} no longer holds: " + "; ".join(changed),
                            hint="run pgshift plan again and review it", details={"differences": changed})
    return versions[-1] if versions else None
