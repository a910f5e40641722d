"""The lint cache: what ``pgshift lint`` found in a file, kept until the file changes.

A migration history only grows: once written (and applied) a file is never edited, and a
pre-commit hook or a CI job lints hundreds of files to check the one that is new. So
``pgshift lint`` keeps each file's result, as ruff and ESLint do, in ``.pgshift_cache/`` at
the project's root (``PGSHIFT_CACHE_DIR`` elsewhere; ``--no-cache`` neither reads nor writes
it). A file's result is used again only when all of these are as they were:

* the file: its path as findings name it, whether it has a rollback file, and its text. The
  text is known unchanged without reading it when the file's size, modification time (in
  nanoseconds) and inode are as they were; else (a new checkout, a file written less than
  :data:`RACY_SECONDS` before the cache was, which a later write in the same tick of a
  coarse clock would leave with the same time) it is read and compared by its BLAKE2 digest;
* how it was linted: the target version, disabled rules, severities, ledger, environment and
  its lock_timeout (each combination has a cache file of its own);
* the linter: pgshift's version, the Python that wrote the cache, and the size and time of
  every module of the lint and its parser (an edited rule, in a checkout, empties the cache).

A result is the file's findings and unused ignores as the JSON contract writes them, its
statement count and whether it has errors. The cache is one ``marshal`` file per
combination, read once and replaced whole (written to a temporary file, then renamed), so
two lints at once cannot leave half of one; a cache that cannot be read or written (a
read-only checkout, a damaged file) is a cache with nothing in it, never an error.
Standard library only, and no pglast: a lint whose files all come from here never loads
the parser.
"""
from __future__ import annotations

import json
import json.encoder
import marshal
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pgshift._version import __version__
from pgshift.model import Finding, Location

if TYPE_CHECKING:
    from .results import LintOptions, LintReport

FOLDER = ".pgshift_cache"
ENV_FOLDER = "PGSHIFT_CACHE_DIR"
RACY_SECONDS = 2.0
KEEP = 8   # cache files (lint configurations) kept; the least recently written go first
_FORMAT = 1

#: one file's result: (statements, has_errors, its findings as JSON objects joined by commas,
#: how many findings, its unused ignores likewise, findings and unused ignores per severity
#: in the order of ``registry.SEVERITIES``)
Entry = tuple[int, bool, str, int, str, tuple[int, ...]]


def encode_findings(findings) -> str:
    """Findings as the comma-separated JSON objects of the lint document (no brackets): the text
    of ``json.dumps([f.to_dict() ...], separators=(",", ":"), ensure_ascii=False)[1:-1]``,
    written three times faster (``tests/unit/lint/test_lint_cache.py`` holds the two equal)."""
    text, known = _string, _ENCODED
    out = []
    for f in findings:
        # a rule's id, its severity and (mostly) its hint are the same in finding after finding
        head = known.get((f.rule, f.severity))
        if head is None:
            head = known[(f.rule, f.severity)] = f'{{"rule":{text(f.rule)},"severity":{text(f.severity)},"file":'
        hint = f.hint
        if hint is None:
            hint = "null"
        elif hint in known:
            hint = known[hint]
        elif len(known) < 4096:
            known[hint] = encoded = text(hint)
            hint = encoded
        else:
            hint = text(hint)
        at = f.location
        out.append(f'{head}{text(at.file)},"line":{int(at.line)},"col":{int(at.col)},'
                   f'"message":{text(f.message)},"hint":{hint}}}')
    return ",".join(out)


_string = json.encoder.encode_basestring    # a str as a JSON string, non-ASCII kept (C when there is C)
_ENCODED: dict = {}                         # what encode_findings wrote already: (rule, severity) and hints


def _blake2b(data: bytes, digest_size: int):
    """hashlib.blake2b, from CPython's own module when it has it: ``import hashlib`` loads
    OpenSSL's bindings too, 2.5 ms of a lint that needs neither."""
    try:
        from _blake2 import blake2b  # noqa: PLC0415
    except ImportError:     # another Python
        from hashlib import blake2b  # noqa: PLC0415
    return blake2b(data, digest_size=digest_size)


def entry_of(report: LintReport) -> Entry:
    """One file's report as the cache keeps it."""
    from .registry import SEVERITIES  # noqa: PLC0415

    counts = report.counts()
    return (report.statements, report.has_errors, encode_findings(report.findings) if report.findings else "",
            len(report.findings), encode_findings(report.unused_ignores) if report.unused_ignores else "",
            tuple(counts.get(s, 0) for s in SEVERITIES))


def findings_of(encoded: str) -> list[Finding]:
    """The findings :func:`encode_findings` wrote."""
    if not encoded:
        return []
    return [Finding(d["rule"], d["severity"], Location(d["file"], d["line"], d["col"]), d["message"], d["hint"])
            for d in json.loads(f"[{encoded}]")]


