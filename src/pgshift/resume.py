"""Pure: what an interrupted stepwise file had done, and where its rerun resumes.

A stepwise file (no-transaction, own BEGIN/COMMIT, batched) records with its progress a
fingerprint of the statements already done, in the ledger event's details
(``details.fingerprint``): a rerun of the file after an edit can then tell whether the
statements that ran are still the ones in the file (it resumes) or not (it is refused),
without the old text. No database, no IO: ``ledger`` stores what this module computes.
"""
from __future__ import annotations

import hashlib

FINGERPRINT = "fingerprint"
_SHORT = 8   # hex digits per statement in ``each``: enough to name the first that changed
# ``each`` covers at most this many statements: the details are written again after every
# statement, so an unbounded ``each`` would make a long file's progress cost grow with its square
_EACH_MAX = 2_000


def statement_digest(sql: str) -> str:
    """SHA-256 of a statement's SQL with its whitespace normalised (a reindent is no change)."""
    return hashlib.sha256(" ".join(sql.split()).encode()).hexdigest()


def statement_digests(statements) -> tuple[str, ...]:
    return tuple(statement_digest(s.sql) for s in statements)


def progress_fingerprint(digests, done: int) -> dict:
    """The fingerprint of the first *done* statements, given every statement's digest:
    ``sha256`` over all of them (what decides) and ``each`` (short digests, one per statement,
    concatenated: what names the first one that changed)."""
    done_digests = list(digests[:done])
    return {"statements": done,
            "sha256": hashlib.sha256("".join(done_digests).encode()).hexdigest(),
            "each": "".join(d[:_SHORT] for d in done_digests[:_EACH_MAX])}


def first_changed(recorded: dict | None, statements, done: int) -> int | None:
    """The 0-based index of the first of the *done* statements that differs from what ran, per the
    *recorded* fingerprint; None when they are all the same. No fingerprint (an event written
    before pgshift recorded them) cannot be checked: it counts as a change of the first (0)."""
    digests = statement_digests(statements[:done])
    if not isinstance(recorded, dict) or recorded.get("statements") != done or not recorded.get("sha256"):
        return 0
    if len(digests) >= done and progress_fingerprint(digests, done)["sha256"] == recorded["sha256"]:
        return None
    each = str(recorded.get("each") or "")
    covered = min(done, len(each) // _SHORT)
    for index in range(covered):
        if index >= len(digests) or digests[index][:_SHORT] != each[index * _SHORT:(index + 1) * _SHORT]:
            return index
    return covered if covered < done else 0  # beyond what ``each`` covers: the first statement it does not
