"""Repeatable migrations: ``migrations/repeatable/*.sql`` (views, functions, triggers, grants).

A repeatable file has no version. ``up`` applies it after the versioned migrations whenever its
checksum differs from the one its last completed run recorded (or it never ran), in the order
of the files' names (name them ``010_views.sql``, ``020_grants.sql`` when one needs another),
each in one transaction together with its ledger event. So a file must be safe to run again:
``CREATE OR REPLACE VIEW``, ``CREATE OR REPLACE FUNCTION``, ``DROP TRIGGER IF EXISTS`` then
``CREATE TRIGGER``, ``GRANT``.

The ledger: an event per run, ``migration_type = 'repeatable'`` and ``version =
'repeatable/<file name without .sql>'``. A version is digits only, so planning never mistakes
one for a version (:func:`pgshift.planning.version_states` leaves these events out), and
``status`` shows them apart.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from .. import discovery
from ..errors import DiscoveryError, PlanError
from ..model import TX_FILE, Location, MigrationFile
from ..planning import REPEATABLE
from ..runs import LedgerEvent, Step

FOLDER = discovery.REPEATABLE_DIR
PREFIX = FOLDER + "/"

#: the states of a repeatable file
APPLIED, PENDING, CHANGED, FAILED, REMOVED = "applied", "pending", "changed", "failed", "removed"
DUE = (PENDING, CHANGED, FAILED)


@dataclass(frozen=True)
class RepeatableState:
    """One repeatable file and what the ledger says of it.

    Attributes:
        name: The file's name without ``.sql`` (its ledger version is ``repeatable/<name>``).
        state: ``applied`` (its last completed run had this checksum), ``pending`` (never
            ran), ``changed`` (the file changed since: ``up`` runs it again), ``failed`` (its
            last run failed), ``removed`` (it ran, and the file is gone).
        file: The file, relative to the project; None when removed.
        checksum: The file's checksum; None when removed.
        recorded_checksum: The checksum of its last completed run; None if it never completed.
        applied_at: When that run completed.
        error: Its last run's error, when that run failed.
    """
    name: str
    state: str
    file: str | None
    checksum: str | None
    recorded_checksum: str | None
    applied_at: _dt.datetime | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        """``--json``: every field."""
        return dict(self.__dict__)


def is_repeatable(event: LedgerEvent) -> bool:
    """Whether *event* is a repeatable file's."""
    return (event.migration_type or "").strip().lower() == REPEATABLE or event.version.startswith(PREFIX)


def discover(migrations_dir: Path, project_root: Path | None = None) -> list[MigrationFile]:
    """The ``.sql`` files of ``<migrations>/repeatable/``, in name order, each read once (its text
    and checksum from the same bytes). A name may hold lowercase letters, digits, ``_``, ``-``
    and ``.``; anything else is a DiscoveryError naming the file."""
    folder = Path(migrations_dir) / FOLDER
    if not folder.is_dir():
        return []
    root = Path(project_root) if project_root else Path(migrations_dir).parent
    try:
        shown = str(folder.relative_to(root))
    except ValueError:
        shown = str(folder)
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or not path.name.lower().endswith(".sql"):
            continue
        relpath = f"{shown}/{path.name}"
        stem = path.name[:-4]
        if not path.name.endswith(".sql") or not stem or any(c not in _NAME_CHARS for c in stem):
            raise DiscoveryError(f"bad repeatable migration file name {path.name!r}: the name may hold only "
                                 "lowercase letters, digits, _, - and . and ends in .sql",
                                 location=Location(relpath, 1, 1))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DiscoveryError(f"{relpath} cannot be read: {exc.strerror or exc}",
                                 details={"file": relpath}) from None
        text = discovery.read_text(path, relpath, data)
        head = discovery.headers(text)
        found.append(MigrationFile(PREFIX + stem, stem, str(path), relpath, discovery.checksum(data),
                                   head.get("description"), head.get("author"), head.get("date"), text=text))
    return found


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")


def states(files: list[MigrationFile], events: list[LedgerEvent]) -> list[RepeatableState]:
    """Each repeatable file's state (name order), then those that ran and whose file is gone."""
    latest: dict[str, LedgerEvent] = {}
    completed: dict[str, LedgerEvent] = {}
    for event in events:     # oldest first
        if not is_repeatable(event):
            continue
        latest[event.version] = event
        if (event.status or "").strip().lower() == "completed":
            completed[event.version] = event
    out = []
    for f in files:
        done, last = completed.get(f.version), latest.get(f.version)
        failed = last is not None and (last.status or "").strip().lower() == "failed" and last is not done
        if failed and last is not None and (done is None or last.id > done.id) and last.checksum == f.checksum:
            state = FAILED
        elif done is None:
            state = PENDING
        elif done.checksum != f.checksum:
            state = CHANGED
        else:
            state = APPLIED
        out.append(RepeatableState(f.name, state, f.relpath, f.checksum, done.checksum if done else None,
                                   done.completed_at if done else None,
                                   last.error if state == FAILED and last is not None else None))
    present = {f.version for f in files}
    for version, done in completed.items():
        if version not in present:
            out.append(RepeatableState(version[len(PREFIX):] if version.startswith(PREFIX) else version, REMOVED,
                                       None, None, done.checksum, done.completed_at))
    return out


def steps(files: list[MigrationFile], found: list[RepeatableState], database: str | None = None) -> tuple[Step, ...]:
    """The steps that run the due files (pending, changed, failed), in name order, each parsed.
    A file that cannot run in one transaction is a PlanError at its first line: nothing runs."""
    from ..sql import parse_file  # noqa: PLC0415

    due = {s.name for s in found if s.state in DUE}
    out = []
    for f in files:
        if f.name not in due:
            continue
        parsed = parse_file(f.relpath, discovery.text_of(f), database=database)
        if parsed.mode != TX_FILE:
            raise PlanError(f"{f.relpath} cannot run in one transaction ({parsed.mode_reason}): a repeatable "
                            "migration runs in one transaction with its ledger event",
                            location=Location(f.relpath, 1, 1),
                            hint="move what cannot run in a transaction into a versioned migration")
        out.append(Step(REPEATABLE, f, parsed, parsed.mode))
    return tuple(out)


def with_due(project, plan, events: list[LedgerEvent], database: str | None = None):
    """*plan* with the due repeatable files' steps after its versioned ones (``up`` without a
    target): the files of ``<migrations>/repeatable/``, their states from *events*."""
    from dataclasses import replace  # noqa: PLC0415

    files = discover(project.config.migrations_dir, project.config.root)
    if not files:
        return plan
    return replace(plan, steps=plan.steps + steps(files, states(files, events), database))
