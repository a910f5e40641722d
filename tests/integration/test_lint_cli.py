"""`pgshift lint` as a user runs it, and lint inside `up`."""
from __future__ import annotations

import json

from conftest import run_cli, scalar

RISKY = {
    "20250101000001_t.sql": "CREATE TABLE t (id bigint PRIMARY KEY, v int);\n",
    "rollbacks/20250101000001_rollback.sql": "DROP TABLE t;\n",
    "20250101000002_idx.sql": "-- a plain index on a table that existed before\nCREATE INDEX t_v_idx ON t (v);\n",
    "rollbacks/20250101000002_rollback.sql": "DROP INDEX t_v_idx;\n",
}


def test_lint_text_exit_code_and_formats(project):
    root = project(RISKY)
    text = run_cli("lint", "--project", str(root))
    assert text.code == 1, text.all
    assert "migrations/20250101000002_idx.sql:2:1  error  require-concurrent-index" in text.out
    assert "CONCURRENTLY" in text.out  # the safe alternative
    github = run_cli("lint", "--format", "github", "--project", str(root))
    assert "::error file=migrations/20250101000002_idx.sql,line=2,col=1" in github.out
    sarif = json.loads(run_cli("lint", "--format", "sarif", "--project", str(root)).out)
    assert sarif["version"] == "2.1.0"
    assert any(r["ruleId"] == "require-concurrent-index" for r in sarif["runs"][0]["results"])
    as_json = json.loads(run_cli("--json", "lint", "--project", str(root)).out)
    assert any(f["rule"] == "require-concurrent-index" and f["line"] == 2 for f in as_json["findings"])


def test_lint_explain_and_list(project):
    root = project(RISKY)
    explain = run_cli("lint", "--explain", "require-concurrent-index", "--project", str(root))
    assert explain.code == 0 and "CONCURRENTLY" in explain.out
    unknown = run_cli("lint", "--explain", "no-such-rule", "--project", str(root))
    assert unknown.code == 2
    as_json = json.loads(run_cli("--json", "lint", "--explain", "require-concurrent-index", "--project", str(root)).out)
    assert as_json["id"] == "require-concurrent-index" and as_json["severity"] == "error"
    assert "CONCURRENTLY" in as_json["doc"]
    assert run_cli("--json", "lint", "--explain", "no-such-rule", "--project", str(root)).code == 2
    listed = json.loads(run_cli("lint", "--list", "--format", "json", "--project", str(root)).out)["rules"]
    assert any(r["id"] == "require-concurrent-index" and r["severity"] == "error" for r in listed)
    assert json.loads(run_cli("lint", "--explain", "set-not-null", "--format", "json", "--project",
                              str(root)).out)["id"] == "set-not-null"
    listing = run_cli("lint", "--list", "--project", str(root))
    assert listing.code == 0 and "require-concurrent-index" in listing.out and "error" in listing.out


def test_ignored_with_a_reason_passes(project):
    files = dict(RISKY)
    files["20250101000002_idx.sql"] = ("-- pgshift:ignore require-concurrent-index  t is tiny and new\n"
                                       "CREATE INDEX t_v_idx ON t (v);\n")
    root = project(files)
    result = run_cli("lint", "--project", str(root))
    assert result.code == 0, result.all


def test_config_disables_and_overrides_severity(project):
    root = project(RISKY, config='[pgshift]\n[env.dev]\n[lint]\nseverity = { require-concurrent-index = "warning" }\n')
    result = run_cli("lint", "--project", str(root))
    assert result.code == 0, result.all
    assert "warning  require-concurrent-index" in result.out


def test_up_prints_findings_but_applies_in_an_unprotected_environment(project, pgshift_database_url):
    root = project(RISKY)
    assert run_cli("up", "--target", "20250101000001", "--project", str(root), "--database-url",
                   pgshift_database_url).code == 0
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert "error  require-concurrent-index" in result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('t_v_idx')") is not None


def test_up_exempts_tables_created_earlier_in_the_same_run(project, pgshift_database_url):
    root = project(RISKY)
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0 and "require-concurrent-index" not in result.err


