"""`--json`: one JSON document on stdout, a result or an error, wherever the option stands on
the line; a command line click cannot take is an error object too, with exit code INPUT."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli, write_project
from pgshift.errors import ConfigError, ExitCode

# schema_version, error, exit_code, message, location, hint, context, details
ERROR_KEYS = {"schema_version", *ConfigError("x").to_dict()}


@pytest.mark.parametrize(("line", "message"), [
    (["--json", "nosuch"], "No such command 'nosuch'."),
    (["nosuch", "--json"], "No such command 'nosuch'."),
    (["--json", "stauts"], "No such command 'stauts'. Did you mean 'status'?"),
    (["--json", "status", "--bogus"], "No such option '--bogus'"),
    (["status", "--bogus", "--json"], "No such option '--bogus'"),
    (["status", "--json", "--bogus"], "No such option '--bogus'"),
    (["new", "--json"], "Missing argument 'NAME'."),
    (["new", "x", "--template", "nope", "--json"], "Invalid value for '--template'"),
    (["up", "--json", "--lock-timeout", "99days"], "not a duration: '99days'"),
    (["up", "--json", "--target"], "Option '--target' requires an argument."),
    (["down", "--steps", "x", "--json"], "'x' is not a valid integer"),
    (["--json", "--database-url", " ", "status"], "is empty: give a connection URL"),
    (["--json"], "Missing command."),
    (["--json", "db", "nosuch"], "No such command 'nosuch'."),
    (["db", "start", "--now", "--json"], "No such option '--now'"),
])
def test_a_usage_error_under_json_is_an_error_object(line, message):
    result = run_cli(*line)
    assert result.code == ExitCode.INPUT, result.all
    error = json.loads(result.out)
    assert set(error) == ERROR_KEYS
    assert error["error"] == "UsageError" and error["exit_code"] == ExitCode.INPUT
    assert message in error["message"]
    assert "Error: " in result.err   # the usage text for a person, on stderr as without --json


def test_a_usage_error_without_json_leaves_stdout_empty():
    result = run_cli("status", "--bogus")
    assert result.code == ExitCode.INPUT and result.out == ""
    assert result.err.startswith("Usage: pgshift status [OPTIONS]\n")
    assert "Error: No such option '--bogus'. Did you mean '--verbose'?" in result.err


def test_a_value_that_looks_like_json_is_not_taken_for_the_option():
    result = run_cli("new", "--description", "--json", "x", "--bogus")   # --json is the description here
    assert result.code == ExitCode.INPUT and result.out == "", result.all


def test_an_error_of_pgshift_under_json_is_its_to_dict(tmp_path):
    result = run_cli("status", "--project", str(tmp_path / "nowhere"), "--json")
    assert result.code == ExitCode.INPUT
    error = json.loads(result.out)
    assert set(error) == ERROR_KEYS
    assert error["error"] == "ConfigError" and error["exit_code"] == ExitCode.INPUT
    assert error["hint"] == "pass --project DIR"
    assert result.err == f"error: project folder {tmp_path / 'nowhere'} does not exist\nhint: pass --project DIR\n"


def test_results_before_or_after_the_command(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", {"20250101000001_a.sql": "CREATE TABLE a (id int);\n"})
    url = ("--project", str(root), "--database-url", pgshift_database_url)
    up = run_cli("up", "--json", "-q", *url)
    assert up.code == ExitCode.OK, up.all
    assert json.loads(up.out)["database"]
    before, after = run_cli("--json", "status", *url), run_cli("status", *url, "--json")
    assert before.code == after.code == ExitCode.OK
    status = json.loads(before.out)
    assert status == json.loads(after.out)
    assert status["schema_version"] == 1
    assert status["counts"]["applied"] == 1
    assert [s["version"] for s in status["versions"]] == ["20250101000001"]
    verified = json.loads(run_cli("verify", *url, "--json").out)
    assert verified["ok"] is True


def test_lint_rules_and_explanations_as_json():
    rules = json.loads(run_cli("--json", "lint", "--list").out)["rules"]
    assert {"id", "severity", "versions", "summary"} <= set(rules[0])
    rule = json.loads(run_cli("lint", "--explain", rules[0]["id"], "--format", "json").out)
    assert rule["id"] == rules[0]["id"]
