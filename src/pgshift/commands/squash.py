"""``squash``: one baseline migration in place of the history up to a version, proven first."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Environment
from ..errors import InputError, OperationError
from ..events import INFO, emit
from ..project import Project
from ._common import files


@dataclass(frozen=True)
class SquashResult:
    """What ``squash`` did.

    Attributes:
        baseline: The baseline file written (relative to the project), or that would be (dry run).
        version: Its version: the newest version it replaces.
        replaced: The versions it replaces, oldest first.
        archived_to: The folder the replaced files (and their rollbacks) were moved to; None for
            a dry run.
        objects: How many schema objects the two snapshots hold (equal: the proof).
        dry_run: Nothing was written or moved.
    """
    baseline: str
    version: str
    replaced: tuple[str, ...]
    archived_to: str | None
    objects: int
    dry_run: bool = False

    def to_dict(self) -> dict:
        """``--json``: every field, the versions as a list."""
        return dict(self.__dict__, replaced=list(self.replaced))


def squash(project: Project, to: str, *, archive: str | Path | None = None, dry_run: bool = False) -> SquashResult:
    """Write one baseline migration whose schema equals the history's up to version *to*.

    On two throwaway databases of the project's server: the history up to *to* applied to one
    and dumped (the schema and the rows the migrations wrote, without owners or the ledger); the
    dump applied to the other; their catalog snapshots must be equal, else nothing is written.
    Then ``<migrations>/<to>_squashed_baseline.sql`` is written (headed ``-- Replaces:``) and the
    replaced files and their rollbacks move to *archive*. A database that applied the history
    keeps working (planning knows the baseline replaces it); a new one applies the baseline.

    Args:
        project: An opened project; its server is where the throwaway databases are made.
        to: The newest version to replace; it must be a migration's version.
        archive: Where the replaced files go (default: ``squashed/<to>/`` in the project).
        dry_run: Prove the baseline, and write and move nothing.

    Returns:
        A :class:`SquashResult`.

    Raises:
        InputError: *to* is no migration's version, or the archive folder exists (exit 2).
        MigrationFailed: A version of the history failed to apply (exit 1).
        OperationError: The baseline does not give the history's schema (each difference named),
            or pg_dump failed (exit 1).
    """
    from .. import db  # noqa: PLC0415
    from .. import ledger as ledger_mod  # noqa: PLC0415
    from ..rehearsal import diff as diff_mod  # noqa: PLC0415
    from ..rehearsal import snapshot  # noqa: PLC0415
    from ..rehearsal.throwaway import scratch_name, throwaway  # noqa: PLC0415
    from ..schema import squash as squash_mod  # noqa: PLC0415
    from .up import UpOptions, up  # noqa: PLC0415

    found = files(project)
    replaced = [m for m in found if m.version <= to]
    if not any(m.version == to for m in found):
        raise InputError(f"squash --to {to}: no migration has that version", hint="`pgshift status` lists the versions")
    folder = project.config.migrations_dir
    target = Path(archive) if archive is not None else project.config.root / "squashed" / to
    if not dry_run and target.exists():
        raise InputError(f"the archive folder {target} already exists", hint="choose another with --archive")
    name = f"{to}_{squash_mod.FILE_NAME}.sql"
    server_url = project.url()
    with db.connect(server_url) as admin:
        configured = admin.info.dbname
    ledger, schema = project.config.ledger, project.ledger.schema
    own = squash_mod.own_tables(ledger, schema)
    env = Environment(name="squash")
    with throwaway(server_url, project.reporter, name=scratch_name("pgshift_squash")) as url:
        history = project.at(url, "pgshift squash", env=env, stands_for=configured)
        up(history, UpOptions(target=to, out_of_order=True, lock_wait=5, parse_all=False))
        with history.connected() as conn:
            expected = snapshot.take(conn, exclude=own)
        text = squash_mod.baseline_text(squash_mod.dump(url, ledger, schema), replaced, schema, db.tool_version())
    with throwaway(server_url, project.reporter, name=scratch_name("pgshift_squash")) as url:
        fresh = project.at(url, "pgshift squash", env=env, stands_for=configured)
        with fresh.connected() as conn:
            ledger_mod.ensure(conn, fresh.ledger, project.reporter)
            try:
                with conn.transaction():
                    conn.execute(text)
            except Exception as exc:  # noqa: BLE001 - any failure of the dump's text is the proof failing
                raise OperationError(f"squash: the baseline does not apply to an empty database: {exc}",
                                     hint="nothing was written") from None
            got = snapshot.take(conn, exclude=own)
    differences = diff_mod.diff(expected, got)
    if differences:
        lines = "\n".join("  " + d.describe("after the history", "after the baseline") for d in differences[:20])
        raise OperationError(f"squash: the baseline does not give the history's schema "
                             f"({len(differences)} difference(s)):\n{lines}", hint="nothing was written")
    emit(project.reporter, INFO, f"the baseline gives the schema of versions {replaced[0].version}..{to} "
                                 f"({len(expected.objects)} objects, snapshots equal)")
    rel = f"{project.config.migrations}/{name}"
    if dry_run:
        return SquashResult(rel, to, tuple(m.version for m in replaced), None, len(expected.objects), True)
    target.mkdir(parents=True)
    (target / "rollbacks").mkdir()
    for m in replaced:
        m.path.rename(target / m.path.name)
        if m.rollback is not None:
            m.rollback.path.rename(target / "rollbacks" / m.rollback.path.name)
    (folder / name).write_text(text, encoding="utf-8")
    try:
        shown = str(target.relative_to(project.config.root))
    except ValueError:
        shown = str(target)
    emit(project.reporter, INFO, f"wrote {rel}; moved the {len(replaced)} file(s) it replaces to {shown}/")
    return SquashResult(rel, to, tuple(m.version for m in replaced), shown, len(expected.objects))
