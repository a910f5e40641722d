"""Soak: `pgshift up` killed at random moments, and what every kill leaves checked.

    python bench/soak.py [--kills 1000] [--seed N] [--out results.json] [--rev HEAD]
                         [--kinds sigkill,terminate,crash] [--at SECONDS] [--start I]

Not run by CI. One embedded PostgreSQL for the whole soak; a project of ten files of every
way a file runs (transactional; no-transaction: named CREATE INDEX CONCURRENTLY builds beside
plain statements; its own BEGIN ... COMMIT blocks with statements between them; batched:
a key-range ``-- pgshift:batch`` UPDATE over a table of 3,000 or 4,000 rows beside plain
statements). Every statement's effect can be counted exactly: a marker row in
``soak.effects``, a counter in ``soak.counters`` bumped by one, a batched ``n = n + 1`` over
every row, a table, view, function or column that exists, an index that exists and is valid.

Each iteration: a fresh database (a copy of a template holding only ``soak``'s two tables),
`python -m pgshift --project P --database-url URL up` started as a process, and one kill of
three kinds, at a moment drawn uniformly in the part of a clean run that works on the server
(from its first line of output, printed once it has connected, to its end; the median of
clean runs timed first):

- ``sigkill``: SIGKILL of the pgshift process (its process group);
- ``terminate``: ``pg_terminate_backend`` of pgshift's session (application_name 'pgshift');
- ``crash``: ``pg_ctl stop -m immediate`` of the server, then started again (crash recovery).

A moment that comes after the run has ended (or, for ``terminate``, before pgshift has a
session) is no kill: it is counted apart and another is drawn. After a kill (the process
ended, and its server sessions too) the database is checked:

- *double effect*: a statement's effect is there twice;
- *lost effect*: a file whose latest event is ``completed`` (or a statement its progress
  counts as done) lacks a statement's effect;
- *orphan effect*: an effect that no event accounts for: no event, a transactional file's
  failed event, or a stepwise file's statement at or past ``statements_done``; except the
  statement the run stopped at when it is a concurrent build (pgshift checks the index on
  resume) or a batched statement whose recorded batch progress is exactly the rows changed;
- *done line lost*: a file the killed run printed as done, without saying it was not yet
  on disk, whose ``completed`` event a server crash took back;
- *hung after kill*: the killed run had not ended 120 s after the kill, or its session
  was still on the server 60 s after it ended.

Then the final ``up`` (no kill) runs: *final up failed* when it does not exit 0; after it
every statement's effect must be there exactly once and the schema (``rehearsal.snapshot``,
the ledger left out) equal a clean run's (*schema differs*). At the end: kills by kind,
where they landed, violations by kind with the first examples (iteration, seed, kind,
moment, the run's last line before the kill, what), the seconds per kill; exit 1 when any
violation was found.

``--rev HEAD`` soaks pgshift as committed (``git archive`` of ``src/``), not a working tree
that others may be editing meanwhile. ``--seed S --start I --kills 1`` draws iteration I's
kind and moment again (``--kinds KIND --at MOMENT`` pins them); where the kill lands in
pgshift's work still depends on the machine's speed.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from _common import compile_pgshift, new_database
from pgshift import db as pgdb
from pgshift import embedded
from pgshift.rehearsal.diff import diff
from pgshift.rehearsal.snapshot import take

KINDS = ("sigkill", "terminate", "crash")
VIOLATIONS = ("double effect", "orphan effect", "lost effect", "done line lost", "hung after kill",
              "final up failed", "schema differs")
TEMPLATE, RUN, CLEAN = "soak_template", "soak_run", "soak_clean"
LEDGER = ("pgshift.migration_log", "pgshift.pgshift_environment")
EXAMPLES = 5
HANG = 120.0


# --- the project: statements whose effects can be counted ------------------------------------------

@dataclass(frozen=True)
class Stmt:
    """One statement of a file and how to count its effect: ``probe`` is (kind, args...)."""
    sql: str
    probe: tuple = ()          # () : no effect of its own (BEGIN, COMMIT)

    @property
    def concurrent(self) -> bool:
        return "CONCURRENTLY" in self.sql

    @property
    def batched(self) -> bool:
        return self.sql.startswith("-- pgshift:batch")


@dataclass
class File:
    version: str
    name: str
    mode: str                   # transaction, no-transaction, own-transaction, batched
    stmts: list[Stmt] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return self.version[-2:]

    def text(self) -> str:
        return f"-- Migration: {self.name} ({self.mode})\n" + "".join(s.sql + ";\n" for s in self.stmts)


ACCOUNTS, ORDERS = 4000, 3000


def project_files() -> list[File]:
    files: list[File] = []

    def new(name: str, mode: str) -> File:
        f = File(f"2025010100{len(files) + 1:04d}", name, mode)
        files.append(f)
        return f

    def marker(f: File) -> Stmt:   # the statement's own number in its file: the next one
        n = len(f.stmts) + 1
        return Stmt(f"INSERT INTO soak.effects (file, stmt) VALUES ('{f.tag}', {n})", ("marker", f.tag, n))

    def counter(f: File) -> Stmt:
        name = f"{f.tag}.{len(f.stmts) + 1}"
        return Stmt(f"UPDATE soak.counters SET n = n + 1 WHERE name = '{name}'", ("counter", name))

    def add(f: File, *makers) -> None:
        for make in makers:
            f.stmts.append(make(f) if callable(make) else make)

    add(new("accounts", "transaction"),
        Stmt("CREATE TABLE accounts (id bigint PRIMARY KEY, v text NOT NULL, n integer NOT NULL DEFAULT 0)",
             ("relation", "accounts")),
        Stmt(f"INSERT INTO accounts (id, v) SELECT g, 'a' || g FROM generate_series(1, {ACCOUNTS}) g",
             ("rows", "accounts", ACCOUNTS)),
        marker, counter)
    add(new("orders", "transaction"),
        Stmt("CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, "
             "amount numeric(12, 2) NOT NULL, touched integer NOT NULL DEFAULT 0)", ("relation", "orders")),
        Stmt(f"INSERT INTO orders (id, account_id, amount) SELECT g, g % {ACCOUNTS} + 1, g FROM "
             f"generate_series(1, {ORDERS}) g", ("rows", "orders", ORDERS)),
        marker)
    add(new("index_accounts", "no-transaction"),
        marker,
        Stmt("CREATE INDEX CONCURRENTLY accounts_v_idx ON accounts (v)", ("index", "accounts_v_idx")),
        counter,
        Stmt("CREATE INDEX CONCURRENTLY orders_account_idx ON orders (account_id)", ("index", "orders_account_idx")),
        marker, counter)
    add(new("audit_own_transaction", "own-transaction"),
        Stmt("BEGIN"),
        Stmt("CREATE TABLE audit (id bigint PRIMARY KEY, what text NOT NULL)", ("relation", "audit")),
        marker,
        Stmt("COMMIT"),
        counter,
        marker,
        Stmt("BEGIN"),
        Stmt("ALTER TABLE audit ADD COLUMN at timestamptz", ("column", "audit", "at")),
        counter,
        Stmt("COMMIT"))
    add(new("backfill_accounts", "batched"),
        marker,
        Stmt("-- pgshift:batch size=250\nUPDATE accounts SET n = n + 1", ("batch", "accounts", "n", ACCOUNTS)),
        counter)
    add(new("orders_note", "transaction"),
        Stmt("ALTER TABLE orders ADD COLUMN note text", ("column", "orders", "note")),
        Stmt("CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 1000",
             ("relation", "big_orders")),
        counter, marker)
    add(new("index_orders", "no-transaction"),
        Stmt("CREATE INDEX CONCURRENTLY orders_amount_idx ON orders (amount)", ("index", "orders_amount_idx")),
        marker, counter,
        Stmt("CREATE UNIQUE INDEX CONCURRENTLY accounts_v_key ON accounts (v)", ("index", "accounts_v_key")),
        marker)
    add(new("backfill_orders", "batched"),
        counter,
        Stmt("-- pgshift:batch size=300\nUPDATE orders SET touched = touched + 1",
             ("batch", "orders", "touched", ORDERS)),
        marker)
    add(new("settings_own_transaction", "own-transaction"),
        marker,
        Stmt("BEGIN"),
        Stmt("CREATE TABLE settings (key text PRIMARY KEY, value text)", ("relation", "settings")),
        counter,
        Stmt("COMMIT"),
        counter)
    add(new("functions", "transaction"),
        Stmt("CREATE FUNCTION order_total(a bigint) RETURNS numeric LANGUAGE sql STABLE "
             "AS $$ SELECT coalesce(sum(amount), 0) FROM orders WHERE account_id = a $$",
             ("function", "order_total")),
        counter, marker)
    return files


def write_project(root: Path, files: list[File]) -> None:
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n")
    for f in files:
        (root / "migrations" / f"{f.version}_{f.name}.sql").write_text(f.text())


def counter_names(files: list[File]) -> list[str]:
    return [s.probe[1] for f in files for s in f.stmts if s.probe[:1] == ("counter",)]


# --- counting effects -------------------------------------------------------------------------------

def probe(conn, p: tuple) -> tuple[int, bool]:
    """(how many times the effect is there, whether it is there in part)."""
    kind = p[0]
    if kind == "marker":
        return conn.execute("SELECT count(*) FROM soak.effects WHERE file = %s AND stmt = %s",
                            (p[1], p[2])).fetchone()[0], False
    if kind == "counter":
        return conn.execute("SELECT n FROM soak.counters WHERE name = %s", (p[1],)).fetchone()[0], False
    if kind == "relation":
        return int(_regclass(conn, p[1])), False
    if kind == "function":
        return conn.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", (p[1],)).fetchone()[0], False
    if kind == "column":
        if not _regclass(conn, p[1]):
            return 0, False
        return conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s "
                            "AND NOT attisdropped", (p[1], p[2])).fetchone()[0], False
    if kind == "index":
        row = conn.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                           "WHERE c.relname = %s", (p[1],)).fetchone()
        return (0, False) if row is None else (1, False) if row[0] else (0, True)
    if kind == "rows":
        if not _regclass(conn, p[1]):
            return 0, False
        n = conn.execute(f"SELECT count(*) FROM {p[1]}").fetchone()[0]
        return n // p[2], n % p[2] != 0
    if kind == "batch":
        if not _regclass(conn, p[1]):
            return 0, False
        changed, most = conn.execute(f"SELECT count(*) FILTER (WHERE {p[2]} > 0), coalesce(max({p[2]}), 0) "
                                     f"FROM {p[1]}").fetchone()
        return most, 0 < changed < p[3]
    raise ValueError(kind)


def _regclass(conn, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]


def batch_rows(conn, p: tuple) -> int:
    return conn.execute(f"SELECT count(*) FROM {p[1]} WHERE {p[2]} > 0").fetchone()[0]


def latest_events(conn) -> dict[str, tuple]:
    """version -> (status, statements_done, details) of its latest migrate event."""
    if not _regclass(conn, "pgshift.migration_log"):
        return {}
    rows = conn.execute("SELECT DISTINCT ON (version) version, status, statements_done, details "
                        "FROM pgshift.migration_log WHERE migration_type = 'migrate' "
                        "ORDER BY version, id DESC").fetchall()
    return {r[0]: r[1:] for r in rows}


def check_after_kill(conn, files: list[File]) -> list[tuple[str, str]]:
    """The violations the database shows after a kill: (kind, what)."""
    found: list[tuple[str, str]] = []
    events = latest_events(conn)
    for f in files:
        status, done, details = events.get(f.version, (None, None, None))
        done = done or 0
        for i, s in enumerate(f.stmts):
            if not s.probe:
                continue
            times, partial = probe(conn, s.probe)
            where = f"{f.version}_{f.name} statement {i + 1} ({s.probe[0]} {s.probe[1]})"
            if times > 1:
                found.append(("double effect", f"{where}: effect there {times} times; latest event "
                                               f"{status or 'none'}, statements_done {done}"))
            if status == "completed":
                if times < 1 or partial:
                    found.append(("lost effect", f"{where}: {'partial' if partial else 'absent'} "
                                                 "although the file's event is completed"))
                continue
            stepwise = status in ("running", "failed") and f.mode != "transaction"
            if stepwise and i < done:
                if times < 1 or partial:
                    found.append(("lost effect", f"{where}: {'partial' if partial else 'absent'} "
                                                 f"although statements_done is {done}"))
                continue
            if not (times or partial):
                continue
            if stepwise and i == done and s.concurrent:
                continue   # the build the run stopped at: pgshift looks at the index on resume
            if stepwise and i == done and s.batched:
                recorded = ((details or {}).get("batch") or {}).get("rows")
                changed = batch_rows(conn, s.probe)
                if recorded != changed:
                    found.append(("orphan effect", f"{where}: {changed} rows changed, the event's batch progress "
                                                   f"says {recorded}"))
                continue
            found.append(("orphan effect", f"{where}: effect there ({'partial' if partial else times}) but the "
                                           f"latest event is {status or 'none'}"
                                           + (f" with statements_done {done}" if status else "")))
    return found


def check_final(conn, files: list[File], clean) -> list[tuple[str, str]]:
    found = []
    for f in files:
        for i, s in enumerate(f.stmts):
            if s.probe:
                times, partial = probe(conn, s.probe)
                if times != 1 or partial:
                    kind = "double effect" if times > 1 else "lost effect"
                    found.append((kind, f"after the final up: {f.version}_{f.name} statement {i + 1} "
                                        f"({s.probe[0]} {s.probe[1]}) there {times} times"
                                        + (" (partial)" if partial else "")))
    differences = diff(clean, take(conn, exclude=LEDGER))
    if differences:
        found.append(("schema differs", "; ".join(d.describe("clean run", "soaked") for d in differences[:3])
                      + (f" (+{len(differences) - 3} more)" if len(differences) > 3 else "")))
    return found


def claimed_done(stdout: str, files: list[File]) -> list[tuple[File, str]]:
    """The files a run's output said were done without saying they were not yet on disk (a
    transactional file's "committed; on disk with the run's last commit"), with the line; all
    of its done files once it said that the last commit flushed them."""
    lines = stdout.splitlines()
    flushed = any("on disk (the last commit flushed" in line for line in lines)
    out = []
    for f in files:
        line = next((x for x in lines if f"{f.version}_{f.name}.sql done" in x), None)
        if line is not None and (flushed or "with the run's last commit" not in line):
            out.append((f, line))
    return out


# --- the server --------------------------------------------------------------------------------------

class Server:
    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self.url = embedded.start(pgdata)
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        self.socket_dir = lines[4].strip()
        self.user = "embedded_postgres" if os.geteuid() == 0 else None

    def db(self, name: str) -> str:
        return pgdb.with_dbname(self.url, name)

    def _pg_ctl(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([embedded.tool("pg_ctl"), "-D", str(self.pgdata), *args], user=self.user, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)

    def crash_and_restart(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start")

    def stop(self) -> None:
        embedded.stop(self.pgdata)


def connect(url: str):
    deadline = time.monotonic() + 60
    while True:
        try:
            return psycopg.connect(url, autocommit=True, application_name="soak", connect_timeout=5)
        except psycopg.OperationalError:   # the server recovering from a crash
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def recreate(server: Server, name: str, template: str | None = TEMPLATE) -> str:
    """Database *name* made anew, a copy of *template* (empty without one); its URL."""
    connect(server.url).close()     # the server may still be recovering from a crash: wait for it
    return new_database(server.url, name, template)


def make_template(server: Server, files: list[File]) -> None:
    url = recreate(server, TEMPLATE, None)
    with connect(url) as conn:
        conn.execute("CREATE SCHEMA soak")
        conn.execute("CREATE TABLE soak.effects (file text NOT NULL, stmt integer NOT NULL)")
        conn.execute("CREATE TABLE soak.counters (name text PRIMARY KEY, n integer NOT NULL DEFAULT 0)")
        conn.cursor().executemany("INSERT INTO soak.counters (name) VALUES (%s)", [(n,) for n in counter_names(files)])


def wait_sessions_gone(url: str, name: str, limit: float = 60.0) -> bool:
    """Wait until no pgshift session is left on database *name* (a killed client's backend may
    still be finishing its statement)."""
    deadline = time.monotonic() + limit
    with connect(url) as conn:
        while time.monotonic() < deadline:
            if not conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name "
                                "LIKE 'pgshift%%' AND pid <> pg_backend_pid()", (name,)).fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


# --- one run of pgshift ---------------------------------------------------------------------------------

SOURCE: dict[str, str] = {}   # "path": the pgshift the runs import, when not this Python's own (--rev)


def pgshift_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k not in ("DATABASE_URL",)}
    env["PYTHONUNBUFFERED"] = "1"
    if SOURCE.get("path"):
        env["PYTHONPATH"] = SOURCE["path"]
    return env


def use_revision(rev: str, work: Path) -> str:
    """Run pgshift as committed at *rev* (`git archive` of src/, byte-compiled), not the working
    tree, which others may be editing while the soak runs; the revision's commit id."""
    repo = Path(__file__).resolve().parent.parent
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", rev], capture_output=True, text=True,
                            check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(repo), "archive", commit, "src"], capture_output=True,
                             check=True).stdout
    dest = work / f"pgshift-{commit}"
    dest.mkdir()
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    compileall.compile_dir(dest / "src", quiet=1)
    SOURCE["path"] = str(dest / "src")
    return commit


