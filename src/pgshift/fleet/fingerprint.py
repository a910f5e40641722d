"""The fast no-op check: one query per target compares its applied ledger with the files.

The fingerprint of a set of applied versions is the md5 of its ``version:checksum`` lines in
version order. The files' fingerprint is computed once; a target's is computed by its server in
one query over its ledger (``ledger.applied_fingerprint``: each version's latest event, applied
when that is a completed migrate or baseline). Equal fingerprints: every file is applied with
its recorded checksum and nothing else is, so ``up`` would plan nothing, and planning is
skipped. Any difference (pending, failed, changed, missing, no ledger yet) falls through to a
plain ``up``, which decides: the check can only skip work that is certainly not there.
"""
from __future__ import annotations

import hashlib

from ..ledger import Ledger, applied_fingerprint
from ..model import MigrationFile


def of_files(found: list[MigrationFile]) -> str:
    """The fingerprint of *found* all applied."""
    text = "\n".join(f"{m.version}:{m.checksum}" for m in sorted(found, key=lambda m: m.version))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def of_target(conn, ledger: Ledger) -> tuple[str | None, str | None]:
    """(fingerprint, newest applied version) of a target; (None, None) without a ledger."""
    return applied_fingerprint(conn, ledger)
