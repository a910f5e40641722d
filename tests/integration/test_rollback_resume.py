"""An interrupted rollback of a no-transaction file resumes where it stopped, as `up` does: the
statements it completed are not run again."""
from __future__ import annotations

import pytest

from conftest import query, scalar, write_project
from pgshift import api
from pgshift.errors import MigrationFailed

V1 = "20250101000001"
UP = "CREATE INDEX CONCURRENTLY big_idx ON big (id);\nINSERT INTO effects VALUES ('up');\n"
ROLLBACK = ("DROP INDEX CONCURRENTLY big_idx;\nINSERT INTO effects VALUES ('rollback');\n"
            "SELECT no_such_column FROM effects;\n")


def test_a_failed_no_transaction_rollback_resumes_after_its_completed_statements(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE big (id int); CREATE TABLE effects (what text)")
    root = write_project(tmp_path / "proj", {f"{V1}_idx.sql": UP, f"rollbacks/{V1}_rollback_idx.sql": ROLLBACK})
    project = api.open_project(root, database_url=url)
    api.up(project)
    with pytest.raises(MigrationFailed) as err:
        api.rollback(project, V1, api.RollbackOptions(yes=True))
    assert str(err.value).startswith(f"migrations/rollbacks/{V1}_rollback_idx.sql:3:8")
    assert "the 2 statement(s) before it stay applied; a rerun of the rollback resumes at this statement" \
        in err.value.hint
    # fixed: the rerun resumes at statement 3 (a DROP INDEX run again would fail: the index is gone)
    (root / "migrations" / "rollbacks" / f"{V1}_rollback_idx.sql").write_text(
        ROLLBACK.replace("SELECT no_such_column FROM effects;", "SELECT count(*) FROM effects;"))
    result = api.rollback(project, V1, api.RollbackOptions(yes=True))
    assert [s.resumed_from for s in result.run.steps] == [2]
    assert query(url, "SELECT what FROM effects ORDER BY what") == [("rollback",), ("up",)]
    assert [s.state for s in api.status(project).states] == ["rolled_back"]


def test_a_rollback_whose_completed_statements_changed_runs_again_from_the_first(tmp_path, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE big (id int); CREATE TABLE effects (what text)")
    root = write_project(tmp_path / "proj", {f"{V1}_idx.sql": UP, f"rollbacks/{V1}_rollback_idx.sql": ROLLBACK})
    project = api.open_project(root, database_url=url)
    api.up(project)
    with pytest.raises(MigrationFailed):
        api.rollback(project, V1, api.RollbackOptions(yes=True))
    (root / "migrations" / "rollbacks" / f"{V1}_rollback_idx.sql").write_text(
        "DROP INDEX CONCURRENTLY IF EXISTS big_idx;\nDELETE FROM effects;\n")
    result = api.rollback(project, V1, api.RollbackOptions(yes=True))
    assert [s.resumed_from for s in result.run.steps] == [0]
    assert scalar(url, "SELECT count(*) FROM effects") == 0
