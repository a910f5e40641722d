"""The JSON contract (docs/json/): every command's `--json` output, run for real as a process
against a real database, validates against its schema, for success and for failure: a
result, a verdict (ok false) or the error object, exit code for exit code. The schemas are
strict (closed objects, required keys, types, times by pattern and format checker), and a
test shows they reject a wrong type."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conftest import Result, clean_environ, run_cli, write_project
from pgshift.cli import COMMANDS
from pgshift.errors import ExitCode

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "json"
V1, V2 = "20250101000001", "20250101000002"
FILES = {
    f"{V1}_a.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
    f"rollbacks/{V1}_rollback_a.sql": "DROP TABLE a;\n",
    f"{V2}_b.sql": "CREATE TABLE b (id int PRIMARY KEY);\nCREATE TABLE b_log (id int);\n",
    f"rollbacks/{V2}_rollback_b.sql": "DROP TABLE b_log;\nDROP TABLE b;\n",
}
#: each command's schema (down and new have their own file, which names rollback's and init's);
#: a command line naming no command can only be the error object
SCHEMA_OF = {**{name: f"{name}.schema.json" for name in COMMANDS}, None: "error.schema.json"}


def _registry() -> Registry:
    return Registry().with_resources(
        (path.as_uri(), Resource.from_contents(json.loads(path.read_text(encoding="utf-8"))))
        for path in SCHEMAS.glob("*.schema.json"))


REGISTRY = _registry()


def validator(schema: str) -> Draft202012Validator:
    """A validator of ``docs/json/<schema>`` (``file#/$defs/part`` for a part), formats checked."""
    file, _, fragment = schema.partition("#")
    return Draft202012Validator({"$ref": (SCHEMAS / file).as_uri() + (f"#{fragment}" if fragment else "")},
                                registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(document, schema: str) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator(schema).iter_errors(document)]


def contract(result: Result, command: str | None, outcome: str, code: int, part: str = "#/$defs/result") -> dict:
    """*result* (*command*'s *outcome*) exited *code* with one JSON document on stdout, valid
    against the command's schema and the given part of it (an error: the error object, its
    exit_code the process's)."""
    assert result.code == code, result.all
    assert "Traceback" not in result.all
    document = json.loads(result.out)
    assert list(document)[0] == "schema_version" and document["schema_version"] == 1
    schema = SCHEMA_OF[command]
    part = "error.schema.json" if "error" in document else schema + part
    assert not problems(document, schema), (problems(document, schema), document)
    assert not problems(document, part), (problems(document, part), document)
    if "error" in document:
        assert document["exit_code"] == code, outcome
    return document


@pytest.fixture
def cli(tmp_path, pgshift_database_url):
    """``cli(*args)``: pgshift on a project of two versions and a fresh database."""
    root = write_project(tmp_path / "p", FILES)

    def run(*args: str, project: Path = root, url: str = pgshift_database_url) -> Result:
        return run_cli(*args, "--json", "-q", "--project", str(project), "--database-url", url)

    run.root, run.url = root, pgshift_database_url
    return run


def _missing_database(url: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname="pgshift_no_such_database")


# --- the schemas themselves -----------------------------------------------------------------

def test_every_command_has_a_valid_schema():
    for path in SCHEMAS.glob("*.schema.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
    assert {name for name, file in SCHEMA_OF.items() if not (SCHEMAS / file).is_file()} == set()
    assert (SCHEMAS / "error.schema.json").is_file() and (SCHEMAS / "README.md").is_file()


def test_the_schemas_reject_a_wrong_type():
    state = {"version": V1, "name": "a", "state": "applied", "file": "migrations/x.sql", "has_rollback": True,
             "applied_at": "2025-01-31T09:30:00.123456+00:00", "execution_seconds": 0.012, "execution_ms": 12,
             "checksum": "0" * 64, "recorded_checksum": "0" * 64, "description": None, "error": None}
    good = {"schema_version": 1, "ok": True, "checked": 1, "changed": [state], "missing": [], "unverifiable": []}
    assert problems(good, "verify.schema.json") == []
    wrong = [
        {**good, "schema_version": "1"},
        {**good, "checked": "1"},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "ok"},
        {**good, "changed": [{**state, "applied_at": "2025-01-31 09:30:00.123456+00:00"}]},   # str() of a datetime
        {**good, "changed": [{**state, "applied_at": "2025-01-31T09:30:00"}]},                # no time zone
        {**good, "changed": [{**state, "execution_seconds": "0:00:00.012000"}]},              # str() of a timedelta
        {**good, "changed": [{**state, "state": "done"}]},
    ]
    for document in wrong:
        assert problems(document, "verify.schema.json"), document
    error = {"schema_version": 1, "error": "InputError", "exit_code": 2, "message": "m", "location": "f.sql:1:2",
             "hint": None, "context": None, "details": {}}
    assert problems(error, "error.schema.json") == []
    for document in ({**error, "exit_code": 7}, {**error, "location": "f.sql"}, {**error, "details": None},
                     {k: v for k, v in error.items() if k != "hint"}):
        assert problems(document, "error.schema.json"), document


# --- status, verify, up, baseline -------------------------------------------------------------

def test_status_verify_up_and_baseline(cli, tmp_path):
    contract(cli("status"), "status", "no ledger", ExitCode.OK)
    plan = contract(cli("up", "--dry-run"), "up", "dry run", ExitCode.OK)
    assert plan["dry_run"] is True and "result" not in plan and len(plan["plan"]) == 2
    contract(cli("baseline", V1), "baseline", "ok", ExitCode.OK)
    done = contract(cli("up"), "up", "applied", ExitCode.OK)
    assert [s["version"] for s in done["result"]["steps"]] == [V2]
    status = contract(cli("status"), "status", "applied", ExitCode.OK)
    assert status["counts"]["applied"] == 2 and status["versions"][1]["applied_at"].endswith("+00:00")
    assert status["versions"][1]["execution_seconds"] == status["versions"][1]["execution_ms"] / 1000
    contract(cli("verify"), "verify", "ok", ExitCode.OK)
    (cli.root / "migrations" / f"{V2}_b.sql").write_text("CREATE TABLE b (id bigint PRIMARY KEY);\n")
    changed = contract(cli("verify"), "verify", "mismatch", ExitCode.FAILED)
    assert changed["ok"] is False and [s["version"] for s in changed["changed"]] == [V2]
    contract(cli("status", project=tmp_path / "nowhere"), "status", "no project", ExitCode.INPUT)
    contract(cli("verify", url=_missing_database(cli.url)), "verify", "cannot connect", ExitCode.FAILED)
    contract(cli("baseline", "20990101000000"), "baseline", "unknown version", ExitCode.INPUT)


def test_up_fails(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", {f"{V1}_a.sql": "CREATE TABLE a (id int);\nSELECT no_such_column FROM a;\n"})
    line = ("--json", "--project", str(root), "--database-url", pgshift_database_url)
    error = contract(run_cli("up", *line), "up", "migration failed", ExitCode.FAILED)
    assert error["error"] == "MigrationFailed" and error["location"].endswith(f"{V1}_a.sql:2:8")
    assert error["details"]["sqlstate"] == "42703"
    contract(run_cli("up", "--lock-timeout", "99days", *line), "up", "usage error", ExitCode.INPUT)


def test_a_protected_run(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", FILES, "[pgshift]\n[env.prod]\nprotected = true\nbackup_dir = \"backups\"\n")
    line = ("--json", "-q", "--env", "prod", "--project", str(root), "--database-url", pgshift_database_url)
    refused = contract(run_cli("up", *line), "up", "protected, no confirmation", ExitCode.REFUSED)
    assert refused["error"] == "SafetyRefusal" and refused["details"]["checks"]
    done = contract(run_cli("up", "--yes", *line), "up", "protected", ExitCode.OK)
    assert done["safety"]["backup"]["path"].endswith(".dump") and done["safety"]["checks"]
    back = contract(run_cli("down", "--steps", "1", "--yes", *line), "down", "protected", ExitCode.OK)
    assert back["safety"]["backup"]["sha256"]


# --- rollback, down ---------------------------------------------------------------------------

def test_rollback_and_down(cli):
    contract(cli("rollback", V1, "--yes"), "rollback", "not applied", ExitCode.INPUT)
    contract(cli("up"), "up", "applied", ExitCode.OK)
    dry = contract(cli("rollback", V2, "--dry-run"), "rollback", "dry run", ExitCode.OK)
    assert dry["dry_run"] is True and dry["plan"][0]["file"].endswith(f"{V2}_rollback_b.sql")
    done = contract(cli("rollback", V2, "--yes"), "rollback", "rolled back", ExitCode.OK)
    assert done["result"]["steps"][0]["action"] == "rollback"
    contract(cli("down", "--steps", "1", "--yes"), "down", "rolled back", ExitCode.OK)
    nothing = contract(cli("down", "--steps", "1", "--yes"), "down", "nothing to roll back", ExitCode.OK)
    assert nothing["result"]["steps"] == []
    contract(cli("down", "--yes"), "down", "neither --steps nor --to", ExitCode.INPUT)
    contract(cli("down", "--steps", "x"), "down", "usage error", ExitCode.INPUT)


# --- test -------------------------------------------------------------------------------------

def test_test(cli, tmp_path):
    proof = contract(cli("test", "--roundtrip"), "test", "round trip passed", ExitCode.OK)
    assert proof["ok"] is True and {v["status"] for v in proof["versions"]} == {"passed"}
    (cli.root / "migrations" / "rollbacks" / f"{V2}_rollback_b.sql").write_text("DROP TABLE b;\n")
    failed = contract(cli("test", "--roundtrip"), "test", "round trip differs", ExitCode.FAILED)
    assert failed["ok"] is False and failed["versions"][1]["status"] == "failed"
    assert failed["versions"][1]["differences"]
    contract(cli("test", "--from-backup", str(tmp_path / "none.dump")), "test", "no backup file", ExitCode.INPUT)


def test_plan(cli, tmp_path):
    planned = contract(cli("plan"), "plan", "two versions planned", ExitCode.OK)
    assert planned["ok"] is True and [v["version"] for v in planned["versions"]] == [V1, V2]
    assert planned["statements"] and planned["fingerprint"]["files"]
    out = tmp_path / "plan.json"
    written = cli("plan", "--format", "json", "--out", str(out))
    assert written.code == ExitCode.OK, written.all
    assert not problems(json.loads(out.read_text()), "plan.schema.json#/$defs/result")
    markdown = cli("plan", "--format", "markdown", "--out", str(tmp_path / "plan.md"))
    assert markdown.code == ExitCode.OK and "### pgshift plan: passes" in (tmp_path / "plan.md").read_text()
    contract(cli("up", "--plan", str(out)), "up", "applied as planned", ExitCode.OK)
    (cli.root / "migrations" / f"{V2}_b.sql").write_text("CREATE TABLE b (id int PRIMARY KEY);\n")
    run = cli("plan")
    assert run.code == ExitCode.OK, run.all
    cli("up")
    (cli.root / "migrations" / "20250101000003_c.sql").write_text("CREATE UNIQUE INDEX a_x ON a ((1));\n")
    psycopg.connect(cli.url, autocommit=True).execute("INSERT INTO a VALUES (1), (2)").connection.close()
    failed = contract(cli("plan"), "plan", "a failure on the copy is a violation", ExitCode.FAILED)
    assert failed["ok"] is False and failed["violations"]
    contract(cli("plan", "--target", "nope"), "plan", "no such version", ExitCode.INPUT)


# --- lint -------------------------------------------------------------------------------------

def test_lint(cli, project):
    clean = contract(cli("lint"), "lint", "clean", ExitCode.OK, "#/$defs/report")
    assert clean["has_errors"] is False and clean["summary"]["files"] == 4
    risky = project({f"{V1}_i.sql": "CREATE INDEX i ON a (id);\n"}, name="risky")
    found = contract(cli("lint", project=risky), "lint", "errors found", ExitCode.FAILED, "#/$defs/report")
    assert found["has_errors"] is True and found["findings"][0]["line"] == 1
    same = run_cli("lint", "--format", "json", "--project", str(risky))   # --format json: the same document
    assert json.loads(same.out) == found
    rules = contract(cli("lint", "--list"), "lint", "--list", ExitCode.OK, "#/$defs/rules")
    contract(cli("lint", "--explain", rules["rules"][0]["id"]), "lint", "--explain", ExitCode.OK, "#/$defs/rule")
    contract(cli("lint", "--explain", "no-such-rule"), "lint", "unknown rule", ExitCode.INPUT)


# --- check, backup, restore -------------------------------------------------------------------

def test_check(cli, project):
    contract(cli("check"), "check", "all pass", ExitCode.OK)
    full = project({}, "[pgshift]\n[env.dev]\nchecks = { disk_usage_percent = 0.001 }\n", name="full")
    refused = contract(cli("check", project=full), "check", "a check fails", ExitCode.REFUSED)
    assert refused["ok"] is False and refused["failed"] == ["disk_usage"]
    unreachable = contract(cli("check", url=_missing_database(cli.url)), "check", "cannot connect", ExitCode.REFUSED)
    assert unreachable["failed"] == ["connection"]
    bad = project({}, "[pgshift]\n[env.dev]\nchecks = { bogus = 1 }\n", name="bad")
    error = contract(cli("check", project=bad), "check", "bad configuration", ExitCode.INPUT)
    assert error["location"].endswith("pgshift.toml:3:12")


def test_backup_and_restore(cli, tmp_path, pgshift_new_database):
    contract(cli("up"), "up", "applied", ExitCode.OK)
    dump = tmp_path / "db.dump"
    taken = contract(cli("backup", "--out", str(dump)), "backup", "ok", ExitCode.OK)
    assert taken["path"] == str(dump) and taken["size"] == dump.stat().st_size
    contract(cli("backup", "--out", str(tmp_path / "x.dump"), url=_missing_database(cli.url)), "backup",
             "cannot connect", ExitCode.FAILED)
    restored = contract(cli("restore", str(dump), url=pgshift_new_database("r")), "restore", "ok", ExitCode.OK)
    assert restored["checksum"] == "verified" and restored["format"] == "custom"
    no_url = run_cli("restore", str(dump), "--json", "--project", str(cli.root))
    contract(no_url, "restore", "usage error", ExitCode.INPUT)
    Path(f"{dump}.sha256").write_text("0" * 64 + "  db.dump\n")
    contract(cli("restore", str(dump), url=pgshift_new_database("r")), "restore", "checksum mismatch",
             ExitCode.FAILED)


# --- diagnose ---------------------------------------------------------------------------------

def test_diagnose(cli):
    fresh = contract(cli("diagnose"), "diagnose", "no ledger", ExitCode.OK)
    assert fresh["ledger"]["note"]
    contract(cli("up"), "up", "applied", ExitCode.OK)
    with _a_waiting_lock(cli.url):
        stuck = contract(cli("diagnose"), "diagnose", "ledger, a lock waited for", ExitCode.OK)
    ledger = stuck["ledger"]
    assert ledger["columns"][6] == "duration_seconds" and isinstance(ledger["rows"][0][6], float)
    assert stuck["waiting_locks"]["rows"] and stuck["blocking"]["rows"]
    assert isinstance(stuck["blocking"]["rows"][0][6], float)   # the blocker's transaction age, in seconds
    contract(cli("diagnose", url=_missing_database(cli.url)), "diagnose", "cannot connect", ExitCode.FAILED)


class _a_waiting_lock:
    """One session holds table a; another waits for it, until the block ends."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self):
        self.holder = psycopg.connect(self.url)
        self.holder.execute("LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
        self.waiter = threading.Thread(target=self._wait)
        self.waiter.start()
        deadline = time.monotonic() + 20
        with psycopg.connect(self.url, autocommit=True) as probe:
            while not probe.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
                assert time.monotonic() < deadline, "the second session never waited"
                time.sleep(0.05)
        return self

    def _wait(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '60s'")
            conn.execute("SELECT count(*) FROM a")

    def __exit__(self, *exc) -> None:
        self.holder.rollback()
        self.holder.close()
        self.waiter.join(30)


# --- drift, schema dump, schema diff (issue 14) -----------------------------------------------

def test_drift_and_schema(cli, tmp_path, pgshift_new_database):
    unknown = contract(cli("drift"), "drift", "no fingerprint yet", ExitCode.OK)
    assert unknown["status"] == "unknown"
    contract(cli("up"), "up", "applied", ExitCode.OK)
    clean = contract(cli("drift"), "drift", "clean", ExitCode.OK)
    assert clean["status"] == "clean" and clean["expected_version"] == V2
    with psycopg.connect(cli.url, autocommit=True) as conn:
        conn.execute("ALTER TABLE a ADD COLUMN note text")
    drifted = contract(cli("drift"), "drift", "drifted", ExitCode.FAILED)
    assert drifted["drifted"] is True and drifted["last_matched_version"] == V2
    contract(cli("drift", url=_missing_database(cli.url)), "drift", "cannot connect", ExitCode.FAILED)
    text = contract(cli("schema", "dump"), "schema", "dump to stdout", ExitCode.OK)
    assert "CREATE TABLE public.a" in text["text"] and text["path"] is None
    written = contract(cli("schema", "dump", "--out", str(tmp_path / "s.sql")), "schema", "dump", ExitCode.OK)
    assert written["path"] == str(tmp_path / "s.sql") and written["changed"] is True and "text" not in written
    other = pgshift_new_database()
    differ = contract(cli("schema", "diff", "--url", cli.url, "--url", other), "schema", "diff", ExitCode.FAILED)
    assert differ["only_in_a"] == [V1, V2] and differ["same"] is False and differ["differences"]
    contract(cli("schema", "diff", "--url", cli.url), "schema", "one database", ExitCode.INPUT)


# --- repair, report -------------------------------------------------------------------------

def test_repair_and_report(cli, tmp_path):
    contract(cli("repair", "--mark-applied", V2, "--yes"), "repair", "no ledger", ExitCode.INPUT)
    contract(cli("up", "--target", V1), "up", "applied", ExitCode.OK)
    would = contract(cli("repair", "--mark-applied", V2, "--dry-run"), "repair", "dry run", ExitCode.OK)
    assert would["dry_run"] is True and would["actions"][0]["action"] == "mark-applied"
    done = contract(cli("repair", "--mark-applied", V2, "--yes"), "repair", "marked", ExitCode.OK)
    assert done["actions"][0]["new_checksum"]
    contract(cli("repair", "--mark-applied", V2, "--yes"), "repair", "applied already", ExitCode.INPUT)
    page = contract(cli("report", "--out", str(tmp_path / "r.html")), "report", "ok", ExitCode.OK)
    assert page["path"] == str(tmp_path / "r.html") and page["bytes"] > 0
    contract(cli("report", "--roundtrip", "--roundtrip-from", "x"), "report", "usage error", ExitCode.INPUT)


# --- init, new, db ----------------------------------------------------------------------------

def test_init_and_new(tmp_path):
    made = contract(run_cli("init", "--json", "--project", str(tmp_path / "p")), "init", "ok", ExitCode.OK)
    assert any(p.endswith("pgshift.toml") for p in made["created"])
    (tmp_path / "file").write_text("")
    in_a_file = run_cli("init", "--json", "--project", str(tmp_path / "file" / "p"))
    contract(in_a_file, "init", "cannot create", in_a_file.code)
    assert in_a_file.code != ExitCode.OK
    new = contract(run_cli("new", "add_thing", "--json", "--project", str(tmp_path / "p")), "new", "ok", ExitCode.OK)
    assert len(new["created"]) == 2
    contract(run_cli("new", "Bad-Name", "--json", "--project", str(tmp_path / "p")), "new", "bad name", ExitCode.INPUT)


def test_db(tmp_path):
    root = write_project(tmp_path / "p", {})
    line = ("--json", "--project", str(root))
    stopped = contract(run_cli("db", "status", *line), "db", "stopped", ExitCode.OK)
    assert stopped["running"] is False
    contract(run_cli("db", "url", *line), "db", "url when stopped", ExitCode.INPUT)
    contract(run_cli("db", "list", "--json"), "db", "list", ExitCode.OK, "#/$defs/servers")
    try:
        running = contract(run_cli("db", "start", *line, timeout=300), "db", "started", ExitCode.OK)
        assert running["running"] is True and running["url"]
        contract(run_cli("db", "url", *line), "db", "url", ExitCode.OK)
    finally:
        contract(run_cli("db", "stop", *line, timeout=300), "db", "stopped again", ExitCode.OK)


# --- what no command foresaw ------------------------------------------------------------------

_PLANTED = """
import sys
from pgshift import api
from pgshift.cli import main

def planted(*args, **kwargs):
    raise {exception}

api.status = planted
sys.exit(main(sys.argv[1:]))
"""


def _with_planted(exception: str, *args: str) -> Result:
    proc = subprocess.run([sys.executable, "-c", _PLANTED.format(exception=exception), *args], env=clean_environ(),
                          capture_output=True, text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_usage_errors_and_what_nobody_foresaw(cli):
    contract(run_cli("--json", "nosuch"), None, "no such command", ExitCode.INPUT)
    contract(cli("status", "--bogus"), "status", "usage error", ExitCode.INPUT)
    line = ("status", "--json", "--project", str(cli.root), "--database-url", cli.url)
    bug = contract(_with_planted("RuntimeError('planted')", *line), "status", "an unforeseen exception",
                   ExitCode.FAILED)
    assert bug["error"] == "PgshiftError" and bug["message"] == "unexpected RuntimeError: planted"
    assert bug["details"]["exception"] == "RuntimeError" and "planted" in bug["details"]["where"]
    ctrl_c = contract(_with_planted("KeyboardInterrupt", *line), "status", "interrupted", ExitCode.INTERRUPTED)
    assert ctrl_c["error"] == "Interrupted"


def test_squash(cli):
    dry = contract(cli("squash", "--to", V2, "--dry-run"), "squash", "dry run", ExitCode.OK)
    assert dry["replaced"] == [V1, V2] and dry["archived_to"] is None
    done = contract(cli("squash", "--to", V2), "squash", "written", ExitCode.OK)
    assert done["baseline"] == f"migrations/{V2}_squashed_baseline.sql" and done["archived_to"] == f"squashed/{V2}"
    contract(cli("squash", "--to", "20991231000000"), "squash", "no such version", ExitCode.INPUT)


def test_fleet(cli, tmp_path, pgshift_new_database):
    control = pgshift_new_database("ctl")
    targets = tmp_path / "targets.txt"
    targets.write_text(f"{cli.url} tier=canary\n{pgshift_new_database('f')}\n")
    none = contract(cli("fleet", "status", "--control-url", control), "fleet", "no rollout", ExitCode.INPUT)
    assert none["error"] == "InputError"
    done = contract(cli("fleet", "up", "--targets", str(targets), "--control-url", control, "--stage", "tier=canary"),
                    "fleet", "applied", ExitCode.OK)
    assert done["ok"] and done["applied"] == 2 and done["status"]["converged"]
    status = contract(cli("fleet", "status", "--control-url", control), "fleet", "converged", ExitCode.OK,
                      "#/$defs/status")
    assert status["versions"] == {V2: 2} and status["counts"]["done"] == 2
    drift = contract(cli("fleet", "status", "--drift", "--control-url", control), "fleet", "drift checked",
                     ExitCode.OK, "#/$defs/status")
    assert drift["drifted"] == [] and drift["converged"]
    (cli.root / "migrations" / "20250101000003_c.sql").write_text("CREATE TABLE a (id int);\n")   # fails
    failed = contract(cli("fleet", "up", "--targets", str(targets), "--control-url", control), "fleet", "failed",
                      ExitCode.FAILED)
    assert not failed["ok"] and failed["failed"][0]["error"] and failed["stopped"]
    status = contract(cli("fleet", "status", "--control-url", control), "fleet", "not converged", ExitCode.FAILED,
                      "#/$defs/status")
    assert status["state"] == "stopped" and status["failed"] and not status["converged"]
    contract(cli("fleet", "up", "--control-url", control), "fleet", "no targets", ExitCode.INPUT)
