"""Bad input: each with its exit code, a message naming the file, and nothing applied."""
from __future__ import annotations

import pytest

from conftest import catalog_fingerprint, run_cli

GOOD = {"20250101000001_ok.sql": "CREATE TABLE ok (id int);\n"}


@pytest.mark.parametrize("name, problem", [
    ("2025010100000_short.sql", "the version has 13 digits"),
    ("202501010000011_long.sql", "the version has 15 digits"),
    ("20250101000002_Upper.sql", "lowercase letters"),
    ("20250101000002_with space.sql", "found ' '"),
    ("20250101000002_shouty.SQL", "the extension must be .sql"),
    ("20250101000002.sql", "needs a name"),
    ("V2__flyway_style.sql", "14-digit version"),
    ("20250101000002_dash-name.sql", "found '-'"),
])
def test_bad_names(project, pgshift_database_url, name, problem):
    files = dict(GOOD)
    files[name] = "CREATE TABLE bad (id int);\n"
    root = project(files)
    before = catalog_fingerprint(pgshift_database_url)
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2, result.all
    assert f"migrations/{name}" in result.err
    assert problem in result.err
    assert catalog_fingerprint(pgshift_database_url) == before


def test_every_bad_name_is_reported_at_once(project, pgshift_database_url):
    root = project({**GOOD, "1_a.sql": "", "20250101000003_B.sql": "", "rollbacks/20250101000009_rollback.sql": ""})
    result = run_cli("status", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    assert "3 problems" in result.err
    for name in ("migrations/1_a.sql", "migrations/20250101000003_B.sql",
                 "migrations/rollbacks/20250101000009_rollback.sql"):
        assert name in result.err


def test_duplicate_versions(project, pgshift_database_url):
    root = project({**GOOD, "20250101000001_again.sql": "CREATE TABLE again (id int);\n"})
    before = catalog_fingerprint(pgshift_database_url)
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    assert "duplicate version 20250101000001" in result.err
    assert "20250101000001_again.sql" in result.err and "20250101000001_ok.sql" in result.err
    assert catalog_fingerprint(pgshift_database_url) == before


def test_orphan_rollback(project, pgshift_database_url):
    root = project({**GOOD, "rollbacks/20250101000005_rollback_gone.sql": "DROP TABLE gone;\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    assert "migrations/rollbacks/20250101000005_rollback_gone.sql" in result.err
    assert "has no migration with version 20250101000005" in result.err


def test_both_rollback_spellings_pair(project, pgshift_database_url):
    root = project({**GOOD, "20250101000002_two.sql": "CREATE TABLE two (id int);\n",
                    "rollbacks/20250101000001_rollback.sql": "DROP TABLE ok;\n",
                    "rollbacks/20250101000002_rollback_two.sql": "DROP TABLE two;\n"})
    import json
    result = run_cli("--json", "status", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert [v["has_rollback"] for v in json.loads(result.out)["versions"]] == [True, True]


def test_unknown_directive(project, pgshift_database_url):
    root = project({**GOOD, "20250101000002_d.sql": "CREATE TABLE d (id int);\n-- pgshift:no-transactoin\nSELECT 1;\n"})
    before = catalog_fingerprint(pgshift_database_url)
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    assert "migrations/20250101000002_d.sql:2:1: unknown directive `pgshift:no-transactoin`" in result.err
    assert "pgshift:no-transaction" in result.err  # the hint lists the real ones
    assert catalog_fingerprint(pgshift_database_url) == before


def test_missing_variable(project, tmp_path):
    config = '[pgshift]\n[env.staging]\nurl = "${STAGING_DATABASE_URL}"\n'
    root = project(GOOD, config=config)
    result = run_cli("--env", "staging", "status", "--project", str(root))
    assert result.code == 2
    assert "environment variable STAGING_DATABASE_URL is not set" in result.err
    assert "pgshift.toml:3:" in result.err


def test_unknown_environment(project):
    root = project(GOOD)
    result = run_cli("status", "--env", "prod", "--project", str(root))
    assert result.code == 2
    assert "environment 'prod' is not configured" in result.err


def test_meta_command_other_than_connect(project, pgshift_database_url):
    root = project({**GOOD, "20250101000002_m.sql": "CREATE TABLE m (id int);\n\\set ON_ERROR_STOP on\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    assert "migrations/20250101000002_m.sql:2:1: psql meta-command `\\set ON_ERROR_STOP on` is not SQL" in result.err


def test_connect_to_another_database_is_refused(project, pgshift_database_url):
    root = project({**GOOD, "20250101000002_m.sql": "\\c other_db;\nCREATE TABLE m (id int);\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    assert "migrations/20250101000002_m.sql:1:1" in result.err and "other_db" in result.err


def test_connect_to_the_current_database_is_skipped_with_a_warning(project, pgshift_database_url):
    from conftest import scalar
    dbname = scalar(pgshift_database_url, "SELECT current_database()")
    root = project({**GOOD, "20250101000002_m.sql": f"\\c {dbname};\nCREATE TABLE m (id int);\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert f"skipped psql meta-command `\\c {dbname};`" in result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('m')") is not None


def test_batch_directive_in_wrong_place(project, pgshift_database_url):
    root = project({**GOOD, "20250101000002_b.sql": "-- pgshift:batch size=10\nCREATE TABLE b (id int);\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2
    assert "20250101000002_b.sql:1:1" in result.err and "UPDATE, DELETE or INSERT" in result.err


def test_bad_usage_is_exit_2(project):
    root = project(GOOD)
    assert run_cli("up", "--lock-timeout", "soon", "--project", str(root)).code == 2
    assert run_cli("frobnicate").code == 2


def _run_unprivileged(*args: str):
    """pgshift bound by file permissions: as root, without the capabilities that override them."""
    import os
    import shutil
    import subprocess
    import sys

    from conftest import Result

    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions cannot be enforced")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    proc = subprocess.run([*prefix, sys.executable, "-m", "pgshift", *args], env=env, capture_output=True,
                          text=True, timeout=120, input="")
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("unreadable", ["20250101000002_secret.sql", "rollbacks/20250101000001_rollback.sql"])
def test_an_unreadable_file_is_named_with_the_reason(project, pgshift_database_url, unreadable):
    root = project({**GOOD, "20250101000002_secret.sql": "CREATE TABLE secret (id int);\n",
                    "rollbacks/20250101000001_rollback.sql": "DROP TABLE ok;\n"})
    (root / "migrations" / unreadable).chmod(0)
    before = catalog_fingerprint(pgshift_database_url)
    for command in (["status"], ["up"], ["up", "--dry-run"], ["verify"], ["lint"]):
        result = _run_unprivileged(*command, "--project", str(root), "--database-url", pgshift_database_url)
        assert result.code == 2, (command, result.all)
        assert f"migrations/{unreadable} cannot be read: Permission denied" in result.err, (command, result.all)
        assert "Traceback" not in result.all and "readable" in result.err
    assert catalog_fingerprint(pgshift_database_url) == before


def test_a_folder_or_a_dangling_symlink_named_like_a_migration(project, pgshift_database_url, tmp_path):
    root = project(GOOD)
    (root / "migrations" / "20250101000002_dangling.sql").symlink_to(tmp_path / "nonexistent.sql")
    (root / "migrations" / "20250101000003_x.sql").mkdir()
    (root / "real.sql").write_text("CREATE TABLE linked (id int);\n")   # inside the project: followed
    (root / "migrations" / "20250101000004_linked.sql").symlink_to(root / "real.sql")
    for command in ("status", "up", "lint"):
        result = run_cli(command, "--project", str(root), "--database-url", pgshift_database_url)
        assert result.code == 2, (command, result.all)
        assert (f"migrations/20250101000002_dangling.sql is a symbolic link to a file that does not exist "
                f"({tmp_path / 'nonexistent.sql'})") in result.err
        assert "migrations/20250101000003_x.sql is a folder, not a file" in result.err
    (root / "migrations" / "20250101000002_dangling.sql").unlink()
    (root / "migrations" / "20250101000003_x.sql").rmdir()
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all  # a symbolic link to a file is a migration like any other
    from conftest import scalar
    assert scalar(pgshift_database_url, "SELECT to_regclass('linked')::text") == "linked"


def test_not_utf8_points_at_the_bad_byte(project, pgshift_database_url):
    root = project(GOOD)
    (root / "migrations" / "20250101000002_l.sql").write_bytes(
        b"CREATE TABLE l(id int);\nCOMMENT ON TABLE l IS 'caf\xe9';\n")
    for command in ("up", "lint"):
        result = run_cli(command, "--project", str(root), "--database-url", pgshift_database_url)
        assert result.code == 2, result.all
        assert "migrations/20250101000002_l.sql:2:27: " in result.err and "is not UTF-8 text" in result.err
        assert "hint: save the file as UTF-8" in result.err


def test_an_empty_database_url_is_a_usage_error(project):
    root = project(GOOD)
    try:
        for args in (["status", "--database-url", ""], ["--database-url=", "up", "--dry-run"]):
            result = run_cli(*args, "--project", str(root))
            assert result.code == 2, result.all
            assert "--database-url" in result.err and "is empty" in result.err
        assert not (root / ".pgshift").exists()  # no embedded server was started
    finally:
        if (root / ".pgshift").exists():
            run_cli("db", "stop", "--project", str(root))
