"""From a folder to migration and rollback files.

Names (PRODUCT.md section 1): ``<14 digits>_<[a-z0-9_]+>.sql`` for migrations,
``rollbacks/<version>_rollback[_<name>].sql`` for rollbacks. Anything in the
folder that looks like a migration but is not named so is an error naming the
file, found before anything runs; every such error is reported at once.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .errors import DiscoveryError
from .model import Location, MigrationFile, RollbackFile

ROLLBACK_DIR = "rollbacks"
VERSION_DIGITS = 14
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
_HEADER_KEYS = {"migration": "migration", "rollback": "migration", "description": "description",
                "author": "author", "date": "date"}


def checksum(data: bytes) -> str:
    """SHA-256 of the bytes with CRLF and CR line endings turned into LF."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


def read_text(path: Path | str, relpath: str, data: bytes | None = None) -> str:
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DiscoveryError(f"{relpath} is not UTF-8 text (byte {exc.start})",
                             location=Location(relpath, 1, 1), hint="save the file as UTF-8") from None
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def headers(text: str) -> dict[str, str]:
    """The guide's header comments (`-- Migration:`, `-- Description:`, ...) at the top of a file."""
    found: dict[str, str] = {}
    for line in text[:4096].split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        key, sep, value = stripped[2:].strip().partition(":")
        key = key.strip().lower()
        if sep and key in _HEADER_KEYS and value.strip() and _HEADER_KEYS[key] not in found:
            found[_HEADER_KEYS[key]] = value.strip()
    return found


def _looks_like_migration(name: str) -> bool:
    if name.startswith("."):
        return False
    return name.lower().endswith(".sql") or name[:1].isdigit()


_WELL_FORMED = re.compile(r"([0-9]{%d})_([a-z0-9_]+)\.sql" % VERSION_DIGITS).fullmatch


