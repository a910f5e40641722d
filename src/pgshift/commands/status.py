"""``status`` and ``verify``: every version's state, and whether applied files still match."""
from __future__ import annotations

from dataclasses import dataclass

from ..model import APPLIED, CHANGED, FAILED, MISSING, OUT_OF_ORDER, PENDING, ROLLED_BACK, RUNNING
from ..project import Project
from ..runs import VersionState
from ..text import skip_blanks
from ._common import files

#: the states `up` would run (planning.pending_versions): a database with one of them is not up to date
TO_APPLY = (PENDING, FAILED, RUNNING, ROLLED_BACK, OUT_OF_ORDER)


@dataclass(frozen=True)
class StatusResult:
    """What ``status`` found: every version's state, from the files and the ledger together.

    Attributes:
        states: One :class:`pgshift.model.VersionState` per version, oldest first: ``version``,
            ``name``, ``state`` (applied, pending, failed, rolled_back, changed, missing,
            out_of_order, running), ``file``, ``has_rollback``, ``applied_at``, ``execution_ms``,
            the checksums and the last ``error``.
        database: The database read, without its password.
        ledger: The ledger table (``schema.table``).
        ledger_exists: False before the first ``up`` created the ledger.
        stubs: The versions whose rollback file holds no statement (the stub ``pgshift new``
            wrote, never filled in).
        repeatables: The repeatable migrations (``migrations/repeatable/*.sql``), each a
            :class:`pgshift.schema.repeatable.RepeatableState`: applied, pending, changed,
            failed or removed.
    """
    states: tuple[VersionState, ...]
    database: str
    ledger: str
    ledger_exists: bool
    stubs: frozenset[str] = frozenset()
    repeatables: tuple = ()

    @property
    def to_apply(self) -> tuple[VersionState, ...]:
        """The versions `pgshift up` would run: pending, failed, interrupted, rolled back, out of order."""
        return tuple(s for s in self.states if s.state in TO_APPLY and s.file is not None)

    def to_dict(self) -> dict:
        """``--json``: counts of every state (0 when absent), ``up_to_date`` (nothing for `up` to run)
        and each version, with ``rollback_stub`` (its rollback file holds no statement)."""
        counts = dict.fromkeys((APPLIED, PENDING, FAILED, ROLLED_BACK, CHANGED, MISSING, OUT_OF_ORDER, RUNNING), 0)
        for s in self.states:
            counts[s.state] = counts.get(s.state, 0) + 1
        return {"database": self.database, "ledger": self.ledger, "ledger_exists": self.ledger_exists,
                "counts": counts,
                "up_to_date": not self.to_apply and not any(r.state in ("pending", "changed", "failed")
                                                            for r in self.repeatables),
                "versions": [{**s.to_dict(), "rollback_stub": s.version in self.stubs} for s in self.states],
                "repeatables": [r.to_dict() for r in self.repeatables]}


def status(project: Project, fresh: bool = False) -> StatusResult:
    """Every version's state: the migration files and the ledger read together.

    The files are read while a forked child connects and reads the ledger: on a large project
    the two take about as long. Read-only: nothing is written, and the embedded server is never
    started here.

    Args:
        project: An opened project (:func:`pgshift.api.open_project`).
        fresh: Read every file again instead of trusting the stat cache (``.pgshift/``).

    Returns:
        A :class:`StatusResult`; ``to_dict()["counts"]`` counts each state, ``to_apply`` lists
        what ``up`` would run.

    Raises:
        DiscoveryError: A file is badly named, duplicated, orphaned or unreadable (exit 2).
        ConfigError: The project uses the embedded server and it is not running (exit 2).
        OperationError: The database cannot be reached.
    """
    from .. import parallel  # noqa: PLC0415
    from ..planning import version_states  # noqa: PLC0415

    project.url(start=False)   # before the fork: the child finds the URL resolved

    def read_ledger():
        from .. import ledger as ledger_mod  # noqa: PLC0415

        with project.connected() as conn:
            exists = ledger_mod.exists(conn, project.ledger)
            return exists, (ledger_mod.read(conn, project.ledger) if exists else []), project.shown_database(conn)

    found, (exists, events, shown) = parallel.together(lambda: files(project, cached=not fresh), read_ledger)
    stubs = frozenset(m.version for m in found
                      if m.rollback is not None and m.rollback.text is not None and not has_statement(m.rollback.text))
    from ..schema import repeatable  # noqa: PLC0415

    repeatables = repeatable.discover(project.config.migrations_dir, project.config.root)
    return StatusResult(tuple(version_states(found, events)), shown, project.config.ledger, exists, stubs,
                        tuple(repeatable.states(repeatables, events)))


def has_statement(sql: str) -> bool:
    """Whether *sql* holds anything but blanks, comments (``--`` and nested ``/* */``) and
    semicolons: the stub `pgshift new` writes for a rollback holds none. Lexical, without the
    parser: status stays light."""
    i = skip_blanks(sql, 0)
    while i < len(sql) and sql[i] == ";":
        i = skip_blanks(sql, i + 1)
    return i < len(sql)


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify`` found: applied versions whose files changed, or are gone, since.

    Attributes:
        checked: How many applied versions were compared with their file.
        changed: Applied versions whose file's checksum differs from the one recorded.
        missing: Applied versions whose file is gone.
        unverifiable: Applied versions whose event recorded no checksum (an adopted ledger):
            they cannot be checked, and never count as a match.
    """
    checked: int
    changed: tuple[VersionState, ...]
    missing: tuple[VersionState, ...]
    unverifiable: tuple[VersionState, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every applied file is there and unchanged."""
        return not self.changed and not self.missing

    def to_dict(self) -> dict:
        """``--json``: ok, how many were checked, the changed and the missing."""
        return {"ok": self.ok, "checked": self.checked,
                "changed": [s.to_dict() for s in self.changed], "missing": [s.to_dict() for s in self.missing],
                "unverifiable": [s.to_dict() for s in self.unverifiable]}


def verify(project: Project) -> VerifyResult:
    """Compare every applied version's recorded checksum with its file, read afresh.

    Args:
        project: An opened project.

    Returns:
        A :class:`VerifyResult`; ``.ok`` is False when a file changed or is gone (the command
        line exits 1 then).

    Raises:
        DiscoveryError: A file is badly named, duplicated, orphaned or unreadable (exit 2).
        ConfigError: The project uses the embedded server and it is not running (exit 2).
        OperationError: The database cannot be reached.
    """
    result = status(project, fresh=True)
    applied = [s for s in result.states if s.state in (APPLIED, CHANGED, MISSING)]
    unverifiable = tuple(s for s in applied if s.state == APPLIED and not s.recorded_checksum)
    return VerifyResult(len(applied) - len(unverifiable), tuple(s for s in applied if s.state == CHANGED),
                        tuple(s for s in applied if s.state == MISSING), unverifiable)
