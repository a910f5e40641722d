"""Preflight checks: small functions ``(conn, env) -> CheckResult``.

Each check says ok / warn / fail with the figure it measured and the threshold it
compared it with, in words a person on call can act on. ``run_checks`` runs them
all; a check that cannot run (a permission, an old server) says so as a warning
instead of stopping everything. Thresholds come from ``[env.NAME] checks``::

    [env.production]
    checks = { active_connections = 10, disk_usage_percent = 80,
               long_transaction_seconds = 300, replica_lag_seconds = 10 }

A check can be turned off by naming it with ``false`` (``invalid_indexes = false``);
it is then reported as ``skip``.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..text import format_duration, format_size

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"

#: threshold key -> default (the guide's numbers where it has them)
DEFAULTS = {
    "active_connections": 10,          # the guide: more than 10 active connections is too busy
    "disk_usage_percent": 80,          # the guide: disk use over 80% stops the run
    "long_transaction_seconds": 300,   # a transaction older than this would block DDL
    "replica_lag_seconds": 10,
}

#: check name -> its threshold key (None: no threshold)
CHECKS = {
    "connection": None,
    "active_connections": "active_connections",
    "disk_usage": "disk_usage_percent",
    "long_transactions": "long_transaction_seconds",
    "invalid_indexes": None,
    "prepared_transactions": None,
    "replica_lag": "replica_lag_seconds",
    "backup_tool": None,
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str                 # ok, warn, fail, skip
    figure: object = None       # what was measured
    threshold: object = None    # what it was compared with
    message: str = ""
    details: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        return f"{self.name}: {self.message}"

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "figure": self.figure, "threshold": self.threshold,
                "message": self.message, "details": self.details}


# --- thresholds ---------------------------------------------------------------------

def validate(env) -> None:
    """Unknown keys or non-numeric thresholds in ``checks`` are configuration errors (exit 2)."""
    for key, value in (env.checks or {}).items():
        if key not in DEFAULTS and key not in CHECKS:
            known = ", ".join(sorted(set(DEFAULTS) | set(CHECKS)))
            raise ConfigError(f"[env.{env.name}] checks: unknown key {key!r}", hint=f"known keys: {known}")
        if value is False:
            continue
        if key in DEFAULTS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"[env.{env.name}] checks.{key} must be a number (or false to skip the check), "
                              f"not {value!r}")


def threshold(env, key: str) -> float:
    value = (env.checks or {}).get(key, DEFAULTS[key])
    return DEFAULTS[key] if value is True else value


def _disabled(env, name: str) -> bool:
    checks = env.checks or {}
    key = CHECKS.get(name)
    return checks.get(name) is False or (key is not None and checks.get(key) is False)


def _skip(name: str) -> CheckResult:
    return CheckResult(name, SKIP, message="turned off in the configuration (checks)")


# --- the checks ----------------------------------------------------------------------

def check_connection(conn, env) -> CheckResult:
    started = time.monotonic()
    conn.execute("SELECT 1").fetchone()
    rtt_ms = round((time.monotonic() - started) * 1000, 1)
    user, db, in_recovery, version, read_only = conn.execute(
        "SELECT current_user, current_database(), pg_is_in_recovery(), current_setting('server_version'), "
        "current_setting('default_transaction_read_only')").fetchone()
    details = {"user": user, "database": db, "server_version": version, "in_recovery": in_recovery,
               "round_trip_ms": rtt_ms}
    where = f"connected to {db} as {user}, PostgreSQL {version}, round trip {rtt_ms:g} ms"
    if in_recovery:
        return CheckResult("connection", FAIL, version, None,
                           f"{where}, but the server is a standby in recovery: migrations must run on the primary",
                           details)
    if read_only == "on":
        return CheckResult("connection", FAIL, version, None,
                           f"{where}, but default_transaction_read_only is on: the migration could not write",
                           details)
    return CheckResult("connection", OK, version, None, f"{where} (primary)", details)


def check_active_connections(conn, env) -> CheckResult:
    limit = threshold(env, "active_connections")
    active, total, max_conn = conn.execute(
        "SELECT count(*) FILTER (WHERE state = 'active'), count(*), current_setting('max_connections')::int "
        "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchone()
    by_app = conn.execute(
        "SELECT coalesce(nullif(application_name, ''), '(none)'), count(*) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid() "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5").fetchall()
    details = {"active": active, "connected": total, "max_connections": max_conn,
               "active_by_application": {app: n for app, n in by_app}}
    text = f"{active} active connection(s) besides this one (threshold {limit:g}); {total} connected of {max_conn}"
    if active > limit:
        apps = ", ".join(f"{app} {n}" for app, n in by_app)
        return CheckResult("active_connections", FAIL, active, limit,
                           f"{text}: the server is busy ({apps}); run when it is quieter or raise "
                           "checks.active_connections", details)
    return CheckResult("active_connections", OK, active, limit, text, details)


def check_disk_usage(conn, env) -> CheckResult:
    limit = threshold(env, "disk_usage_percent")
    where, reason = _local_data_directory(conn)
    if where is None:
        return CheckResult("disk_usage", WARN, None, limit,
                           f"cannot be measured: {reason}; check the server's disk yourself "
                           f"(pgshift stops above {limit:g}% when it can see it)", {"reason": reason})
    st = os.statvfs(where)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    percent = round(100.0 * used / (used + avail), 1) if used + avail else 0.0
    details = {"data_directory": where, "used_bytes": used, "available_bytes": avail, "note": reason}
    text = (f"{percent:g}% used on the file system of the data directory {where} "
            f"({format_size(avail)} free; threshold {limit:g}%)")
    if reason:
        text += f" ({reason})"
    if percent > limit:
        return CheckResult("disk_usage", FAIL, percent, limit, f"{text}: too full to migrate safely", details)
    return CheckResult("disk_usage", OK, percent, limit, text, details)


def _local_data_directory(conn) -> tuple[str | None, str]:
    """(data directory, note) when the server runs on this machine and its folder is visible, else (None, why)."""
    import psycopg  # noqa: PLC0415

    host = conn.info.host or ""
    local = host.startswith("/") or host in ("localhost", "127.0.0.1", "::1", socket.gethostname())
    if not local:
        return None, f"the server is not on this machine (host {host})"
    try:
        with conn.transaction():
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]
    except psycopg.Error as exc:
        return None, ("SHOW data_directory is not allowed for this user "
                      f"(needs pg_read_all_settings): {exc.diag.message_primary or exc}")
    if not os.path.isdir(data_dir):
        return None, f"the data directory {data_dir} is not visible from this machine (a container or another host?)"
    # make sure it is the same server, not a folder that happens to have the same name
    try:
        lines = Path(data_dir, "postmaster.pid").read_text().splitlines()
        started = int(conn.execute("SELECT floor(extract(epoch FROM pg_postmaster_start_time()))::bigint")
                      .fetchone()[0])
        if len(lines) > 2 and abs(int(lines[2]) - started) > 1:
            return None, f"{data_dir} on this machine belongs to another server than the one connected to"
        return data_dir, ""
    except (OSError, ValueError):
        return data_dir, "assumed to be the connected server's: its postmaster.pid is not readable here"


def check_long_transactions(conn, env) -> CheckResult:
    limit = threshold(env, "long_transaction_seconds")
    rows = conn.execute(
        """
        SELECT a.pid, a.application_name, a.usename, a.state,
               extract(epoch FROM now() - a.xact_start)::float8 AS age, left(a.query, 300),
               host(a.client_addr),
               (SELECT array_agg(DISTINCT l.relation::regclass::text ORDER BY l.relation::regclass::text)
                  FROM pg_locks l
                 WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.granted
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.relation::regclass::text NOT LIKE 'pg\\_%%')
        FROM pg_stat_activity a
        WHERE a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
          AND a.datname = current_database() AND now() - a.xact_start > make_interval(secs => %s)
        ORDER BY a.xact_start
        """, (float(limit),)).fetchall()
    found = [{"pid": pid, "application_name": app, "user": user, "state": state, "age_seconds": round(age, 1),
              "query": query, "client": client, "locks": list(locks or [])}
             for pid, app, user, state, age, query, client, locks in rows]
    if not found:
        return CheckResult("long_transactions", OK, 0, limit,
                           f"no transaction in this database older than {format_duration(limit)}", {"transactions": []})
    lines = []
    for t in found[:5]:
        held = f", holds locks on {', '.join(t['locks'][:5])}" if t["locks"] else ""
        lines.append(f"pid {t['pid']} ({t['application_name'] or 'no application_name'}, {t['state']}, "
                     f"open {format_duration(t['age_seconds'])}{held}): {_one_line(t['query'])}")
    more = f"\n  … and {len(found) - 5} more" if len(found) > 5 else ""
    return CheckResult(
        "long_transactions", FAIL, len(found), limit,
        f"{len(found)} transaction(s) older than {format_duration(limit)} would block the migration's DDL:\n  "
        + "\n  ".join(lines) + more
        + "\n  let them finish, or end one with SELECT pg_terminate_backend(pid)",
        {"transactions": found})


def check_invalid_indexes(conn, env) -> CheckResult:
    rows = conn.execute(
        """
        SELECT c.oid::regclass::text, t.oid::regclass::text,
               (SELECT p.pid FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid LIMIT 1)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
        WHERE NOT i.indisvalid ORDER BY 1
        """).fetchall()
    building = [{"index": idx, "table": tbl, "pid": pid} for idx, tbl, pid in rows if pid is not None]
    broken = [{"index": idx, "table": tbl} for idx, tbl, pid in rows if pid is None]
    details = {"invalid": broken, "being_built": building}
    if broken:
        fixes = []
        for b in broken[:5]:
            name = b["index"]
            if name.endswith("_ccold"):
                fixes.append(f"{name} on {b['table']} (left by a REINDEX CONCURRENTLY that succeeded): "
                             f"DROP INDEX CONCURRENTLY {name};")
            elif "_ccnew" in name:
                fixes.append(f"{name} on {b['table']} (left by a failed REINDEX CONCURRENTLY): "
                             f"DROP INDEX CONCURRENTLY {name}; then REINDEX again")
            else:
                fixes.append(f"{name} on {b['table']}: DROP INDEX CONCURRENTLY {name}; then build it again "
                             f"(or REINDEX INDEX CONCURRENTLY {name};)")
        return CheckResult("invalid_indexes", FAIL, len(broken), 0,
                           f"{len(broken)} INVALID index(es), left by failed concurrent builds; they slow "
                           "every write and `CREATE INDEX CONCURRENTLY IF NOT EXISTS` silently skips them:\n  "
                           + "\n  ".join(fixes), details)
    if building:
        names = ", ".join(f"{b['index']} (pid {b['pid']})" for b in building)
        return CheckResult("invalid_indexes", WARN, 0, 0,
                           f"no INVALID index; {len(building)} concurrent index build(s) in progress: {names}",
                           details)
    return CheckResult("invalid_indexes", OK, 0, 0, "no INVALID index", details)


def check_prepared_transactions(conn, env) -> CheckResult:
    max_prepared = int(conn.execute("SELECT current_setting('max_prepared_transactions')").fetchone()[0])
    rows = conn.execute(
        "SELECT gid, owner, database, extract(epoch FROM now() - prepared)::float8 FROM pg_prepared_xacts "
        "ORDER BY prepared").fetchall()
    found = [{"gid": gid, "owner": owner, "database": db, "age_seconds": round(age, 1)}
             for gid, owner, db, age in rows]
    if found:
        listed = "; ".join(f"{p['gid']!r} in {p['database']} by {p['owner']}, prepared "
                           f"{format_duration(p['age_seconds'])} ago" for p in found[:5])
        return CheckResult("prepared_transactions", FAIL, len(found), 0,
                           f"{len(found)} prepared transaction(s) hold their locks until someone commits or rolls "
                           f"them back: {listed}; COMMIT PREPARED 'gid' or ROLLBACK PREPARED 'gid'",
                           {"prepared": found})
    note = " (max_prepared_transactions = 0: they are off)" if max_prepared == 0 else ""
    return CheckResult("prepared_transactions", OK, 0, 0, "no prepared transaction" + note, {"prepared": []})


def check_replica_lag(conn, env) -> CheckResult:
    limit = threshold(env, "replica_lag_seconds")
    if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
        return CheckResult("replica_lag", SKIP, None, limit, "the server is a standby; replica lag not measured")
    rows = conn.execute(
        "SELECT application_name, host(client_addr), state, sync_state, "
        "extract(epoch FROM replay_lag)::float8, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
        "FROM pg_stat_replication ORDER BY application_name").fetchall()
    slots = conn.execute(
        "SELECT slot_name, slot_type, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
        "FROM pg_replication_slots WHERE NOT active ORDER BY slot_name").fetchall()
    replicas = [{"application_name": app, "client": client, "state": state, "sync_state": sync,
                 "replay_lag_seconds": lag, "replay_lag_bytes": lag_bytes}
                for app, client, state, sync, lag, lag_bytes in rows]
    inactive = [{"slot": name, "type": kind, "retained_bytes": kept} for name, kind, kept in slots]
    details = {"replicas": replicas, "inactive_slots": inactive}
    slot_note = ""
    if inactive:
        slot_note = ("; inactive replication slot(s) keep WAL on the primary: "
                     + ", ".join(f"{s['slot']} ({format_size(s['retained_bytes'] or 0)})" for s in inactive))
    if not replicas:
        return CheckResult("replica_lag", WARN if inactive else OK, None, limit,
                           "no replica is connected" + slot_note, details)
    worst = max((r["replay_lag_seconds"] or 0.0) for r in replicas)
    listed = ", ".join(f"{r['application_name'] or r['client']} {r['state']} "
                       f"{format_duration(r['replay_lag_seconds'] or 0)} / "
                       f"{format_size(r['replay_lag_bytes'] or 0)} behind"
                       for r in replicas)
    text = f"{len(replicas)} replica(s): {listed} (threshold {format_duration(limit)})" + slot_note
    if worst > limit:
        return CheckResult("replica_lag", FAIL, round(worst, 1), limit,
                           f"replicas are {format_duration(worst)} behind: {text}", details)
    if any(r["state"] != "streaming" for r in replicas) or inactive:
        return CheckResult("replica_lag", WARN, round(worst, 1), limit, text, details)
    return CheckResult("replica_lag", OK, round(worst, 1), limit, text, details)


def check_backup_tool(conn, env, backup_dir: Path | None = None) -> CheckResult:
    """A pg_dump that can dump this server, and room for the dump."""
    from ..errors import OperationError  # noqa: PLC0415
    from . import backup  # noqa: PLC0415

    server = conn.info.server_version // 10000
    try:
        tool = backup.find_tool("pg_dump", server)
    except OperationError as exc:
        return CheckResult("backup_tool", FAIL, None, server, exc.message + (f"; {exc.hint}" if exc.hint else ""),
                           exc.details)
    details = {"pg_dump": tool.path, "pg_dump_version": tool.version, "server_major": server}
    text = f"pg_dump {tool.version} ({tool.path}) can dump this PostgreSQL {server} server"
    if backup_dir is not None:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        probe = Path(backup_dir)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        st = os.statvfs(probe)
        free = st.f_bavail * st.f_frsize
        details.update(database_bytes=size, backup_dir=str(backup_dir), backup_dir_free_bytes=free)
        text += f"; the database is {format_size(size)}, {backup_dir} has {format_size(free)} free"
        if free < size:
            return CheckResult("backup_tool", WARN, free, size,
                               text + " (less than the database's size: the dump is compressed, but it may not fit)",
                               details)
    return CheckResult("backup_tool", OK, tool.version, server, text, details)


ALL = (
    ("connection", check_connection),
    ("active_connections", check_active_connections),
    ("disk_usage", check_disk_usage),
    ("long_transactions", check_long_transactions),
    ("invalid_indexes", check_invalid_indexes),
    ("prepared_transactions", check_prepared_transactions),
    ("replica_lag", check_replica_lag),
)


def run_checks(conn, env, backup_dir: Path | None = None, *, backup: bool = False) -> list[CheckResult]:
    """Run every check on *conn* (autocommit); with *backup*, also whether a backup can be taken."""
    import psycopg  # noqa: PLC0415

    validate(env)
    results: list[CheckResult] = []
    checks = list(ALL)
    if backup:
        checks.append(("backup_tool", lambda c, e: check_backup_tool(c, e, backup_dir)))
    for name, fn in checks:
        if _disabled(env, name):
            results.append(_skip(name))
            continue
        try:
            with conn.transaction():
                result = fn(conn, env)
        except psycopg.OperationalError as exc:
            if name == "connection" or conn.closed or conn.broken:
                results.append(CheckResult(name, FAIL, None, None, f"the connection failed: {_one_line(str(exc))}"))
                break
            results.append(_could_not(name, exc))
            continue
        except psycopg.Error as exc:
            results.append(_could_not(name, exc))
            continue
        results.append(result)
    return results


def _could_not(name: str, exc) -> CheckResult:
    diag = getattr(exc, "diag", None)
    text = (getattr(diag, "message_primary", None) or str(exc)).strip()
    return CheckResult(name, WARN, None, None, f"could not be checked: {_one_line(text)}",
                       {"error": text, "sqlstate": getattr(exc, "sqlstate", None)})


# --- formatting -----------------------------------------------------------------------



def _one_line(text: str | None, limit: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat[:limit] + ("…" if len(flat) > limit else "")