def test_up_dry_run_lists_findings_in_json(project, pgshift_database_url):
    root = project(RISKY)
    assert run_cli("up", "--target", "20250101000001", "--project", str(root), "--database-url",
                   pgshift_database_url).code == 0
    result = run_cli("--json", "up", "--dry-run", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0
    assert any(f["rule"] == "require-concurrent-index" for f in json.loads(result.out)["findings"])


ENUM = {
    "20250101000001_status.sql": "CREATE TYPE status AS ENUM ('new');\n",
    "rollbacks/20250101000001_rollback.sql": "DROP TYPE status;\n",
    "20250101000002_more.sql": "ALTER TYPE status ADD VALUE 'old';\n",
    "rollbacks/20250101000002_rollback.sql": "SELECT 1;\n",
}


def test_lint_targets_the_environments_postgresql_version(project):
    root = project(ENUM, config='[pgshift]\n[env.dev]\n[env.legacy]\nurl = "postgresql://legacy/db"\n'
                                'target_version = 11\n')
    newest = run_cli("lint", "--project", str(root))
    assert "(PostgreSQL 18)" in newest.out and "enum-add-value" not in newest.out
    legacy = run_cli("lint", "--env", "legacy", "--project", str(root))
    assert "(PostgreSQL 11)" in legacy.out, legacy.all
    assert "migrations/20250101000002_more.sql:1:1  error  enum-add-value" in legacy.out
    flag = run_cli("lint", "--env", "legacy", "--target-version", "13", "--project", str(root))
    assert "(PostgreSQL 13)" in flag.out and "enum-add-value" not in flag.out


def test_up_lints_for_the_environments_version(project, pgshift_database_url):
    root = project(ENUM, config='[pgshift]\n[env.dev]\ntarget_version = 11\n')
    result = run_cli("--json", "up", "--dry-run", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert any(f["rule"] == "enum-add-value" for f in json.loads(result.out)["findings"])


def test_one_file_linted_on_its_own_knows_its_rollback(project):
    root = project({
        "20250101000001_a.sql": "-- pgshift:ignore missing-rollback  reviewed\nCREATE TABLE a (id bigint PRIMARY KEY);\n",
        "20250101000002_b.sql": "CREATE TABLE b (id bigint PRIMARY KEY);\n",
        "rollbacks/20250101000002_rollback.sql": "DROP TABLE b;\n",
    })
    (root / "notes.sql").write_text("-- pgshift:ignore missing-rollback  not a migration\nSELECT 1;\n")
    silenced = run_cli("lint", "--project", str(root), str(root / "migrations" / "20250101000001_a.sql"))
    assert silenced.code == 0 and "unused-ignore" not in silenced.out, silenced.all
    (root / "migrations" / "20250101000001_a.sql").write_text("CREATE TABLE a (id bigint PRIMARY KEY);\n")
    missing = run_cli("lint", "--project", str(root), str(root / "migrations" / "20250101000001_a.sql"))
    assert "migrations/20250101000001_a.sql:1:1  warning  missing-rollback" in missing.out, missing.all
    present = run_cli("lint", "--project", str(root), str(root / "migrations" / "20250101000002_b.sql"))
    assert "missing-rollback" not in present.out, present.all
    unknown = run_cli("lint", "--project", str(root), str(root / "notes.sql"))
    assert unknown.code == 0 and "unused-ignore" not in unknown.out and "missing-rollback" not in unknown.out


def test_an_unknown_rule_in_the_configuration_is_an_error_at_its_line(project):
    root = project(RISKY, config='[pgshift]\n[env.dev]\n[lint]\nseverity = { nope-rule = "error" }\n')
    result = run_cli("lint", "--project", str(root))
    assert result.code == 2
    assert "pgshift.toml:4:14" in result.err and "unknown rule 'nope-rule'" in result.err


def test_up_stops_on_an_unknown_rule_in_the_configuration(project, pgshift_database_url):
    root = project(RISKY, config='[pgshift]\n[env.dev]\n[lint]\ndisable = ["no-such-rule"]\n')
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2 and "pgshift.toml:4:" in result.err and "unknown rule 'no-such-rule'" in result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('t')") is None


def test_lint_without_a_migrations_folder_or_with_a_missing_path(tmp_path):
    (tmp_path / "pgshift.toml").write_text("[pgshift]\n")
    result = run_cli("lint", cwd=tmp_path)
    assert result.code == 2, result.all
    assert "migrations folder migrations does not exist" in result.err and "pgshift init" in result.err
    assert "Traceback" not in result.all
    missing = run_cli("lint", "some/path/that/does/not/exist", cwd=tmp_path)
    assert missing.code == 2 and "does not exist" in missing.err and "Traceback" not in missing.all


def test_findings_name_files_from_where_pgshift_runs(project, tmp_path):
    import subprocess
    import sys

    root = project(RISKY)  # tmp_path/proj
    for fmt, expected in (("github", "::error file=proj/migrations/20250101000002_idx.sql,line=2,col=1"),
                          ("text", "proj/migrations/20250101000002_idx.sql:2:1  error  require-concurrent-index")):
        run = subprocess.run([sys.executable, "-m", "pgshift", "--project", "proj", "lint", "--format", fmt],
                             cwd=tmp_path, capture_output=True, text=True)
        assert run.returncode == 1 and expected in run.stdout, run.stdout + run.stderr
    sarif = subprocess.run([sys.executable, "-m", "pgshift", "--project", str(root), "lint", "--format", "sarif"],
                           cwd=tmp_path, capture_output=True, text=True)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(sarif.stdout)["runs"][0]["results"]}
    assert "proj/migrations/20250101000002_idx.sql" in uris
