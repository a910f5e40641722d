"""init, new, db, global options, output modes."""
from __future__ import annotations

import json

from conftest import run_cli, scalar


def test_init_new_and_up_on_the_embedded_server(tmp_path):
    root = tmp_path / "fresh"
    env = {}
    init = run_cli("init", "--project", str(root))
    assert init.code == 0, init.all
    assert (root / "pgshift.toml").is_file() and (root / "migrations" / "rollbacks").is_dir()
    assert ".pgshift/" in (root / ".gitignore").read_text()
    for template in ("schema", "index", "data", "blank"):
        made = run_cli("new", f"step_{template}", "--template", template, "--project", str(root))
        assert made.code == 0, made.all
    names = sorted(p.name for p in (root / "migrations").glob("*.sql"))
    assert len(names) == 4 and len({n[:14] for n in names}) == 4      # distinct versions, even in one second
    assert len(list((root / "migrations" / "rollbacks").glob("*_rollback_step_*.sql"))) == 4
    assert "-- Migration: " in (root / "migrations" / names[0]).read_text()
    try:
        up = run_cli("up", "--project", str(root), env=env, timeout=180)
        assert up.code == 0, up.all
        assert "applied 4 migration(s)" in up.out
        url = run_cli("db", "url", "--project", str(root))
        assert url.code == 0 and url.out.startswith("postgresql://")
        assert scalar(url.out.strip(), "SELECT count(*) FROM pgshift.migration_log WHERE status = 'completed'") == 4
        state = json.loads(run_cli("--json", "db", "status", "--project", str(root)).out)
        assert state["running"] is True and state["pgdata"].endswith(".pgshift/pgdata")
        down = run_cli("down", "--steps", "4", "--yes", "--project", str(root), env=env)
        # the stubs of templates that cannot know the undo hold no statement: refused, nothing rolled back
        assert down.code == 2 and "2 rollback files have no SQL statement" in down.err, down.all
        assert scalar(url.out.strip(), "SELECT count(*) FROM pgshift.migration_log") == 4
        for stub in (root / "migrations" / "rollbacks").glob("*.sql"):
            if "rollback_step_blank" in stub.name or "rollback_step_data" in stub.name:
                stub.write_text(stub.read_text() + "SELECT 1;\n")
        down = run_cli("down", "--steps", "4", "--yes", "--project", str(root), env=env)
        assert down.code == 0, down.all
    finally:
        stop = run_cli("db", "stop", "--project", str(root))
    assert stop.code == 0 and "stopped" in stop.out
    assert json.loads(run_cli("db", "status", "--json", "--project", str(root)).out)["running"] is False


def test_new_refuses_bad_names_and_needs_a_folder(tmp_path):
    assert run_cli("init", "--project", str(tmp_path)).code == 0
    bad = run_cli("new", "Add-Things", "--project", str(tmp_path))
    assert bad.code == 2 and "bad migration name" in bad.err
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = run_cli("new", "x", "--project", str(empty))
    assert missing.code == 2 and "pgshift init" in missing.err