def report_of(entry: Entry, target_version: int) -> LintReport:
    """One file's report again, from its entry."""
    from .results import LintReport  # noqa: PLC0415

    statements, has_errors, findings, _, unused, _ = entry
    return LintReport(findings_of(findings), findings_of(unused), has_errors, files=1, statements=statements,
                      target_version=target_version)


def _linter_stamp() -> str:
    """pgshift's version, the Python's, and every lint and parser module's size and time."""
    here = Path(__file__).resolve().parent
    package = here.parent
    parts = [__version__, sys.version, str(_FORMAT)]
    for folder in (here, here / "rules", package / "sql"):
        try:
            with os.scandir(folder) as entries:
                for e in sorted(entries, key=lambda e: e.name):
                    if e.name.endswith(".py"):
                        st = e.stat()
                        parts.append(f"{folder.name}/{e.name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{folder}: unreadable")
    for name in ("model.py", "config.py", "discovery.py"):
        try:
            st = (package / name).stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}: unreadable")
    return "\n".join(parts)


def folder_for(root: Path) -> Path:
    """Where the cache of the project at *root* lives."""
    given = os.environ.get(ENV_FOLDER, "").strip()
    return Path(given) if given else root / FOLDER


class LintCache:
    """The results of one lint configuration (see the module's docstring)."""

    def __init__(self, folder: Path, options: LintOptions) -> None:
        self.folder = folder
        key = "\n".join((_linter_stamp(), repr((options.target_version, tuple(options.disable),
                                                 sorted((options.severity or {}).items()), options.ledger,
                                                 options.environment, options.lock_timeout))))
        self.path = folder / f"lint-{_blake2b(key.encode(), digest_size=10).hexdigest()}.marshal"
        self._key = key
        self._files: dict[str, tuple] = {}
        self._changed = False
        try:
            data = marshal.loads(self.path.read_bytes())
            if isinstance(data, tuple) and len(data) == 2 and data[0] == key and isinstance(data[1], dict):
                self._files = data[1]
        except (OSError, EOFError, ValueError, TypeError):
            pass    # no cache yet, or one that cannot be read: linted again, and written anew

    def lookup(self, relpath: str, path: str, has_rollback: bool | None,
               is_rollback: bool) -> tuple[Entry | None, tuple]:
        """The file's result when the file is as it was (else None), and what :meth:`put` keeps
        with a new result: taken now, before the file is linted, so that a file edited while
        it is linted is linted again next time rather than kept with the old text's stamp."""
        rollback = (has_rollback, is_rollback)
        try:
            st = os.stat(path)
        except OSError:
            return None, (None, None, rollback)
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        kept = self._files.get(relpath)
        if kept is not None and kept[2] == rollback and kept[0] == stamp:
            return kept[3], (stamp, kept[1], rollback)
        try:
            with open(path, "rb") as f:
                digest = _blake2b(f.read(), digest_size=16).digest()
        except OSError:
            return None, (None, None, rollback)
        if kept is not None and kept[2] == rollback and kept[1] == digest:   # a new checkout of the same text
            self._files[relpath] = (self._trusted(stamp), digest, rollback, kept[3])
            self._changed = True
            return kept[3], (stamp, digest, rollback)
        return None, (stamp, digest, rollback)

    def put(self, relpath: str, probe: tuple, entry: Entry) -> None:
        """Keep a file's result with what :meth:`lookup` saw of it."""
        stamp, digest, rollback = probe
        if digest is None:
            return
        self._files[relpath] = (self._trusted(stamp), digest, rollback, entry)
        self._changed = True

    @staticmethod
    def _trusted(stamp: tuple | None) -> tuple | None:
        """*stamp*, unless its file changed too recently for a later edit to change its time."""
        if stamp is None or stamp[1] > time.time_ns() - int(RACY_SECONDS * 1e9):
            return None
        return stamp

    def save(self) -> None:
        """Write the cache, whole, when it changed; nothing when it cannot be written."""
        if not self._changed:
            return
        try:
            self._make_folder()
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps((self._key, self._files)))
            os.replace(tmp, self.path)
            self._prune()
        except OSError:
            pass    # a read-only checkout: no cache, the lint is the same
        self._changed = False

    def _make_folder(self) -> None:
        if self.folder.is_dir():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ".gitignore").write_text("# written by pgshift lint: nothing here belongs in git\n*\n")
        (self.folder / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# the lint cache of pgshift (see pgshift lint --help)\n")

    def _prune(self) -> None:
        caches = sorted(self.folder.glob("lint-*.marshal"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in caches[KEEP:]:
            old.unlink(missing_ok=True)
        for stale in self.folder.glob("lint-*.tmp"):
            if stale.stat().st_mtime < time.time() - 3600:
                stale.unlink(missing_ok=True)
