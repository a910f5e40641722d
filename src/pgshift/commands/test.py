"""``test``: every migration applied to a throwaway database; with ``roundtrip``, each rollback proven."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Environment
from ..errors import InputError
from ..model import APPLIED, CHANGED
from ..project import Project
from ..rehearsal.roundtrip import VersionCheck
from ._common import files


@dataclass(frozen=True)
class TestResult:
    """What ``test`` did: the throwaway database, how many versions it applied, each proof.

    Attributes:
        database: The throwaway database's name (dropped unless ``kept``).
        applied: How many versions were applied to it.
        checks: With ``roundtrip``: one :class:`pgshift.rehearsal.roundtrip.VersionCheck` per
            version; empty without.
        kept: The database was kept (``keep=True``).
        restored_from: The backup restored into it first, if any.
        strict: Column-order and printing differences failed too (``strict=True``).
    """
    __test__ = False   # not a pytest test class, even when imported into a test module

    database: str
    applied: int
    checks: tuple[VersionCheck, ...]
    kept: bool
    restored_from: str | None = None
    strict: bool = False

    @property
    def ok(self) -> bool:
        """True when every proof passed (a version without a rollback counts as passed)."""
        return all(c.status in ("passed", "no-rollback") for c in self.checks)

    def to_dict(self) -> dict:
        """``--json``: ok, the database, the count applied and each version's proof."""
        return {"ok": self.ok, "database": self.database, "applied": self.applied, "kept": self.kept,
                "restored_from": self.restored_from, "strict": self.strict,
                "versions": [c.to_dict() for c in self.checks]}

    def to_markdown(self) -> str:
        """The round trip as Markdown for a pull request: a line per version, then each
        version's differences grouped by kind (column order, printing, the rest)."""
        from ..rehearsal.roundtrip import markdown  # noqa: PLC0415

        return markdown(self.checks, self.strict)


def test(project: Project, from_backup: str | Path | None = None, roundtrip: bool = False,
         keep: bool = False, strict: bool = False) -> TestResult:
    """Apply every migration to a throwaway database; with *roundtrip*, prove each rollback.

    The throwaway database is made on the project's server. The round trip, for each version:
    apply it, snapshot; roll it back (must equal the snapshot before it) and apply it again (must
    equal the one after), inside a transaction rolled back at the end, or on a copy of the
    database when the version cannot run in one. A column at another position, or a view or
    function printed otherwise, is a note, not a failure (unless *strict*). The database is always dropped
    (unless *keep*), after a failure or Ctrl-C too. The project's own database is not touched.

    Args:
        project: An opened project; its server is where the throwaway database is made.
        from_backup: A backup (``pg_dump`` custom format or plain SQL) to restore first, so
            that the pending migrations are tried on a copy of real data.
        roundtrip: Prove every rollback as above.
        keep: Keep the throwaway database (its name is in the result).
        strict: With *roundtrip*, column-order and printing differences fail too.

    Returns:
        A :class:`TestResult`; ``.ok`` is False when a rollback does not round-trip.

    Raises:
        InputError: *from_backup* does not exist (exit 2).
        MigrationFailed: A migration failed to apply (exit 1).
        PgshiftError: Any other error of ``up`` or of the restore (see :func:`pgshift.api.up`).
    """
    from .. import db  # noqa: PLC0415
    from ..rehearsal.throwaway import scratch_name, throwaway  # noqa: PLC0415

    found = files(project)
    server_url = project.url()
    with db.connect(server_url) as admin:
        configured = admin.info.dbname
    name = scratch_name()
    with throwaway(server_url, project.reporter, keep=keep, name=name) as url:
        scratch = project.at(url, "pgshift test", env=Environment(name="test"), stands_for=configured)
        checks: list[VersionCheck] = []
        if from_backup is not None:
            _restore_backup(Path(from_backup), url, project.reporter)
        if not roundtrip:
            result = _apply(scratch, None, True)
            applied = len(result.run.steps) if result.run else 0
        else:
            applied, checks = _roundtrip(scratch, found, server_url, strict)
        return TestResult(name, applied, tuple(checks), keep, str(from_backup) if from_backup else None, strict)



def _apply(project: Project, target: str | None, parse_all: bool):
    from .up import UpOptions, up  # noqa: PLC0415

    return up(project, UpOptions(target=target, out_of_order=True, lock_wait=5, parse_all=parse_all))


def _roll_back(project: Project, version: str) -> None:
    from .rollback import RollbackOptions, rollback  # noqa: PLC0415

    rollback(project, version, RollbackOptions(yes=True, lock_wait=5))


def _roundtrip(scratch: Project, found: list, server_url: str, strict: bool = False) -> tuple[int, list[VersionCheck]]:
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..rehearsal import roundtrip  # noqa: PLC0415
    from .status import status  # noqa: PLC0415

    with scratch.connected() as conn:  # the ledger exists before the first snapshot, so it is no difference
        ledger_mod.ensure(conn, scratch.ledger, scratch.reporter)
    pending_versions = {s.version for s in status(scratch).states if s.state not in (APPLIED, CHANGED) and s.file}
    pending = [m for m in found if m.version in pending_versions]
    return roundtrip.prove(scratch, pending, server_url, lambda p, v, first: _apply(p, v, first), _roll_back,
                           strict=strict)


# pytest: `from pgshift.api import test` in a test module is not a test
test.__test__ = False  # type: ignore[attr-defined]


def _restore_backup(path: Path, url: str, reporter) -> None:
    """A pg_dump (custom format or plain SQL) into the throwaway database."""
    from ..safety.backup import restore_file  # noqa: PLC0415

    if not path.is_file():
        raise InputError(f"backup file {path} does not exist")
    restore_file(path, url, reporter=reporter)
