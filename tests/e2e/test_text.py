"""What a person reads on stdout, verb by verb; events and errors go to stderr."""
from __future__ import annotations

from conftest import run_cli, write_project
from pgshift.errors import ExitCode

V1, V2 = "20250101000001", "20250101000002"
FILES = {f"{V1}_a.sql": "CREATE TABLE a (id int);\n", f"rollbacks/{V1}_rollback_a.sql": "DROP TABLE a;\n",
         f"{V2}_b.sql": "CREATE TABLE b (id int);\n", f"rollbacks/{V2}_rollback_b.sql": "DROP TABLE b;\n"}


def test_up_down_and_their_dry_runs(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "p", FILES)

    def cli(*args):
        result = run_cli(*args, "--project", str(root), "--database-url", pgshift_database_url)
        assert result.code == ExitCode.OK, result.all
        return result.out

    assert cli("up", "--dry-run") == "dry run: nothing was changed\n"
    assert cli("up", "--target", V1) == "applied 1 migration(s)\n"
    assert cli("up") == "applied 1 migration(s)\n"
    assert cli("up") == "the database is up to date\n"
    assert cli("down", "--steps", "1", "--dry-run", "--yes") == "dry run: nothing was changed\n"
    assert cli("down", "--steps", "2", "--yes") == "rolled back 2 version(s)\n"
    status = cli("status", "--no-color").splitlines()
    assert status[0].split() == ["version", "name", "state", "applied", "at", "took", "rollback"]
    assert status[-1].endswith("· 2 rolled_back")


def test_init_twice(tmp_path):
    first = run_cli("init", "--project", str(tmp_path / "p"))
    assert first.code == ExitCode.OK and first.out.startswith("created ")
    again = run_cli("init", "--project", str(tmp_path / "p"))
    assert again.code == ExitCode.OK and again.out == "nothing to do: the project is already set up\n"


def test_lint_list_is_a_table():
    result = run_cli("lint", "--list")
    assert result.code == ExitCode.OK
    assert result.out.splitlines()[0].split() == ["rule", "severity", "versions", "summary"]
