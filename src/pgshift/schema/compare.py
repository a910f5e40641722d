"""Two databases side by side (two environments, or two URLs): the versions applied on one and
not the other, and the objects that differ (catalog snapshots, ``rehearsal.diff``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import ledger as ledger_mod
from ..planning import version_states
from ..rehearsal.diff import Difference, diff
from ..runs import LedgerEvent
from .fingerprint import fingerprint_of, snapshot


def applied_versions(events: list[LedgerEvent]) -> list[str]:
    """The versions the ledger *events* hold as applied (changed or not), in order."""
    return [s.version for s in version_states([], events) if s.state == "missing"]   # no files: applied = missing


@dataclass(frozen=True)
class Side:
    """One database of a comparison."""
    label: str
    versions: tuple[str, ...]
    sha256: str


def compare(a: tuple[str, Any], b: tuple[str, Any], ledger: ledger_mod.Ledger
            ) -> tuple[Side, Side, list[Difference]]:
    """(label, connection) twice -> each side's applied versions and fingerprint, and the
    differences from *a*'s schema to *b*'s (``missing``: on *a* only; ``extra``: on *b* only)."""
    sides, snaps = [], []
    for label, conn in (a, b):
        snap = snapshot(conn, ledger)
        snaps.append(snap)
        sides.append(Side(label, tuple(applied_versions(ledger_mod.read(conn, ledger))), fingerprint_of(snap)))
    return sides[0], sides[1], diff(snaps[0], snaps[1])
