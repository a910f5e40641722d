"""The round trip: each version's rollback proven, and each difference it leaves said in kind.

For each pending version: apply it to the scratch database (as ``up`` does), snapshot; then
roll it back (the schema must equal the snapshot before it) and apply it again (the schema must
equal the snapshot after it). A rollback that leaves something behind can never spoil the proof
of the versions after it:

- a version whose file and rollback both run in one transaction (most of them) is proven inside
  a transaction on the scratch database itself, rolled back at the end: the rollback's and the
  migration's statements, a snapshot after each;
- a version that cannot (a concurrent index, its own BEGIN/COMMIT, batches, a psql
  meta-command), or whose proof in a transaction does not pass, is proven on a copy of the
  scratch database (CREATE DATABASE ... TEMPLATE) by the real rollback and apply, as before
  issue 14: a failure is always the copy's verdict.

The snapshot after one version is the one before the next (the scratch database changes only
by the applies). Each difference is classified (:func:`pgshift.rehearsal.diff.classify`): a
column at another position only, or a view's or function's text that differs only in how it is
printed, is a note, not a failure, unless ``strict``; anything else fails.

How a version is applied or rolled back is the caller's (the ``test`` command passes its ``up``
and ``rollback``), so this room needs no verb.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..errors import PgshiftError
from ..events import INFO, WARNING, emit
from ..model import TX_FILE, MigrationFile, ParsedFile
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
        differences: What differs and fails the version, each a sentence (``column
            public.users.email exists after its rollback but not before the migration``).
        error: Why the rollback, or applying the version again after it, failed.
        notes: What differs without failing it (a column at another position; a view or
            function printed otherwise); empty with ``strict``, where these fail too.
        by_kind: Every difference by kind: ``column_order``, ``printing``, ``other``.
        method: How it was proven: ``transaction`` (in a transaction on the scratch database,
            rolled back), ``copy`` (on a copy of it), ``none`` (no rollback file).
        seconds: How long the version took: its apply, its snapshot and its proof.
    """
    version: str
    name: str
    status: str                      # passed, failed, no-rollback, error
    differences: tuple[str, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = ()
    by_kind: dict[str, tuple[str, ...]] = field(default_factory=dict)
    method: str = "copy"             # transaction, copy, none (no rollback)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """``--json``: every field, the lists as lists, each kind present (empty when none)."""
        return dict(self.__dict__, differences=list(self.differences), notes=list(self.notes),
                    by_kind={k: list(self.by_kind.get(k, ())) for k in diff_mod.KINDS},
                    seconds=round(self.seconds, 4))


#: "auto": in a transaction where a version can run in one, else on a copy; "copy": every version
#: on its own copy (the method before issue 14, kept for bench/roundtrip.py's "before")
METHOD = "auto"


def prove(scratch: Project, pending: list[MigrationFile], server_url: str, apply: Apply,
          roll_back: RollBack, *, strict: bool = False, method: str | None = None
          ) -> tuple[int, list[VersionCheck]]:
    """Apply each of *pending* to *scratch* and prove its rollback; (applied, checks)."""
    method = method or METHOD
    if method == "copy":
        return _prove_by_copies(scratch, pending, server_url, apply, roll_back, strict)
    probe = _Probe(scratch)
    checks: list[VersionCheck] = []
    try:
        before = probe.snap()
        for number, m in enumerate(pending):
            started = time.perf_counter()
            # the first apply reads every pending file (a syntax error anywhere stops it before
            # anything runs); the ones after it need not read them all again
            apply(scratch, m.version, number == 0)
            if m.rollback is None:
                before = probe.snap()
                checks.append(VersionCheck(m.version, m.name, "no-rollback", method="none",
                                           seconds=time.perf_counter() - started))
                emit(scratch.reporter, WARNING, f"{m.version} {m.name}: no rollback file to prove", level="warning")
                continue
            after = probe.snap()
            files = _in_one_transaction(m)
            check = probe.prove_in_transaction(m, files, before, after, strict) if files else None
            if check is None or check.status != "passed":
                probe.close()    # CREATE DATABASE ... TEMPLATE needs the template to itself
                with copy_of(server_url, probe.database) as probe_url:
                    check = _prove_rollback(scratch.at(probe_url, "pgshift test"), m, before, after,
                                            probe.snap_of, apply, roll_back, strict)
            checks.append(replace(check, seconds=time.perf_counter() - started))
            _announce(scratch, checks[-1])
            before = after
    finally:
        probe.close()
    return len(pending), checks


def _announce(scratch: Project, check: VersionCheck) -> None:
    ok = check.status == "passed"
    what = ("restores the schema" if ok and not check.notes else
            f"restores the schema, with {len(check.notes)} note(s)" if ok else
            f"leaves {len(check.differences)} difference(s)" + (f"; {check.error}" if check.error else ""))
    emit(scratch.reporter, INFO if ok else WARNING, f"{check.version} {check.name}: rollback {what}",
         level="info" if ok else "warning")


def _in_one_transaction(m: MigrationFile) -> tuple[ParsedFile, ParsedFile] | None:
    """The migration and its rollback, parsed, when both run in one transaction as written (no
    meta-command, a statement at least) and neither sets a setting (in one transaction the
    rollback's SET would still hold for the migration's statements); None sends the version to
    a copy."""
    from ..discovery import text_of  # noqa: PLC0415
    from ..sql import parse_file  # noqa: PLC0415

    if m.rollback is None:
        return None
    try:
        files = (parse_file(m.relpath, text_of(m)), parse_file(m.rollback.relpath, text_of(m.rollback)))
    except PgshiftError:
        return None      # the copy's real rollback and apply say what is wrong, as they always did
    if any(f.mode != TX_FILE or f.meta_commands or not f.statements
           or any(st.kind == "VariableSetStmt" for st in f.statements) for f in files):
        return None
    return files


class _Probe:
    """One connection to the scratch database: its snapshots, and the proofs in a transaction."""

    def __init__(self, scratch: Project) -> None:
        self.scratch = scratch
        self.exclude = (scratch.config.ledger,)
        self._conn: Any = None
        self.database = self.conn().info.dbname

    def conn(self) -> Any:
        if self._conn is None or self._conn.closed:
            from .. import db  # noqa: PLC0415

            self._conn = db.connect(self.scratch.url(), application_name="pgshift test")
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def snap(self) -> snapshot.Snapshot:
        return snapshot.take(self.conn(), exclude=self.exclude)

    def snap_of(self, target: Project) -> snapshot.Snapshot:
        with target.connected() as conn:
            return snapshot.take(conn, exclude=self.exclude)

    def prove_in_transaction(self, m: MigrationFile, files: tuple[ParsedFile, ParsedFile], before, after,
                             strict: bool) -> VersionCheck | None:
        """Roll back, snapshot, apply again, snapshot: all in one transaction, rolled back.
        None when a statement fails (the copy then says how)."""
        import psycopg  # noqa: PLC0415

        migration, rollback = files
        conn = self.conn()
        found: list[tuple[diff_mod.Difference, snapshot.Snapshot, tuple[str, str]]] = []
        try:
            with conn.transaction(force_rollback=True):
                for st in rollback.statements:
                    conn.execute(st.sql)
                back = snapshot.take(conn, exclude=self.exclude)
                found += [(d, before, _BACK) for d in diff_mod.diff(before, back)]
                for st in migration.statements:
                    conn.execute(st.sql)
                found += [(d, after, _AGAIN) for d in diff_mod.diff(after, snapshot.take(conn, exclude=self.exclude))]
        except psycopg.Error:
            if conn.broken:
                self.close()
            return None
        return _verdict(m, found, None, strict, "transaction")


_BACK = ("before the migration", "after its rollback")
_AGAIN = ("after the first apply", "after applying it again")


def _verdict(m: MigrationFile, found: list, error: str | None, strict: bool, method: str) -> VersionCheck:
    """A version's check from the differences found (each with the snapshot it departs from and
    its two labels): notes and failures by kind."""
    by_kind: dict[str, list[str]] = {k: [] for k in diff_mod.KINDS}
    for d, base, labels in found:
        by_kind[diff_mod.classify(d, base)].append(d.describe(*labels))
    mild = by_kind[diff_mod.COLUMN_ORDER] + by_kind[diff_mod.PRINTING]
    failing = by_kind[diff_mod.OTHER] + (mild if strict else [])
    return VersionCheck(m.version, m.name, "passed" if not failing and error is None else "failed",
                        tuple(failing), error, () if strict else tuple(mild),
                        {k: tuple(v) for k, v in by_kind.items()}, method)


def _prove_by_copies(scratch: Project, pending: list[MigrationFile], server_url: str, apply: Apply,
                     roll_back: RollBack, strict: bool) -> tuple[int, list[VersionCheck]]:
    """The method before issue 14: every version proven on its own copy, snapshots taken anew."""
    exclude = (scratch.config.ledger,)

    def snap(target: Project):
        with target.connected() as conn:
            return snapshot.take(conn, exclude=exclude)

    with scratch.connected() as conn:
        scratch_db = conn.info.dbname
    checks: list[VersionCheck] = []
    for number, m in enumerate(pending):
        started = time.perf_counter()
        before = snap(scratch)
        apply(scratch, m.version, number == 0)
        if m.rollback is None:
            checks.append(VersionCheck(m.version, m.name, "no-rollback", method="none"))
            emit(scratch.reporter, WARNING, f"{m.version} {m.name}: no rollback file to prove", level="warning")
            continue
        after = snap(scratch)
        with copy_of(server_url, scratch_db) as probe_url:
            check = _prove_rollback(scratch.at(probe_url, "pgshift test"), m, before, after, snap,
                                    apply, roll_back, strict)
        checks.append(replace(check, seconds=time.perf_counter() - started))
        _announce(scratch, checks[-1])
    return len(pending), checks


def _prove_rollback(probe: Project, m: MigrationFile, before, after, snap, apply: Apply,
                    roll_back: RollBack, strict: bool) -> VersionCheck:
    try:
        roll_back(probe, m.version)
    except PgshiftError as exc:
        return VersionCheck(m.version, m.name, "failed", error=f"the rollback failed: {exc}")
    found: list = [(d, before, _BACK) for d in diff_mod.diff(before, snap(probe))]
    try:
        apply(probe, m.version, False)
    except PgshiftError as exc:
        return _verdict(m, found, f"applying it again after its rollback failed: {exc}", strict, "copy")
    found += [(d, after, _AGAIN) for d in diff_mod.diff(after, snap(probe))]
    return _verdict(m, found, None, strict, "copy")


def markdown(checks: list[VersionCheck] | tuple[VersionCheck, ...], strict: bool = False) -> str:
    """The round trip as Markdown for a pull request: a line per version, then each version's
    differences grouped by kind."""
    titles = {diff_mod.OTHER: "Differences", diff_mod.COLUMN_ORDER: "Column order only",
              diff_mod.PRINTING: "Printed differently only"}
    failed = [c for c in checks if c.status not in ("passed", "no-rollback")]
    lines = ["## pgshift round trip", "",
             f"{len(checks)} version(s): {len(checks) - len(failed)} pass, {len(failed)} fail"
             + (" (strict: column order and printing fail too)" if strict else ""), "",
             "| version | name | result | proven | notes | differences |", "|---|---|---|---|---|---|"]
    for c in checks:
        mark = {"passed": "passed", "no-rollback": "no rollback"}.get(c.status, "**" + c.status + "**")
        lines.append(f"| {c.version} | {c.name} | {mark} | {c.method} | {len(c.notes)} | {len(c.differences)} |")
    for c in checks:
        if not (c.error or any(c.by_kind.get(k) for k in diff_mod.KINDS)):
            continue
        lines += ["", f"### {c.version} {c.name}: {c.status}"]
        if c.error:
            lines += ["", f"Error: `{c.error.splitlines()[0]}`"]
        for kind in diff_mod.KINDS:
            items = c.by_kind.get(kind) or ()
            if items:
                lines += ["", f"**{titles[kind]}**" + ("" if kind == diff_mod.OTHER or strict else " (notes)"), ""]
                lines += ["- " + item.replace("\n", "\n  ") for item in items]
    return "\n".join(lines) + "\n"