def imported_from() -> str:
    return subprocess.run([sys.executable, "-c", "import pgshift; print(pgshift.__file__)"], env=pgshift_env(),
                          capture_output=True, text=True).stdout.strip()


class Run:
    """`pgshift up` as a process (its own process group), its output read line by line as it comes,
    each line with the time it came (seconds after the start)."""

    def __init__(self, root: Path, url: str):
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "pgshift", "--no-color", "--project", str(root),
                                      "--database-url", url, "up"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=pgshift_env(), start_new_session=True, text=True,
                                     errors="replace")
        self.lines: list[tuple[float, str]] = []
        self.first_line = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))
            self.first_line.set()
        self.first_line.set()

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None when the process had not ended within *timeout* seconds."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(5)
        return code

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def ended(self) -> bool:
        return self.proc.poll() is not None

    @property
    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def anchor(self) -> float | None:
        """When the first line came (pgshift has connected and says where): the window of kills opens."""
        return self.lines[0][0] if self.lines else None


def run_up(root: Path, url: str, timeout: float = 600) -> tuple[int, Run]:
    run = Run(root, url)
    code = run.wait(timeout)
    if code is None:
        run.kill()
        code = run.wait(30) or -9
    return code, run


def kill(kind: str, run: Run, server: Server, name: str) -> bool:
    """Apply the kill; False when there was nothing left to kill (the run had ended, or had no session)."""
    if run.ended():
        return False
    if kind == "sigkill":
        run.kill()
        return True
    if kind == "terminate":
        with connect(server.url) as conn:
            ended = conn.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE datname = %s AND application_name = 'pgshift'", (name,)).fetchone()[0]
        return bool(ended)
    server.crash_and_restart()
    return True


