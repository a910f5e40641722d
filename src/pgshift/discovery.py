"""From a folder to migration and rollback files.

Names (PRODUCT.md section 1): ``<14 digits>_<[a-z0-9_]+>.sql`` for migrations,
``rollbacks/<version>_rollback[_<name>].sql`` for rollbacks. Anything in the
folder that looks like a migration but is not named so is an error naming the
file, found before anything runs; every such error is reported at once.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import DiscoveryError
from .model import Location, MigrationFile, RollbackFile
from .text import caret_context, line_col, printable

ROLLBACK_DIR = "rollbacks"
REPEATABLE_DIR = "repeatable"    # repeatable migrations (schema/repeatable.py)
VERSION_DIGITS = 14
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
_HEADER_KEYS = {"migration": "migration", "rollback": "migration", "description": "description",
                "author": "author", "date": "date"}


def checksum(data: bytes) -> str:
    """SHA-256 of the bytes with CRLF and CR line endings turned into LF."""
    import hashlib  # noqa: PLC0415 - the checksum is for runs, not for a lint

    return hashlib.sha256(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


def _normalise(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _why_unreadable(path: Path | str, exc: OSError | None = None) -> tuple[str, str]:
    """(what is wrong, the fix) for a path that cannot be read as a file; the first part
    follows the file's name ("<file> is a folder, not a file")."""
    import errno  # noqa: PLC0415
    import os  # noqa: PLC0415

    if os.path.islink(path) and not os.path.exists(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return (f"is a symbolic link to a file that does not exist ({target})",
                "point the link at an existing file, or remove it")
    if os.path.isdir(path):
        return "is a folder, not a file", "a migration is a file: rename the folder or move it elsewhere"
    if exc is None or not exc.errno:
        return "is not a regular file", "a migration is a plain file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"cannot be read: {exc.strerror}",
                "make the file readable by the user running pgshift (e.g. chmod a+r)")
    return f"cannot be read: {exc.strerror or exc}", "check the file"


def _read_bytes(path: Path | str) -> bytes:
    """The bytes of a regular file. Raises OSError (a FIFO or a device is refused, never waited on).
    Read with ``os.read`` in one call of the file's size (a buffered file object costs twice as
    much: 11 µs a migration file, which a lint of 1,000 files pays on every core)."""
    import errno  # noqa: PLC0415
    import os  # noqa: PLC0415
    import stat  # noqa: PLC0415

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode, size = (st := os.fstat(fd)).st_mode, st.st_size
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise OSError(0, "not a regular file", str(path))
        data = os.read(fd, size + 1)
        if len(data) == size:     # the whole file, as stat said
            return data
        chunks = [data]           # it changed since, or a file system read it short: read to its end
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path | str, relpath: str, data: bytes | None = None) -> str:
    """The file as text with LF line endings. A file that cannot be read, or is not UTF-8, is a
    DiscoveryError naming it (the latter at the line and column of the first bad byte)."""
    if data is None:
        try:
            data = _read_bytes(path)
        except OSError as exc:
            reason, hint = _why_unreadable(path, exc)
            raise DiscoveryError(f"{relpath} {reason}", hint=hint, details={"file": relpath}) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = _normalise(data[:exc.start].decode("utf-8"))
        line, col = line_col(before, len(before))
        whole = _normalise(data.decode("utf-8", errors="replace"))
        raise DiscoveryError(f"{relpath} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                             location=Location(relpath, line, col), context=caret_context(whole, len(before)),
                             hint="save the file as UTF-8 (from Latin-1: iconv -f LATIN1 -t UTF-8)") from None
    return _normalise(text)


def text_of(file: MigrationFile | RollbackFile) -> str:
    """The text of a discovered file: the text read together with its checksum when discovery
    read it; otherwise read now, and refused when its bytes no longer match the checksum that
    discovery recorded (the ledger must never record one version of a file and run another)."""
    if file.text is not None:
        return file.text
    path = file.path
    try:
        data = _read_bytes(path)
    except OSError as exc:
        reason, hint = _why_unreadable(path, exc)
        raise DiscoveryError(f"{file.relpath} {reason}", hint=hint, details={"file": file.relpath}) from None
    if file.checksum and checksum(data) != file.checksum:
        raise DiscoveryError(f"{file.relpath} changed while pgshift was reading the migrations",
                             hint="run again once the file is saved; nothing of it was run",
                             details={"file": file.relpath})
    return read_text(path, file.relpath, data)


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
    """A file found by os.scandir: cheaper than a Path per file on large folders. ``problem`` is
    (what is wrong, the fix) for something named like a migration that is not a file."""
    __slots__ = ("name", "path", "folder", "stat", "problem")

    def __init__(self, folder: Path, name: str, path: str, problem: tuple[str, str] | None = None):
        self.folder, self.name, self.path, self.stat, self.problem = folder, name, path, None, problem