def _name_problem(stem_and_ext: str) -> tuple[str | None, str | None, str | None]:
    """(version, name, problem) for a migration file name."""
    filename = stem_and_ext
    good = _WELL_FORMED(filename)
    if good is not None:  # the common case, in one step; the checks below say what is wrong
        return good[1], good[2], None
    if not filename.endswith(".sql"):
        ext = filename[filename.rfind("."):] if "." in filename else "(none)"
        return None, None, f"the extension must be .sql in lower case, not {ext}"
    stem = filename[:-4]
    version, sep, name = stem.partition("_")
    if not version.isdigit() or not version.isascii():
        return None, None, "must start with a 14-digit version (YYYYMMDDHHMMSS) followed by _"
    if len(version) != VERSION_DIGITS:
        return None, None, f"the version has {len(version)} digits; it must have {VERSION_DIGITS} (YYYYMMDDHHMMSS)"
    if not sep or not name:
        return version, None, "needs a name after the version: <version>_<name>.sql"
    bad = sorted({c for c in name if c not in _NAME_CHARS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return version, None, f"the name may hold only lowercase letters, digits and _ (found {shown})"
    return version, name, None


class _Entry:
    """A file found by os.scandir: cheaper than a Path per file on large folders."""
    __slots__ = ("name", "path", "folder", "stat")

    def __init__(self, folder: Path, name: str, path: str):
        self.folder, self.name, self.path, self.stat = folder, name, path, None

    def read_bytes(self) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read()


def _files_in(folder: Path) -> list[_Entry]:
    import os  # noqa: PLC0415

    with os.scandir(folder) as it:
        return [_Entry(folder, e.name, e.path) for e in it if e.is_file()]


class StatCache:
    """Checksums and headers of files that have not changed since they were last read.

    A file is taken from the cache only when its size, mtime (ns) and inode are those
    recorded, and it was recorded more than two seconds after its last change (so a write
    within the clock's granularity is never missed). Only `status` uses it; `up` and
    `verify` read every byte.
    """

    def __init__(self, path: Path):
        import json  # noqa: PLC0415

        self.path = path
        self.dirty = False
        try:
            self.entries = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(self.entries, dict):
                self.entries = {}
        except (OSError, ValueError):
            self.entries = {}

    def lookup(self, entry) -> tuple | None:
        import os  # noqa: PLC0415

        st = os.stat(entry.path)
        entry.stat = (st.st_size, st.st_mtime_ns, st.st_ino)
        hit = self.entries.get(entry.path)
        if hit and tuple(hit[:3]) == entry.stat:
            return tuple(hit[3:])
        return None

    def store(self, entry, digest: str, head: dict) -> None:
        import time  # noqa: PLC0415

        stat = getattr(entry, "stat", None)
        if stat is None or time.time_ns() - stat[1] < 2_000_000_000:
            return
        self.entries[entry.path] = [*stat, digest, head.get("description"), head.get("author"), head.get("date")]
        self.dirty = True

    def save(self) -> None:
        import json  # noqa: PLC0415

        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.entries), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # a read-only project: no cache, just slower


def stray_folders(migrations_dir: Path) -> list[str]:
    """Folders inside the migrations folder (other than rollbacks/) that hold .sql files:
    pgshift reads neither, and a migration put there would silently never run."""
    import os  # noqa: PLC0415

    stray = []
    try:
        with os.scandir(migrations_dir) as it:
            folders = sorted(e.name for e in it if e.is_dir() and e.name != ROLLBACK_DIR and not e.name.startswith("."))
    except OSError:
        return []
    for name in folders:
        if any(Path(migrations_dir, name).rglob("*.sql")):
            stray.append(name)
    return stray


def is_migration_name(filename: str) -> bool:
    """``<14-digit version>_<name>.sql``, as a migration is named."""
    return _name_problem(filename)[2] is None


def rollback_for(path: Path) -> Path | None:
    """The rollback file beside the migration at *path* (``rollbacks/<version>_rollback*.sql``),
    or None; for a file linted on its own, outside a discovery of its folder."""
    path = Path(path)
    version, _name, problem = _name_problem(path.name)
    folder = path.parent / ROLLBACK_DIR
    if problem or not folder.is_dir():
        return None
    for candidate in sorted(folder.glob(f"{version}_rollback*.sql")):
        rb_version, rb_name, rb_problem = _name_problem(candidate.name)
        if not rb_problem and rb_version == version and (rb_name == "rollback" or rb_name.startswith("rollback_")):
            return candidate
    return None


def discover(migrations_dir: Path, project_root: Path | None = None,
             cache: StatCache | None = None, *, read: bool = True) -> list[MigrationFile]:
    """Every migration in version order, each with its rollback. Raises DiscoveryError.

    ``read=False`` checks the names only: checksums are empty and headers unknown (for
    callers that read the files themselves, like lint)."""
    migrations_dir = Path(migrations_dir)
    rb_dir = migrations_dir / ROLLBACK_DIR
    root = Path(project_root) if project_root else migrations_dir.parent

    try:
        prefix = str(migrations_dir.relative_to(root))
    except ValueError:
        prefix = str(migrations_dir)
    prefix = "" if prefix == "." else prefix + "/"

    def rel(entry) -> str:
        return prefix + (entry.name if entry.folder is migrations_dir else f"{ROLLBACK_DIR}/{entry.name}")

    if not migrations_dir.is_dir():
        raise DiscoveryError(f"migrations folder {prefix.rstrip('/') or migrations_dir} does not exist",
                             hint="run `pgshift init`, or set `migrations` in pgshift.toml")
    problems: list[tuple[str, str]] = []
    by_version: dict[str, list[Path]] = {}
    migrations: dict[str, MigrationFile] = {}
    entries = sorted(_files_in(migrations_dir), key=lambda p: p.name)
    for path in entries:
        if not _looks_like_migration(path.name):
            continue
        version, name, problem = _name_problem(path.name)
        if problem:
            problems.append((rel(path), f"bad migration file name {path.name!r}: {problem}"))
            continue
        by_version.setdefault(version, []).append(path)
        relpath = rel(path)
        hit = cache.lookup(path) if cache is not None else None
        if not read:
            digest, description, author, date = "", None, None, None
        elif hit is not None:
            digest, description, author, date = hit
        else:
            data = path.read_bytes()
            head = headers(read_text(path.path, relpath, data))
            digest, description, author, date = checksum(data), head.get("description"), head.get("author"), \
                head.get("date")
            if cache is not None:
                cache.store(path, digest, head)
        migrations[version] = MigrationFile(version, name, path.path, relpath, digest, description, author, date)
    for version, paths in by_version.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problems.append((rel(paths[1]), f"duplicate version {version}: {names}"))

    rollbacks: dict[str, RollbackFile] = {}
    if rb_dir.is_dir():
        for path in sorted(_files_in(rb_dir), key=lambda p: p.name):
            if not _looks_like_migration(path.name):
                continue
            version, name, problem = _name_problem(path.name)
            if not problem and not (name == "rollback" or (name or "").startswith("rollback_")):
                problem = "a rollback is named <version>_rollback.sql or <version>_rollback_<name>.sql"
            if problem:
                problems.append((rel(path), f"bad rollback file name {path.name!r}: {problem}"))
                continue
            if version in rollbacks:
                problems.append((rel(path), f"two rollbacks for version {version}: "
                                            f"{rollbacks[version].path.name}, {path.name}"))
                continue
            if version not in migrations and version not in by_version:
                problems.append((rel(path), f"rollback {path.name} has no migration with version {version}"))
                continue
            rollbacks[version] = RollbackFile(version, Path(path.path), rel(path),
                                              checksum(path.read_bytes()) if read else "")

    if problems:
        first_file, first_message = problems[0]
        message = first_message if len(problems) == 1 else (
            f"{len(problems)} problems in the migrations folder:\n" + "\n".join(f"  {f}: {m}" for f, m in problems))
        raise DiscoveryError(message, location=Location(first_file, 1, 1) if len(problems) == 1 else None,
                             hint="migrations are named <YYYYMMDDHHMMSS>_<name>.sql with a lowercase name; "
                                  "rollbacks are rollbacks/<version>_rollback[_<name>].sql",
                             details={"problems": [{"file": f, "message": m} for f, m in problems]})
    if cache is not None:
        cache.save()
    out = []
    for version in sorted(migrations):
        m = migrations[version]
        if version in rollbacks:
            m = MigrationFile(m.version, m.name, m.abspath, m.relpath, m.checksum, m.description, m.author, m.date,
                              rollbacks[version])
        out.append(m)
    return out
