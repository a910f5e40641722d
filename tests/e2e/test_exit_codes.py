"""Exit codes by name, as a user's shell sees them: the CLI run as a process (PRODUCT.md section 5)."""
from __future__ import annotations

import json

from conftest import run_cli, write_project
from pgshift.errors import ExitCode

V1 = "20250101000001"
FILES = {f"{V1}_create_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\n",
         f"rollbacks/{V1}_rollback_create_accounts.sql": "DROP TABLE accounts;\n"}
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nodb?connect_timeout=1"


def test_the_names_stand_for_the_documented_numbers():
    assert [int(c) for c in (ExitCode.OK, ExitCode.FAILED, ExitCode.INPUT, ExitCode.REFUSED)] == [0, 1, 2, 3]


def test_ok_applied_and_verified(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", FILES)
    url = ("--project", str(root), "--database-url", pgshift_database_url)
    assert run_cli("up", *url).code == ExitCode.OK
    verified = run_cli("verify", *url)
    assert verified.code == ExitCode.OK, verified.all
    assert "1 applied migration(s) checked: all match" in verified.out


def test_failed_a_changed_file(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", FILES)
    url = ("--project", str(root), "--database-url", pgshift_database_url)
    assert run_cli("up", *url).code == ExitCode.OK
    (root / "migrations" / f"{V1}_create_accounts.sql").write_text("CREATE TABLE accounts (id int);\n")
    verified = run_cli("verify", *url)
    assert verified.code == ExitCode.FAILED, verified.all
    assert "1 mismatch(es)" in verified.out


def test_failed_a_failing_statement_and_a_server_out_of_reach(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", {f"{V1}_broken.sql": "SELECT * FROM no_such_table;\n"})
    up = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert up.code == ExitCode.FAILED, up.all
    assert "error: " in up.err and "no_such_table" in up.err

    away = run_cli("status", "--project", str(root), "--database-url", UNREACHABLE)
    assert away.code == ExitCode.FAILED and away.err.startswith("error: cannot connect"), away.all


def test_failed_lint_errors(tmp_path):
    root = write_project(tmp_path / "p", {f"{V1}_idx.sql": "CREATE INDEX accounts_email ON accounts (email);\n"})
    result = run_cli("lint", "--project", str(root))
    assert result.code == ExitCode.FAILED, result.all
    assert "require-concurrent-index" in result.out


def test_input_bad_names_unknown_environments_and_usage(tmp_path):
    root = write_project(tmp_path / "p", {"1_no_timestamp.sql": "SELECT 1;\n"})
    named = run_cli("status", "--project", str(root), "--database-url", UNREACHABLE)
    assert named.code == ExitCode.INPUT and "error: " in named.err, named.all
    env = run_cli("status", "--env", "nosuch", "--project", str(root))
    assert env.code == ExitCode.INPUT and "hint: add an [env.nosuch] section to pgshift.toml" in env.err, env.all
    for line in (["nosuch"], ["status", "--bogus"], ["new"], ["up", "--lock-timeout", "soon"], []):
        assert run_cli(*line).code == ExitCode.INPUT, line


def test_refused_a_failed_check_and_a_protected_run_without_confirmation(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", FILES)
    check = run_cli("check", "--project", str(root), "--database-url", UNREACHABLE)
    assert check.code == ExitCode.REFUSED, check.all
    assert check.out.startswith("FAIL  connection")

    prod = write_project(tmp_path / "prod", FILES, "[pgshift]\n[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\n")
    refused = run_cli("--json", "--env", "prod", "up", "--project", str(prod), env={"PROD_URL": pgshift_database_url})
    assert refused.code == ExitCode.REFUSED, refused.all
    assert json.loads(refused.out)["exit_code"] == ExitCode.REFUSED
    assert "without confirmation" in refused.err