def _files_in(folder: Path, shown: str, root: Path | None = None) -> list[_Entry]:
    """The files in *folder*, and whatever else there is named like an .sql file (a folder, a
    dangling symbolic link, a FIFO, a symbolic link out of the project *root*), with its
    problem: never silently skipped, never followed out of the project."""
    import os  # noqa: PLC0415

    inside = os.path.realpath(root if root is not None else folder.parent)
    try:
        with os.scandir(folder) as it:
            found = []
            for e in it:
                if e.is_file() and e.is_symlink() and _looks_like_migration(e.name) \
                        and not _under_folder(os.path.realpath(e.path), inside):
                    found.append(_Entry(folder, e.name, e.path, (
                        "is a symbolic link to a file outside the project: pgshift does not follow it",
                        "copy the file into the project's migrations folder, or point the link at a file "
                        "inside the project")))
                elif e.is_file():
                    found.append(_Entry(folder, e.name, e.path))
                elif _looks_like_migration(e.name) and e.name.lower().endswith(".sql"):
                    found.append(_Entry(folder, e.name, e.path, _why_unreadable(e.path)))
            return found
    except OSError as exc:
        raise DiscoveryError(f"the folder {shown} cannot be read: {exc.strerror or exc}",
                             hint="make it readable by the user running pgshift") from None


def _under_folder(path: str, folder: str) -> bool:
    import os  # noqa: PLC0415

    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


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

        try:
            st = os.stat(entry.path)
        except OSError:
            return None  # read next, which says what is wrong
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
    """Folders inside the migrations folder (other than rollbacks/ and repeatable/) that hold .sql files:
    pgshift reads neither, and a migration put there would silently never run."""
    import os  # noqa: PLC0415

    stray = []
    try:
        with os.scandir(migrations_dir) as it:
            folders = sorted(e.name for e in it if e.is_dir() and e.name not in (ROLLBACK_DIR, REPEATABLE_DIR)
                             and not e.name.startswith("."))
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


def _prefix(migrations_dir: Path, project_root: Path | None) -> str:
    """The migrations folder as files are named: relative to the project root, with a trailing /."""
    root = Path(project_root) if project_root else migrations_dir.parent
    try:
        prefix = str(migrations_dir.relative_to(root))
    except ValueError:
        prefix = str(migrations_dir)
    return "" if prefix == "." else prefix + "/"


def require_folder(migrations_dir: Path, project_root: Path | None = None) -> None:
    """Raises DiscoveryError when the migrations folder does not exist."""
    migrations_dir = Path(migrations_dir)
    if not migrations_dir.is_dir():
        shown = _prefix(migrations_dir, project_root).rstrip("/") or migrations_dir
        raise DiscoveryError(f"migrations folder {shown} does not exist",
                             hint="run `pgshift init`, or set `migrations` in pgshift.toml")


_NAMING_HINT = ("migrations are named <YYYYMMDDHHMMSS>_<name>.sql with a lowercase name; "
                "rollbacks are rollbacks/<version>_rollback[_<name>].sql")


def _raise_problems(problems: list[tuple[str, str, str | None]]) -> None:
    """One DiscoveryError for every problem found. A bad name, a duplicate or an orphan is placed
    at the file (file:1:1); a file that cannot be read has no place, and its message follows its name."""
    def line(f: str, m: str, own_hint: str | None) -> str:
        return f"{f} {m}" if own_hint else f"{f}: {m}"

    hints = list(dict.fromkeys(h or _NAMING_HINT for _f, _m, h in problems))
    if len(problems) == 1:
        f, m, own_hint = problems[0]
        message, location = (line(f, m, own_hint), None) if own_hint else (m, Location(f, 1, 1))
    else:
        message, location = (f"{len(problems)} problems in the migrations folder:\n"
                             + "\n".join(f"  {line(*p)}" for p in problems)), None
    raise DiscoveryError(message, location=location, hint="\n".join(hints),
                         details={"problems": [{"file": f, "message": m} for f, m, _h in problems]})