def test_global_options_before_or_after_the_command(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n"})
    before = run_cli("--json", "--project", str(root), "--database-url", pgshift_database_url, "status")
    after = run_cli("status", "--json", "--project", str(root), "--database-url", pgshift_database_url)
    assert before.code == after.code == 0
    assert json.loads(before.out) == json.loads(after.out)


def test_up_json_result_and_quiet(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id bigint PRIMARY KEY);\n",
                    "rollbacks/20250101000001_rollback.sql": "DROP TABLE a;\n"})
    result = run_cli("up", "--json", "-q", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    data = json.loads(result.out)
    assert data["result"]["ok"] is True
    assert data["result"]["steps"][0]["version"] == "20250101000001"
    assert data["result"]["steps"][0]["status"] == "completed"
    assert result.err == ""          # quiet: nothing but warnings and errors


def test_errors_as_json(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int;\n"})
    result = run_cli("up", "--json", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    data = json.loads(result.out)
    assert data["exit_code"] == 2 and data["location"] == "migrations/20250101000001_a.sql:1:23"


def test_no_color_and_not_a_terminal_prints_plain_lines(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert "\x1b[" not in result.all
    assert "migrate migrations/20250101000001_a.sql (transaction, 1 statements)" in result.err


def test_verbose_shows_every_statement(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n"})
    result = run_cli("-v", "up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0
    assert "migrations/20250101000001_a.sql:2:1: CREATE TABLE b (id int)" in result.err


def test_a_connection_from_libpq_variables_alone_is_named_without_its_password(project, pgshift_database_url):
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(pgshift_database_url)
    env = {"PGHOST": params["host"], "PGUSER": params["user"], "PGDATABASE": params["dbname"],
           "PGPASSWORD": "Sup3rSecretPw"}
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n"})
    port = scalar(pgshift_database_url, "SELECT current_setting('port')")
    shown = f"host={params['host']} port={port} user={params['user']} dbname={params['dbname']} (libpq environment)"
    up = run_cli("--json", "up", "--project", str(root), env=env)
    assert up.code == 0, up.all
    assert json.loads(up.out)["database"] == shown
    status = run_cli("status", "--project", str(root), env=env)
    assert status.code == 0, status.all
    assert status.out.splitlines()[-1] == f"{shown} · ledger pgshift.migration_log · 1 applied"
    assert json.loads(run_cli("--json", "status", "--project", str(root), env=env).out)["database"] == shown
    check = run_cli("--json", "check", "--project", str(root), env=env)
    assert json.loads(check.out)["database"] == shown, check.all
    assert "Sup3rSecretPw" not in up.all + status.all + check.all


def test_new_refuses_a_name_too_long_for_its_rollback_file(tmp_path):
    assert run_cli("init", "--project", str(tmp_path)).code == 0
    for name in ("a" * 300, "a" * 228):   # 228: the migration's name fits, its rollback's does not
        result = run_cli("new", name, "--project", str(tmp_path))
        assert result.code == 2, result.all
        assert f"migration name too long: {len(name)} characters, at most 227" in result.err
        assert "Traceback" not in result.all
    assert list((tmp_path / "migrations").rglob("*.sql")) == []
    longest = run_cli("new", "a" * 227, "--project", str(tmp_path))
    assert longest.code == 0, longest.all
    assert len(list((tmp_path / "migrations").rglob("*.sql"))) == 2


def test_new_never_leaves_a_migration_without_its_rollback(tmp_path):
    assert run_cli("init", "--project", str(tmp_path)).code == 0
    (tmp_path / "migrations" / "rollbacks").rmdir()
    (tmp_path / "migrations" / "rollbacks").write_text("a file where the rollbacks folder should be\n")
    result = run_cli("new", "add_things", "--project", str(tmp_path))
    assert result.code == 2, result.all
    assert "cannot create" in result.err and "rollbacks" in result.err and "Traceback" not in result.all
    assert list((tmp_path / "migrations").glob("*.sql")) == []   # the migration written first was removed


def test_the_rollback_prompt_on_a_terminal_is_not_redrawn_and_has_no_ansi(project, pgshift_database_url):
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n",
                    "rollbacks/20250101000001_rollback_a.sql": "DROP TABLE a;\n"})
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k not in ("DATABASE_URL", "NO_COLOR")}
    proc = subprocess.Popen([sys.executable, "-m", "pgshift", "--no-color", "rollback", "20250101000001",
                             "--project", str(root), "--database-url", url],
                            stdin=child, stdout=child, stderr=child, env={**env, "TERM": "xterm"})
    os.close(child)
    seen = b""

    def read_for(seconds: float) -> bytes:
        got = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([main], [], [], 0.05)[0]:
                try:
                    chunk = os.read(main, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                got += chunk
        return got

    try:
        deadline = time.monotonic() + 30
        while b"to continue: " not in seen:
            assert time.monotonic() < deadline, seen
            seen += read_for(0.1)
        prompt_line = seen[seen.rindex(b"About to"):]
        assert b"\x1b" not in prompt_line, prompt_line          # no styling, no cursor moves
        assert read_for(0.6) == b""                              # nothing redraws the line being typed on
        os.write(main, b"ROLLBACK\n")
        seen += read_for(5)
        assert proc.wait(timeout=30) == 0, seen
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    assert b"rolled back 1 version(s)" in seen
    assert scalar(url, "SELECT to_regclass('a')") is None
