"""The round trip: each version's rollback proven on a copy of the database it was applied to.

For each pending version: snapshot, apply it, snapshot; then on a copy (CREATE DATABASE ...
TEMPLATE) roll it back (must equal the first snapshot) and apply it again (must equal the
second). A rollback that leaves something behind can then never spoil the proof of the
versions after it. How a version is applied or rolled back is the caller's (the ``test``
command passes its ``up`` and ``rollback``), so this room needs no verb.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import PgshiftError
from ..events import INFO, WARNING, emit
from ..model import MigrationFile
from ..project import Project
from . import diff as diff_mod
from . import snapshot
from .throwaway import copy_of

Apply = Callable[[Project, str, bool], None]     # (project, version, parse every pending file) -> None
RollBack = Callable[[Project, str], None]        # (project, version) -> None


@dataclass(frozen=True)
class VersionCheck:
    """One version's round trip, as ``test(project, roundtrip=True)`` proved it.

    Attributes:
        version: The version.
        name: Its name.
        status: ``passed``; ``failed`` (see ``differences`` and ``error``); ``no-rollback``
            (it has no rollback file: nothing to prove); ``error``.
        differences: What differs, each a sentence (``column public.users.email exists after
            its rollback but not before the migration``).
        error: Why the rollback, or applying the version again after it, failed.
    """
    version: str
    name: str
    status: str                      # passed, failed, no-rollback, error
    differences: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict:
        """``--json``: every field, the differences as a list."""
        return dict(self.__dict__, differences=list(self.differences))


def prove(scratch: Project, pending: list[MigrationFile], server_url: str, apply: Apply,
          roll_back: RollBack) -> tuple[int, list[VersionCheck]]:
    """Apply each of *pending* to *scratch* and prove its rollback on a copy; (applied, checks)."""
    exclude = (scratch.config.ledger,)

    def snap(target: Project):
        with target.connected() as conn:
            return snapshot.take(conn, exclude=exclude)

    with scratch.connected() as conn:
        scratch_db = conn.info.dbname
    checks: list[VersionCheck] = []
    for number, m in enumerate(pending):
        before = snap(scratch)
        # the first apply reads every pending file (a syntax error anywhere stops it before
        # anything runs); the ones after it need not read them all again
        apply(scratch, m.version, number == 0)
        if m.rollback is None:
            checks.append(VersionCheck(m.version, m.name, "no-rollback"))
            emit(scratch.reporter, WARNING, f"{m.version} {m.name}: no rollback file to prove", level="warning")
            continue
        after = snap(scratch)
        with copy_of(server_url, scratch_db) as probe_url:
            checks.append(_prove_rollback(scratch.at(probe_url, "pgshift test"), m, before, after, snap,
                                          apply, roll_back))
        last = checks[-1]
        emit(scratch.reporter, INFO if last.status == "passed" else WARNING,
             f"{m.version} {m.name}: rollback " + ("restores the schema" if last.status == "passed" else
                                                   f"leaves {len(last.differences)} difference(s)"
                                                   + (f"; {last.error}" if last.error else "")),
             level="info" if last.status == "passed" else "warning")
    return len(pending), checks


def _prove_rollback(probe: Project, m: MigrationFile, before, after, snap, apply: Apply,
                    roll_back: RollBack) -> VersionCheck:
    try:
        roll_back(probe, m.version)
    except PgshiftError as exc:
        return VersionCheck(m.version, m.name, "failed", error=f"the rollback failed: {exc}")
    differences = [d.describe("before the migration", "after its rollback")
                   for d in diff_mod.diff(before, snap(probe))]
    try:
        apply(probe, m.version, False)
    except PgshiftError as exc:
        return VersionCheck(m.version, m.name, "failed", tuple(differences),
                            error=f"applying it again after its rollback failed: {exc}")
    differences += [d.describe("after the first apply", "after applying it again")
                    for d in diff_mod.diff(after, snap(probe))]
    return VersionCheck(m.version, m.name, "passed" if not differences else "failed", tuple(differences))