def discover(migrations_dir: Path, project_root: Path | None = None,
             cache: StatCache | None = None, *, read: bool = True) -> list[MigrationFile]:
    """Every migration in version order, each with its rollback. Raises DiscoveryError.

    ``read=False`` checks the names only: checksums are empty and headers unknown (for
    callers that read the files themselves, like lint)."""
    migrations_dir = Path(migrations_dir)
    rb_dir = migrations_dir / ROLLBACK_DIR
    prefix = _prefix(migrations_dir, project_root)

    def rel(entry) -> str:   # as shown: a control character in a name is escaped
        return printable(prefix + (entry.name if entry.folder is migrations_dir else f"{ROLLBACK_DIR}/{entry.name}"))

    require_folder(migrations_dir, project_root)
    problems: list[tuple[str, str, str | None]] = []   # (file, message, its own hint: the file has no place)
    by_version: dict[str, list[Path]] = {}
    migrations: dict[str, MigrationFile] = {}

    def content(entry) -> bytes | None:
        """The file's bytes, or None with its problem recorded."""
        if entry.problem is None:
            try:
                with open(entry.path, "rb") as fh:   # scandir found a regular file: no need to check again
                    return fh.read()
            except OSError as exc:
                entry.problem = _why_unreadable(entry.path, exc)
        problems.append((rel(entry), *entry.problem))
        return None

    entries = sorted(_files_in(migrations_dir, prefix.rstrip("/") or str(migrations_dir), project_root),
                     key=lambda p: p.name)
    for path in entries:
        if not _looks_like_migration(path.name):
            continue
        version, name, problem = _name_problem(path.name)
        if problem and path.problem is None:
            problems.append((rel(path), f"bad migration file name {path.name!r}: {problem}", None))
            continue
        if version is not None:
            by_version.setdefault(version, []).append(path)
        if path.problem is not None:
            content(path)
            continue
        relpath = rel(path)
        hit = cache.lookup(path) if cache is not None else None
        if not read:
            digest, description, author, date = "", None, None, None
        elif hit is not None:
            digest, description, author, date = hit
        else:
            data = content(path)
            if data is None:
                continue
            text = read_text(path.path, relpath, data)
            head = headers(text)
            digest, description, author, date = checksum(data), head.get("description"), head.get("author"), \
                head.get("date")
            if cache is not None:
                cache.store(path, digest, head)
        migrations[version] = MigrationFile(version, name, path.path, relpath, digest, description, author, date,
                                            text=text if read and hit is None else None)
    for version, paths in by_version.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problems.append((rel(paths[1]), f"duplicate version {version}: {names}", None))

    rollbacks: dict[str, RollbackFile] = {}
    if rb_dir.is_dir():
        for path in sorted(_files_in(rb_dir, f"{prefix}{ROLLBACK_DIR}", project_root or migrations_dir.parent),
                           key=lambda p: p.name):
            if not _looks_like_migration(path.name):
                continue
            version, name, problem = _name_problem(path.name)
            if not problem and not (name == "rollback" or (name or "").startswith("rollback_")):
                problem = "a rollback is named <version>_rollback.sql or <version>_rollback_<name>.sql"
            if problem and path.problem is None:
                problems.append((rel(path), f"bad rollback file name {path.name!r}: {problem}", None))
                continue
            if version in rollbacks:
                problems.append((rel(path), f"two rollbacks for version {version}: "
                                            f"{rollbacks[version].path.name}, {path.name}", None))
                continue
            if version is not None and version not in migrations and version not in by_version:
                problems.append((rel(path), f"rollback {path.name} has no migration with version {version}", None))
                continue
            data = None
            if path.problem is not None or read:
                data = content(path)
                if data is None:
                    continue
            rollbacks[version] = RollbackFile(version, Path(path.path), rel(path), checksum(data) if read else "",
                                              text=read_text(path.path, rel(path), data) if read else None)

    if problems:
        _raise_problems(problems)
    if cache is not None:
        cache.save()
    out = []
    for version in sorted(migrations):
        m = migrations[version]
        if version in rollbacks:
            m = MigrationFile(m.version, m.name, m.abspath, m.relpath, m.checksum, m.description, m.author, m.date,
                              rollbacks[version], m.text)
        out.append(m)
    return out
