"""Repeatable migrations (issue 14, point 4): migrations/repeatable/*.sql, applied after the versioned
ones whenever their checksum changes, each in a transaction with its ledger event."""
from __future__ import annotations

from conftest import call, ledger_rows, scalar, states, up, up_fails
from pgshift import api

FILES = {
    "20250101000001_t.sql": "CREATE TABLE t (id int PRIMARY KEY, name text);\n",
    "repeatable/010_views.sql": "CREATE OR REPLACE VIEW v AS SELECT id FROM t;\n",
    "repeatable/020_functions.sql": "CREATE OR REPLACE FUNCTION t_count() RETURNS bigint LANGUAGE sql "
                                    "AS $$ SELECT count(*) FROM t $$;\n",
}


def _repeatable_rows(url):
    return [(r[0], r[2]) for r in ledger_rows(url) if r[1] == "repeatable"]


def _status(root, url):
    result, _ = call(api.status, root, url)
    return {r.name: r.state for r in result.repeatables}, result


def test_repeatables_run_after_the_versions_and_again_only_when_changed(project, pgshift_database_url):
    url = pgshift_database_url
    root = project(FILES)
    assert _status(root, url)[0] == {"010_views": "pending", "020_functions": "pending"}
    result, events = up(root, url)
    assert [(s.version, s.action) for s in result.run.steps] == [
        ("20250101000001", "migrate"), ("repeatable/010_views", "repeatable"),
        ("repeatable/020_functions", "repeatable")]
    assert "holds .sql files that pgshift does not read" not in events.text
    assert _repeatable_rows(url) == [("repeatable/010_views", "completed"), ("repeatable/020_functions", "completed")]
    repeatables, status = _status(root, url)
    assert repeatables == {"010_views": "applied", "020_functions": "applied"}
    assert [s.version for s in status.states] == ["20250101000001"]     # never mistaken for a version
    assert status.to_dict()["up_to_date"] is True

    # unchanged: not run again
    again, _ = up(root, url)
    assert again.run.steps == ()

    # the view edited: re-applied alone
    (root / "migrations" / "repeatable" / "010_views.sql").write_text(
        "CREATE OR REPLACE VIEW v AS SELECT id, name FROM t;\n")
    assert _status(root, url)[0]["010_views"] == "changed"
    edited, _ = up(root, url)
    assert [s.version for s in edited.run.steps] == ["repeatable/010_views"]
    assert scalar(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'v'") == 2
    assert states(root, url) == {"20250101000001": "applied"}


def test_a_broken_repeatable_fails_at_its_line_with_nothing_half_applied(project, pgshift_database_url):
    url = pgshift_database_url
    root = project(FILES)
    up(root, url)
    before = ledger_rows(url)
    (root / "migrations" / "repeatable" / "010_views.sql").write_text(
        "CREATE OR REPLACE VIEW v AS SELECT id, name FROM t;\n"
        "CREATE OR REPLACE VIEW w AS\n  SELECT nosuch FROM t;\n")
    err, _ = up_fails(1, root, url)
    assert str(err.location) == "migrations/repeatable/010_views.sql:3:10", err.to_dict()
    assert "nosuch" in err.message
    # nothing of the file stays: the first view keeps its one column, the second does not exist
    assert scalar(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'v'") == 1
    assert scalar(url, "SELECT to_regclass('w')") is None
    assert _repeatable_rows(url)[-1] == ("repeatable/010_views", "failed")
    assert len(ledger_rows(url)) == len(before) + 1
    assert _status(root, url)[0]["010_views"] == "failed"

    # fixed: it runs, and only it
    (root / "migrations" / "repeatable" / "010_views.sql").write_text(
        "CREATE OR REPLACE VIEW v AS SELECT id, name FROM t;\n")
    fixed, _ = up(root, url)
    assert [s.version for s in fixed.run.steps] == ["repeatable/010_views"]
    assert _status(root, url)[0] == {"010_views": "applied", "020_functions": "applied"}


def test_a_repeatable_that_cannot_run_in_a_transaction_is_refused_before_anything_runs(project,
                                                                                        pgshift_database_url):
    url = pgshift_database_url
    files = dict(FILES)
    files["repeatable/030_index.sql"] = "CREATE INDEX CONCURRENTLY t_name_idx ON t (name);\n"
    root = project(files)
    err, _ = up_fails(2, root, url)
    assert "cannot run in one transaction" in err.message and str(err.location).endswith("030_index.sql:1:1")
    assert scalar(url, "SELECT to_regclass('t')") is None


def test_status_exit_code_counts_a_changed_repeatable(project, pgshift_database_url):
    from conftest import run_cli

    url = pgshift_database_url
    root = project(FILES)
    up(root, url)
    args = ("status", "--exit-code", "--project", str(root), "--database-url", url)
    assert run_cli(*args).code == 0
    (root / "migrations" / "repeatable" / "010_views.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT id, name FROM t;\n")
    changed = run_cli(*args)
    assert changed.code == 1 and "migrations/repeatable/010_views.sql  changed" in changed.out