# --- the soak ---------------------------------------------------------------------------------------------

def iteration(i: int, seed: int, args, server: Server, root: Path, files: list[File], clean, window: float) -> dict:
    """One kill and its checks. The moment counts from the run's first line of output (pgshift has
    connected): drawn uniformly in a clean run's median time from that line to its end."""
    rng = random.Random(f"{seed}:{i}")
    kind = rng.choice(args.kinds)
    moment = args.at if args.at is not None else rng.uniform(0.0, window)
    record: dict = {"iteration": i, "seed": seed, "kind": kind, "moment": round(moment, 3), "violations": []}
    clock = time.monotonic()
    phases = record["phases"] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        phases[name] = round(now - clock, 3)
        clock = now

    url = recreate(server, RUN)
    lap("database")
    run = Run(root, url)
    run.first_line.wait(60)
    anchor = run.anchor()
    if anchor is not None:
        time.sleep(max(0.0, run.started + anchor + moment - time.monotonic()))
    record["last_line"] = re.sub(r"^\d\d:\d\d:\d\d ", "", run.lines[-1][1]).strip()[:150] if run.lines else ""
    record["file_at_kill"] = next((f.version[-2:] for _, line in reversed(run.lines) for f in files
                                   if f"migrate migrations/{f.version}_" in line), "before")
    record["killed"] = kill(kind, run, server, RUN)
    lap("to kill")
    code = run.wait(HANG)
    if code is None:
        record["violations"].append(("hung after kill", f"pgshift had not ended {HANG:g} s after the {kind}"))
        run.kill()
        code = run.wait(30)
    record["exit"] = code
    if not record["killed"]:
        return record   # the run ended before the moment: nothing to check, drawn again
    if not wait_sessions_gone(server.url, RUN):
        record["violations"].append(("hung after kill", "a pgshift session was still on the server 60 s after "
                                                         "its process ended"))
    lap("exit")
    with connect(url) as conn:
        record["violations"] += check_after_kill(conn, files)
        events = latest_events(conn)
        record["completed"] = sum(1 for e in events.values() if e[0] == "completed")
        if kind == "crash":
            for f, line in claimed_done(run.text, files):
                status = events.get(f.version, ("none",))[0]
                if status != "completed":
                    record["violations"].append(("done line lost", f"the run printed `{line}`; after the crash "
                                                                   f"the file's latest event is {status}"))
    lap("check")
    code, final = run_up(root, url)
    lap("final up")
    if code != 0:
        tail = " | ".join(final.text.strip().splitlines()[-4:])
        record["violations"].append(("final up failed", f"exit {code}: {tail[-600:]}"))
    else:
        with connect(url) as conn:
            record["violations"] += check_final(conn, files, clean)
    lap("final check")
    if record["violations"]:
        record["killed_output"] = run.text[-4000:]
        record["final_output"] = final.text[-2000:]
    return record


