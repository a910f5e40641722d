"""Connections, session settings and the advisory run lock.

A password never leaves this module in an error: every message goes through
``config.scrub``. The run lock is a session advisory lock taken with a bounded
wait; note that session advisory locks do not work through PgBouncer in
transaction-pooling mode (point pgshift at the server or a session pool).
"""
from __future__ import annotations

import getpass
import hashlib
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass

from ._version import __version__
from .config import mask_dsn, scrub
from .errors import LockHeld, OperationError, SafetyRefusal
from .events import LOCK_WAIT, emit
from .text import format_duration, qualified, quote_ident  # noqa: F401 - re-exported: the rooms above quote through db

APPLICATION_NAME = "pgshift"

# SQLSTATE codes pgshift acts on (https://www.postgresql.org/docs/current/errcodes-appendix.html)
LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"
DUPLICATE_SCHEMA = "42P06"
INSUFFICIENT_PRIVILEGE = "42501"
LOCK_CONFLICTS = (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED)   # a retry may succeed


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a server error, None for anything else."""
    return getattr(exc, "sqlstate", None)


@contextmanager
def needs_privilege(conn, what: str, fix: str):
    """Turn the server's "permission denied" inside the block into an OperationError that names
    the role, what it may not do, and the GRANT (or setting) that fixes it (``{role}`` in *fix*
    is the role's quoted name). Other errors pass."""
    import psycopg  # noqa: PLC0415

    try:
        yield
    except psycopg.Error as exc:
        if sqlstate(exc) != INSUFFICIENT_PRIVILEGE:
            raise
        role = conn.info.user if conn is not None else "this role"
        raise OperationError(f"role {role} may not {what}: {_first_line(exc)}",
                             hint=fix.replace("{role}", quote_ident(role)),
                             details={"sqlstate": INSUFFICIENT_PRIVILEGE, "role": role}) from None


def _first_line(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    return getattr(diag, "message_primary", None) or str(exc).strip().split("\n", 1)[0]


# TCP settings of every connection pgshift opens, unless the URL sets its own: a peer that
# vanished (a dropped network, a dead host) is noticed within about half a minute, instead of a
# read that waits forever while the server session keeps its locks. (Unix sockets ignore them.)
TCP_SETTINGS = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5",
                "keepalives_count": "3", "tcp_user_timeout": "30000"}


def connect(url: str, *, autocommit: bool = True, application_name: str = APPLICATION_NAME,
            connect_timeout: int = 10):
    """A psycopg connection with TCP keepalives and a user timeout; errors name the masked DSN,
    never the password. No session setting is made here (see :func:`session_settings`): a
    connection that may go through a pooler must not leave settings behind for other clients."""
    import psycopg  # noqa: PLC0415
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        given = conninfo_to_dict(url or "")
        extra = {k: v for k, v in TCP_SETTINGS.items() if k not in given}
        conn = psycopg.connect(url or "", autocommit=autocommit, application_name=application_name,
                               connect_timeout=connect_timeout, **extra)
    except psycopg.Error as exc:
        detail = scrub(str(exc).strip(), url)
        raise OperationError(
            f"cannot connect to {mask_dsn(url) or 'the server named by the PG* variables'}: {detail}",
            hint="check the URL, that the server runs, and the credentials",
        ) from None
    conn.prepare_threshold = None
    return conn


def server_pid(conn) -> int:
    """The process id of *conn*'s server session, asked of the server once and kept on the
    connection. Not ``conn.info.backend_pid``: behind a pooler that is the pooler's own cancel
    key, a pid no server process has."""
    pid = getattr(conn, "pgshift_server_pid", None)
    if pid is None:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.pgshift_server_pid = pid
    return pid


POOLER_PROBE_ROUNDS = 5      # hand-off probes through a pooler before it is taken for a session pool
POOLER_PROBE_WAIT = 3.0      # seconds a probe waits for a server session before the pool counts as full


def refuse_pooler(conn, url: str) -> None:
    """Refuse (SafetyRefusal, exit 3) a connection that goes through a pooler in transaction or
    statement mode (PgBouncer, many cloud "pooled" URLs): there the run lock (a session advisory
    lock) and session settings do not hold, and settings would reach other clients.

    A direct connection is told at once: the server's cancel key names its own process (a pooler
    hands out keys of its own). Behind a pooler the mode is told from server sessions, in up to
    :data:`POOLER_PROBE_ROUNDS` rounds: a second client opens a transaction while this one is
    between transactions. In transaction mode the pooler may hand the second client this one's
    server session, or move this one's next statement to another session; in session mode
    neither ever happens. When the pool is full (the second client gets no session within
    :data:`POOLER_PROBE_WAIT` seconds), a session pool still answers this client at once from its
    own session, while a transaction pool queues it behind the second client, or moves it."""
    import psycopg  # noqa: PLC0415

    first = server_pid(conn)
    if first == conn.info.backend_pid:
        return
    try:
        other = connect(url, application_name=f"{APPLICATION_NAME}-pooler-check")
    except OperationError:
        other = None      # the pooler takes no more clients: the rounds watch this one alone
    try:
        evidence = _transaction_pooling(conn, other, first)
    except psycopg.Error as exc:
        raise OperationError(f"the pooler check on {mask_dsn(url) or 'the PG* variables server'} failed: "
                             f"{scrub(_first_line(exc), url)}") from None
    finally:
        if other is not None:
            _close_quietly(other)
    if conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.ACTIVE:
        _close_quietly(conn)     # its probe is still queued in the pooler: the connection is of no more use
    if evidence:
        raise SafetyRefusal(
            f"{mask_dsn(url) or 'the server named by the PG* variables'} goes through a connection pooler in "
            f"transaction or statement mode: {evidence}; pgshift's run lock and session settings do not hold "
            "there, so nothing was changed",
            hint="connect pgshift to the database server directly (its own host and port, not the pooler's), "
                 "or to a PgBouncer pool in session mode; the application keeps the pooled URL",
            details={"pooler": True, "server_pid": first})


def _transaction_pooling(conn, other, first: int) -> str | None:
    """What shows that *conn* (server session *first*) is pooled by transaction; None when
    nothing does (see :func:`refuse_pooler`)."""
    def moved(now: int | None) -> str:
        if now is None:
            return (f"this client's statement waited over {format_duration(POOLER_PROBE_WAIT)} "
                    f"for a server session while its own (pid {first}) was free")
        return f"one client's statements ran in two server sessions (pid {first}, then {now})"

    for _ in range(POOLER_PROBE_ROUNDS):
        mine = _pid_within(conn, POOLER_PROBE_WAIT)
        if mine != first:
            return moved(mine)
        if other is None:
            continue
        theirs = _pid_within(other, POOLER_PROBE_WAIT, b"BEGIN; SELECT pg_backend_pid()")
        if theirs == first:
            return f"another client's transaction was given this client's server session (pid {first})"
        mine = _pid_within(conn, POOLER_PROBE_WAIT)     # while the other client holds a session
        if mine != first:
            return moved(mine)
        if theirs is None:      # a full pool, and this client still has its own session: a session pool
            return None
        other.execute("ROLLBACK")
    return None


def _pid_within(conn, seconds: float, query: bytes = b"SELECT pg_backend_pid()") -> int | None:
    """The server pid *query* returns on *conn* (its last result), or None when no answer came
    within *seconds* (the connection is then left busy: close it). A pooler queues a client
    that waits for a server session without a word, so the wait is the client's own."""
    import select  # noqa: PLC0415

    from psycopg import pq  # noqa: PLC0415

    pgconn = conn.pgconn
    deadline = time.monotonic() + seconds
    pgconn.send_query(query)
    while pgconn.flush():
        select.select([], [pgconn.socket], [], max(0.0, deadline - time.monotonic()))
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        select.select([pgconn.socket], [], [], left)
    value, error = None, None
    while (result := pgconn.get_result()) is not None:
        if result.status == pq.ExecStatus.TUPLES_OK:
            value = int(result.get_value(0, 0).decode())
        elif result.status == pq.ExecStatus.FATAL_ERROR:
            error = (result.error_message or b"").decode(errors="replace").strip()
    if error:
        raise OperationError(f"the pooler check failed: {error}")
    return value


DEFAULT_STALL_TIMEOUT = 60.0   # seconds: how long a stalled connection may keep a run waiting


def session_settings(conn, stall_timeout: float | None = None) -> None:
    """pgshift's own session settings (again after a file's RESET ALL). Only on a connection
    checked not to go through a transaction-mode pooler: they would reach other clients there.

    - ``client_connection_check_interval``: a killed pgshift's backend ends within a second,
      instead of holding the run lock and the migration's locks until its statement ends;
    - ``idle_in_transaction_session_timeout``: a session whose client stalled inside a
      transaction (a network that neither answers nor closes) is ended by the server after the
      stall timeout, and its locks with it; pgshift itself never idles inside a transaction;
    - TCP keepalives on the server's side of the connection, for a client that vanished."""
    stall = stall_timeout if stall_timeout is not None else getattr(conn, "pgshift_stall_timeout",
                                                                     DEFAULT_STALL_TIMEOUT)
    conn.pgshift_stall_timeout = stall
    if conn.info.server_version >= 140000:
        conn.execute("SET client_connection_check_interval = '1s'")
    conn.execute(f"SET idle_in_transaction_session_timeout = '{max(1, int(stall * 1000))}ms'")
    conn.execute("SET tcp_keepalives_idle = 10")
    conn.execute("SET tcp_keepalives_interval = 5")
    conn.execute("SET tcp_keepalives_count = 3")


class Watchdog:
    """A client-side deadline for every wait on a connection: a thread with a connection of its
    own asks the server every *poll* seconds what the watched session is doing. When that session
    is gone (the server ended it), or has been idle for more than *stall* seconds while pgshift
    works (its reply never arrived: a stalled network), or the server cannot be reached for that
    long, the watched connection's socket is shut down, so the call blocked on it returns with an
    error at once. :attr:`tripped` then says why. pgshift never idles on its connection longer
    than a few seconds while a run works (its own waits query the server as they go)."""

    IDLE = ("idle", "idle in transaction", "idle in transaction (aborted)")

    def __init__(self, conn, url: str, stall: float, poll: float = 1.0):
        import threading  # noqa: PLC0415

        self.conn, self.url, self.stall, self.poll = conn, url, stall, poll
        self.pid = server_pid(conn)
        self.tripped: str | None = None
        self._paused = 0
        self._other = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pgshift-watchdog-{self.pid}", daemon=True)

    def __enter__(self) -> Watchdog:
        self.conn.pgshift_watchdog = self
        self._thread.start()
        return self

    @contextmanager
    def paused(self):
        """No deadline inside: the run waits for a person (a confirmation) or for another program
        (pg_dump) and its connection idles meanwhile."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.poll + 6)
        self.conn.pgshift_watchdog = None

    def _run(self) -> None:
        unreachable_since = None
        reading_for, reading_since = None, 0.0   # (query_start,) while the session waits on pgshift
        other = None
        while not self._stop.wait(self.poll):
            if self._paused:
                unreachable_since, reading_for = None, None
                continue
            try:
                if other is None:
                    other = _watching_connection(self.url, max(2, int(self.poll * 2)))
                row = other.execute(
                    "SELECT state, extract(epoch FROM now() - state_change), wait_event = 'ClientRead', "
                    "query_start FROM pg_stat_activity WHERE pid = %s", (self.pid,)).fetchone()
                unreachable_since = None
                self._other = other
            except Exception:  # noqa: BLE001 - the server cannot be reached from here either
                if other is not None:
                    _close_quietly(other)
                    other = None
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if now - unreachable_since >= self.stall:
                    self._trip(f"the server could not be reached for {format_duration(self.stall)}")
                    return
                continue
            if self._stop.is_set() or self._paused:
                continue
            if row is None:
                self._trip("the server ended pgshift's session")
                break
            state, idle_for, client_read, query_start = row
            if state in self.IDLE and idle_for is not None and float(idle_for) >= self.stall:
                self._trip(f"pgshift's session has been {state} on the server for "
                           f"{format_duration(float(idle_for))} while pgshift waited for its reply")
                break
            # in the middle of a pipeline the session is "active" but reads from pgshift: the rest of
            # what pgshift sent never came; the same statement waiting that long is a stall too
            waiting = (query_start,) if client_read else None
            if waiting != reading_for:
                reading_for, reading_since = waiting, time.monotonic()
            elif waiting is not None and time.monotonic() - reading_since >= self.stall:
                self._trip(f"pgshift's session has waited {format_duration(self.stall)} on the server "
                           "for the rest of what pgshift sent")
                break
        if other is not None:
            _close_quietly(other)

    def _trip(self, why: str) -> None:
        if self._stop.is_set():
            return
        self.tripped = why
        if self._other is not None:   # the server ends the stalled session now: its locks go with it
            try:
                self._other.execute("SELECT pg_terminate_backend(%s)", (self.pid,))
            except Exception:  # noqa: BLE001 - unreachable: the server's own timeouts end it
                pass
        shutdown_socket(self.conn)


class ProgramWatch:
    """The :class:`Watchdog` of a libpq program pgshift runs (``pg_dump`` for a backup): its
    sessions are found by their application_name (*tag*, unique to the run), asked about every
    *poll* seconds on a connection of pgshift's own. A session of it that waits on the program
    (idle in a transaction, or the server blocked writing to it or reading from it) for *stall*
    seconds, or a server that cannot be reached for that long, is a stall: :meth:`check` then
    ends the program's sessions server-side and says why; the caller stops the program.

    A COPY that moves is no stall, however long the server waits on its client between rows (a
    dump of a large table to a slow disk, or over a slow link, may keep it waiting most of the
    time for minutes): from PostgreSQL 14 the COPY's bytes (``pg_stat_progress_copy``) are read
    with each look, and a wait is counted from the last time they grew."""

    def __init__(self, url: str, tag: str, stall: float):
        self.url, self.tag, self.stall = url, tag, stall
        self._conn = None
        self._waiting: dict[int, tuple] = {}      # pid -> (what it waits on, since)
        self._unreachable_since: float | None = None

    def check(self) -> str | None:
        """None while the program works; else why it stalled (its sessions are ended)."""
        now = time.monotonic()
        try:
            if self._conn is None:
                self._conn = _watching_connection(self.url, max(2, int(self.stall)))
            rows = self._conn.execute(_PROGRAM_SESSIONS if self._conn.info.server_version >= 140000
                                      else _PROGRAM_SESSIONS_BEFORE_14, (self.tag,)).fetchall()
            self._unreachable_since = None
        except Exception:  # noqa: BLE001 - the server cannot be reached from here either
            self.close()
            self._unreachable_since = self._unreachable_since or now
            if now - self._unreachable_since >= self.stall:
                return f"the server could not be reached for {format_duration(self.stall)}"
            return None
        for pid, state, wait_event, query_start, idle_for, copied in rows:
            if state == "idle in transaction" and idle_for is not None and float(idle_for) >= self.stall:
                return self._end(f"its session {pid} has been idle in a transaction for "
                                 f"{format_duration(float(idle_for))}, waiting for it")
            # the same wait, on the same statement, with no byte copied since: a COPY that moves starts it anew
            waiting = (wait_event, query_start, copied) if wait_event in ("ClientWrite", "ClientRead") else None
            seen = self._waiting.get(pid)
            if waiting is None:
                self._waiting.pop(pid, None)
            elif seen is None or seen[0] != waiting:
                self._waiting[pid] = (waiting, now)
            elif now - seen[1] >= self.stall:
                return self._end(f"the server has waited {format_duration(self.stall)} on its session {pid} "
                                 f"({'to send it data' if wait_event == 'ClientWrite' else 'for its data'})")
        return None

    def _end(self, why: str) -> str:
        try:
            self._conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                               (self.tag,))
        except Exception:  # noqa: BLE001 - the server's own timeouts end them then
            pass
        return why

    def close(self) -> None:
        if self._conn is not None:
            _close_quietly(self._conn)
            self._conn = None


# a program's sessions, and the bytes of the COPY each is in (PostgreSQL 14 has pg_stat_progress_copy)
_PROGRAM_SESSIONS = ("SELECT a.pid, a.state, a.wait_event, a.query_start, extract(epoch FROM now() - a.state_change), "
                     "c.bytes_processed FROM pg_stat_activity a LEFT JOIN pg_stat_progress_copy c ON c.pid = a.pid "
                     "WHERE a.application_name = %s")
_PROGRAM_SESSIONS_BEFORE_14 = ("SELECT pid, state, wait_event, query_start, extract(epoch FROM now() - state_change), "
                               "NULL::bigint FROM pg_stat_activity WHERE application_name = %s")


def _watching_connection(url: str, connect_timeout: int):
    """The connection a watch asks the server on: its own, and never waiting long on an answer."""
    conn = connect(url, application_name=f"{APPLICATION_NAME}-watchdog", connect_timeout=connect_timeout)
    conn.execute("SET statement_timeout = '5s'")
    return conn


def watch_paused(conn):
    """The watchdog of *conn* paused (see :meth:`Watchdog.paused`); nothing when none watches it."""
    from contextlib import nullcontext  # noqa: PLC0415

    watchdog = getattr(conn, "pgshift_watchdog", None)
    return watchdog.paused() if watchdog is not None else nullcontext()


def shutdown_socket(conn) -> None:
    """Shut a connection's socket down, so that a call blocked reading it returns (with an error)."""
    import os  # noqa: PLC0415

    try:
        s = socket.socket(fileno=os.dup(conn.pgconn.socket))
        try:
            s.shutdown(socket.SHUT_RDWR)
        finally:
            s.close()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        pass


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - best effort
        pass


def libpq_target(conn) -> str:
    """Where a connection made from libpq's variables alone went: host, port, user and
    database, never a password."""
    info = conn.info
    return f"host={info.host} port={info.port} user={info.user} dbname={info.dbname} (libpq environment)"


def server_version(conn) -> int:
    """The server's major version, e.g. 18."""
    return conn.info.server_version // 10000


def whoami() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "unknown"
    return user, socket.gethostname()


def tool_version() -> str:
    return f"pgshift {__version__}"


# --- the run lock ---------------------------------------------------------------

def lock_key(ledger: str) -> int:
    digest = hashlib.sha256(f"pgshift:{ledger}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str | None
    user: str | None
    client: str | None
    since: object
    state: str | None
    query: str | None

    def describe(self) -> str:
        since = self.since.isoformat(timespec="seconds") if hasattr(self.since, "isoformat") else self.since
        who = f"pid {self.pid}, application_name {self.application_name or '(none)'!r}"
        if self.user:
            who += f", user {self.user}"
        if self.client:
            who += f", from {self.client}"
        return f"{who}, connected since {since}"


def lock_holder(conn, key: int) -> LockHolder | None:
    classid = (key >> 32) & 0xFFFFFFFF
    objid = key & 0xFFFFFFFF
    row = conn.execute(
        """
        SELECT a.pid, a.application_name, a.usename, host(a.client_addr), a.backend_start, a.state, a.query
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND l.objid::bigint = %s
          AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        LIMIT 1
        """, (classid, objid)).fetchone()
    return LockHolder(*row) if row else None


def acquire_run_lock(conn, ledger: str, wait: float, reporter=None, poll: float = 0.25) -> None:
    """Take the session advisory lock for *ledger*, waiting at most *wait* seconds."""
    key = lock_key(ledger)
    deadline = time.monotonic() + max(0.0, wait)
    announced = 0.0
    expected = getattr(conn, "pgshift_server_pid", None)
    while True:
        taken, pid = conn.execute("SELECT pg_try_advisory_lock(%s), pg_backend_pid()", (key,)).fetchone()
        if expected is not None and pid != expected:   # a pooler moved the session after all
            if taken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            raise SafetyRefusal(
                f"the connection moved from server session {expected} to {pid}: it goes through a connection "
                "pooler in transaction or statement mode, where pgshift's run lock does not hold; nothing was "
                "changed", hint="connect pgshift to the database server directly, or to a PgBouncer pool in "
                                "session mode", details={"pooler": True, "server_pid": expected})
        if taken:
            return
        holder = lock_holder(conn, key)
        now = time.monotonic()
        if now >= deadline:
            who = holder.describe() if holder else "another session (it has just let go; try again)"
            raise LockHeld(
                f"another pgshift run holds the migration lock on this database: {who}",
                hint=f"waited {format_duration(wait)} (--lock-wait). Wait for it to finish, or end that session "
                     "(SELECT pg_terminate_backend(pid)). Behind PgBouncer in transaction mode "
                     "advisory locks do not work: connect to the server directly.",
                details={"holder": holder.__dict__ if holder else None},
            )
        if now - announced >= 5 or announced == 0.0:
            announced = now
            emit(reporter, LOCK_WAIT, "waiting for the migration lock held by "
                 + (holder.describe() if holder else "another session"),
                 level="warning", holder=holder.pid if holder else None)
        time.sleep(min(poll, max(0.01, deadline - now)))


def release_run_lock(conn, ledger: str) -> None:
    try:
        conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(ledger),))
    except Exception:  # noqa: BLE001 - the connection may be gone; the server frees the lock then
        pass


# --- databases: create, clone, drop ---------------------------------------------------

def with_dbname(url: str, name: str) -> str:
    """*url* with another database name (any conninfo or URL form)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: PLC0415

    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


def create_database(server_url: str, name: str, *, template: str | None = None, if_missing: bool = False) -> str:
    """CREATE DATABASE *name* (a copy of *template* when given) through *server_url*; its URL.

    With *if_missing*, an existing database of that name is kept as it is."""
    with connect(server_url) as admin:
        if if_missing and admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return with_dbname(server_url, name)
        with needs_privilege(admin, f"create database {name}", "give the role CREATEDB: ALTER ROLE {role} CREATEDB; "
                             "(pgshift test makes its throwaway databases on the configured server)"):
            admin.execute(f"CREATE DATABASE {quote_ident(name)}"
                          + (f" TEMPLATE {quote_ident(template)}" if template else ""))
    return with_dbname(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """DROP DATABASE IF EXISTS *name* WITH (FORCE): its sessions are ended first."""
    with connect(server_url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
