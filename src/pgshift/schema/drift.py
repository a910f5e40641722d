"""Drift: the live schema against what the ledger says it should be, without a shadow database.

Each applied or rolled back version's newest event records the fingerprint of the schema it left
(``details.schema_sha256``, see ``fingerprint.record``). The expectation is the newest of them.
The live schema's fingerprint either equals it (no drift) or not; walking back the fingerprints
then tells the last version after which the schema still matched (the expectation's: the
ledger recorded it from this very database), and whether the live schema is exactly what it was
after an earlier version (the versions since undone by hand, or a restore). With stored snapshots
(``store_snapshots = true``) the expected snapshot is read back and each object that differs is
named, with how.

A run that finds drift when it starts (``up``) records it in its first event
(``details.drift_before``): the next fingerprint includes the change, so the history keeps
where it came in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import ledger as ledger_mod
from ..rehearsal.diff import Difference, diff
from ..rehearsal.snapshot import Snapshot
from ..runs import LedgerEvent
from .fingerprint import fingerprint_of, other_projects, snapshot

CLEAN, DRIFTED, UNKNOWN = "clean", "drifted", "unknown"
_CHANGES_SCHEMA = ("migrate", "baseline", "rollback")   # events after which the schema is the version's


@dataclass(frozen=True)
class Fingerprinted:
    """A ledger event that recorded the schema it left."""
    event_id: int
    version: str
    migration_type: str
    status: str
    at: Any
    sha256: str
    drift_before: dict | None = None


@dataclass(frozen=True)
class DriftReport:
    """What ``drift`` found (see :func:`check`)."""
    status: str
    live_sha256: str
    expected: Fingerprinted | None
    matches_earlier: Fingerprinted | None = None
    differences: tuple[Difference, ...] = ()
    objects_named: bool = False
    history: tuple[Fingerprinted, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def drifted(self) -> bool:
        return self.status == DRIFTED


def fingerprinted(events: list[LedgerEvent]) -> list[Fingerprinted]:
    """The events that recorded a schema fingerprint, oldest first."""
    out = []
    for e in events:
        details = e.details if isinstance(e.details, dict) else {}
        sha = details.get("schema_sha256")
        if isinstance(sha, str) and e.status in ("completed", "rolled_back"):
            before = details.get("drift_before")
            out.append(Fingerprinted(e.id, e.version, e.migration_type or "migrate", e.status,
                                     e.completed_at or e.started_at, sha,
                                     before if isinstance(before, dict) else None))
    return out


def check(conn: Any, ledger: ledger_mod.Ledger, *, live: Snapshot | None = None) -> DriftReport:
    """Compare the schema of *conn*'s database with the expectation the ledger recorded."""
    events = ledger_mod.read(conn, ledger)
    history = fingerprinted(events)
    live = live if live is not None else snapshot(conn, ledger)
    live_sha = fingerprint_of(live)
    if not history:
        note = ("the ledger has no applied version yet" if not events else
                "no version recorded a schema fingerprint (they were applied by a pgshift without it); "
                "the next `up` records one")
        return DriftReport(UNKNOWN, live_sha, None, notes=(note,))
    expected = history[-1]
    others = other_projects(conn, ledger)
    if others:
        return DriftReport(UNKNOWN, live_sha, expected, history=tuple(history), notes=(
            f"other projects' ledgers share this database (schema {', '.join(others)}): its schema is not "
            "this project's alone, so pgshift neither records nor compares fingerprints here",))
    newest = next((e for e in reversed(events) if e.status in ("completed", "rolled_back")
                   and (e.migration_type or "migrate") in _CHANGES_SCHEMA), None)
    if newest is not None and newest.id > expected.event_id:
        return DriftReport(UNKNOWN, live_sha, expected, history=tuple(history), notes=(
            f"{newest.version} ({newest.migration_type or 'migrate'}, after the last fingerprint, {expected.version}) "
            "recorded no schema fingerprint (a baseline, an older pgshift, or a crash right after it): "
            "what the schema should be is not known",))
    notes = _absorbed(conn, ledger, history)
    if live_sha == expected.sha256:
        return DriftReport(CLEAN, live_sha, expected, history=tuple(history), notes=tuple(notes))
    earlier = next((f for f in reversed(history[:-1]) if f.sha256 == live_sha), None)
    stored = ledger_mod.stored_snapshots(conn, ledger, [expected.sha256])
    differences: tuple[Difference, ...] = ()
    named = expected.sha256 in stored
    if named:
        differences = tuple(diff(Snapshot.from_json(stored[expected.sha256]), live))
    else:
        notes.append("no stored snapshot of the expected schema: the objects that differ cannot be named "
                     "(store_snapshots = true in pgshift.toml keeps them)")
    return DriftReport(DRIFTED, live_sha, expected, earlier, differences, named, tuple(history), tuple(notes))


def _absorbed(conn: Any, ledger: ledger_mod.Ledger, history: list[Fingerprinted]) -> list[str]:
    """A note for each version applied over a schema changed outside migrations (its event's
    ``drift_before``): after which version, and, when both snapshots were stored, what changed."""
    before = [f for f in history if f.drift_before]
    if not before:
        return []
    shas = [str(f.drift_before.get(k)) for f in before if f.drift_before for k in ("expected", "found")]
    stored = ledger_mod.stored_snapshots(conn, ledger, shas)
    notes = []
    for f in before:
        info = f.drift_before or {}
        after = info.get("after_version", "the version before it")
        first = info.get("first_version", f.version)
        note = f"{first} was applied over a schema changed outside migrations after {after}"
        expected, found = stored.get(str(info.get("expected"))), stored.get(str(info.get("found")))
        if expected is not None and found is not None:
            changes = diff(Snapshot.from_json(expected), Snapshot.from_json(found))
            note += ": " + "; ".join(d.describe(f"after {after}", f"before {first}").splitlines()[0].rstrip(":")
                                     for d in changes)
        notes.append(note)
    return notes


def describe(d: Difference, version: str) -> str:
    """One difference in words: the expectation after *version* against the database."""
    return d.describe(f"after {version}", "in the database")