def showing(records: list[dict], violation: str) -> list[dict]:
    return [r for r in records if any(k == violation for k, _ in r["violations"])]


def table(records: list[dict], seconds: float, window: float) -> str:
    kills = [r for r in records if r["killed"]]
    late = len(records) - len(kills)
    lines = [f"{len(kills)} kills in {seconds:,.0f} s: {seconds / max(1, len(kills)):.2f} s per kill "
             f"({late} more drawn moments came after the run had ended, or before a terminate had a session to "
             f"end); the window: {window:.2f} s after the run's first line", "",
             "| kill | kills | the run still exited 0 (its work was done) | with a violation |", "|---|---:|---:|---:|"]
    for kind, of in [(k, [r for r in kills if r["kind"] == k]) for k in KINDS] + [("all", kills)]:
        if of:
            lines.append(f"| {kind} | {len(of)} | {sum(1 for r in of if r.get('exit') == 0)} | "
                         f"{sum(1 for r in of if r['violations'])} |")
    at = Counter(r.get("file_at_kill", "?") for r in kills)
    lines += ["", "where the kills landed (the file the run had last named; before: planning, the ledger): "
              + ", ".join(f"{k} {at[k]}" for k in sorted(at))]
    lines += ["", "| violation | kills showing it | sigkill | terminate | crash |", "|---|---:|---:|---:|---:|"]
    for v in VIOLATIONS:
        per = Counter(r["kind"] for r in showing(records, v))
        lines.append(f"| {v} | {sum(per.values())} | {per['sigkill']} | {per['terminate']} | {per['crash']} |")
    for v in VIOLATIONS:
        if showing(records, v):
            lines += ["", f"{v}, the first examples:"]
            for r in showing(records, v)[:EXAMPLES]:
                what = next(w for k, w in r["violations"] if k == v)
                lines.append(f"  iteration {r['iteration']} of --seed {r['seed']}: {r['kind']} {r['moment']:.3f} s "
                             f"after the first line (the last line before it: {r['last_line'][:70]!r}): {what}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=None, help="the soak's seed (default: a random one, printed)")
    ap.add_argument("--out", default=None, help="write every iteration's record here (JSON)")
    ap.add_argument("--kinds", default=",".join(KINDS), help="the kinds of kill to draw from (comma-separated)")
    ap.add_argument("--at", type=float, default=None,
                    help="kill this many seconds after the run's first line every time (default: drawn)")
    ap.add_argument("--rev", default=None,
                    help="soak pgshift as committed at this git revision (e.g. HEAD), not the working tree")
    ap.add_argument("--start", type=int, default=1,
                    help="the first iteration's number: --seed S --start I --kills 1 draws iteration I's kill again")
    ap.add_argument("--clean-runs", type=int, default=7, help="clean runs timed to find the window")
    args = ap.parse_args()
    args.kinds = [k for k in args.kinds.split(",") if k]
    if not args.kinds or any(k not in KINDS for k in args.kinds):
        ap.error(f"--kinds: a comma-separated list of {', '.join(KINDS)}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)

    work = Path(tempfile.mkdtemp(prefix="pgshift-soak-"))
    os.chmod(work, 0o755)
    what = f"revision {use_revision(args.rev, work)}" if args.rev else "the working tree"
    compile_pgshift()
    files = project_files()
    root = work / "project"
    write_project(root, files)
    server = Server(work / "pgdata")
    records: list[dict] = []
    window, begun = 0.0, time.monotonic()
    try:
        with connect(server.url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        make_template(server, files)
        spans, totals = [], []
        for _ in range(args.clean_runs):
            code, run = run_up(root, recreate(server, CLEAN))
            if code != 0:
                raise SystemExit(f"a clean `pgshift up` failed (exit {code}):\n{run.text}")
            total = run.lines[-1][0]
            spans.append(total - run.anchor())
            totals.append(total)
        window = statistics.median(spans[1:] or spans)   # the first run warms the caches
        with connect(server.db(CLEAN)) as conn:
            clean = take(conn, exclude=LEDGER)
            wrong = check_final(conn, files, clean)
        if wrong:
            raise SystemExit(f"a clean run does not give every effect once: {wrong}")
        counts = Counter(f.mode for f in files)
        print(f"pgshift of {what} ({imported_from()}); PostgreSQL {version}, {os.cpu_count()} CPUs; seed {seed}; {len(files)} files "
              f"({', '.join(f'{n} {m}' for m, n in counts.items())}), {sum(len(f.stmts) for f in files)} "
              f"statements; a clean run: {statistics.median(totals):.2f} s, of which {window:.2f} s after its first "
              f"line (medians of {len(spans)}); kills: {', '.join(args.kinds)}, uniform in that window", flush=True)
        begun = time.monotonic()
        i, killed = args.start - 1, 0
        while killed < args.kills and i < args.start + 3 * args.kills + 20:
            i += 1
            records.append(iteration(i, seed, args, server, root, files, clean, window))
            if records[-1]["killed"]:
                killed += 1
                if killed % 50 == 0:
                    bad = sum(1 for r in records if r["violations"])
                    print(f"  {killed} kills, {bad} with a violation, {time.monotonic() - begun:,.0f} s", flush=True)
    except KeyboardInterrupt:
        print("interrupted: the figures so far", flush=True)
    finally:
        seconds = time.monotonic() - begun
        try:
            server.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(records, seconds, window))
    print(f"\nreproduce an iteration's kind and moment: python bench/soak.py --seed {seed} --start ITERATION --kills 1"
          + (f" --rev {args.rev}" if args.rev else ""))
    if args.out:
        Path(args.out).write_text(json.dumps({"seed": seed, "window": window, "seconds": seconds,
                                              "records": records}, indent=1))
    return 1 if any(r["violations"] for r in records) else 0

if __name__ == "__main__":
    sys.exit(main())
