"""A stepwise file (no-transaction, its own BEGIN/COMMIT, batched) that failed, was edited and is run
again: it resumes where it stopped when the statements that ran are unchanged, and is refused before
anything runs when they are not; the ledger never forgets what was applied."""
from __future__ import annotations

import json

from conftest import ledger_rows, query, scalar, up, up_fails

FILE = "20250101000001_x.sql"
FAILS = "-- pgshift:no-transaction\nCREATE TABLE a(id int);\nSELECT nosuch;\nCREATE TABLE b(id int);\n"


def _write(root, text, name=FILE):
    (root / "migrations" / name).write_text(text)


def test_a_fixed_failed_statement_resumes_at_it(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({FILE: FAILS})
    failed, _ = up_fails(1, root, url)
    assert str(failed).startswith(f"migrations/{FILE}:3:8")
    assert "a rerun resumes at this one, after you fix it" in failed.hint
    assert ledger_rows(url)[-1][2:4] == ("failed", 1)
    _write(root, FAILS.replace("nosuch", "1"))
    _, again = up(root, url)
    assert "changed since its interrupted run" in again.text and "resumes at statement 2" in again.text
    assert "resuming migrations/20250101000001_x.sql after statement 1 of 3" in again.text
    assert scalar(url, "SELECT to_regclass('b')") is not None
    assert [r[2:4] for r in ledger_rows(url)] == [("failed", 1), ("completed", 3)]


def test_a_changed_statement_that_ran_is_refused_and_the_progress_kept(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({FILE: FAILS})
    up_fails(1, root, url)
    before = ledger_rows(url)
    _write(root, FAILS.replace("a(id int)", "a(id bigint)").replace("nosuch", "1"))
    refused, _ = up_fails(2, root, url)
    assert str(refused).startswith(f"migrations/{FILE}:2:1: statement 1 of migrations/{FILE} changed after it ran")
    assert "statement 1 already ran" in refused.hint and "--allow-changed" in refused.hint
    assert ledger_rows(url) == before   # no event, so nothing says 0 statements were done
    assert scalar(url, "SELECT to_regclass('b')") is None
    # the statement that ran put back as it was: the rerun resumes after it
    _write(root, FAILS.replace("nosuch", "1"))
    _, again = up(root, url)
    assert "after statement 1 of 3" in again.text
    assert [r[2:4] for r in ledger_rows(url)] == [("failed", 1), ("completed", 3)]


def test_a_failed_rerun_of_an_edited_file_keeps_the_statements_that_ran(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({FILE: FAILS})
    up_fails(1, root, url)
    _write(root, FAILS.replace("nosuch", "still_nosuch"))   # edited, still failing at the same statement
    second, _ = up_fails(1, root, url)
    assert 'column "still_nosuch" does not exist' in second.message
    assert [r[2:4] for r in ledger_rows(url)] == [("failed", 1), ("failed", 1)]
    _write(root, FAILS)                                      # back to the original: resumes too
    third, events = up_fails(1, root, url)
    assert "after statement 1 of 3" in events.text and 'column "nosuch"' in third.message
    assert ledger_rows(url)[-1][2:4] == ("failed", 1)


def test_allow_changed_runs_a_rerunnable_edited_file_from_the_start(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({FILE: FAILS})
    up_fails(1, root, url)
    _write(root, "-- pgshift:no-transaction\nCREATE TABLE IF NOT EXISTS a(id int, v int);\nALTER TABLE a ADD COLUMN "
                 "IF NOT EXISTS v int;\nCREATE TABLE b(id int);\n")
    up_fails(2, root, url)
    _, allowed = up(root, url, allow_changed=True)
    assert "runs again from its first statement" in allowed.text
    assert scalar(url, "SELECT count(*) FROM information_schema.columns "
                       "WHERE table_name = 'a' AND column_name = 'v'") == 1
    last = query(url, "SELECT status, statements_done, details -> 'previous_run' ->> 'statements_done' "
                      "FROM pgshift.migration_log ORDER BY id DESC LIMIT 1")[0]
    assert last == ("completed", 3, "1")


def test_a_failed_commit_of_the_files_own_transaction_says_what_stays_applied(project, pgshift_database_url):
    url = pgshift_database_url
    text = """
        CREATE TABLE parent (id int PRIMARY KEY);
        CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);
        BEGIN;
        INSERT INTO child VALUES (1);
        COMMIT;
        CREATE TABLE after_commit (id int);
    """
    root = project({FILE: text})
    failed, events = up_fails(1, root, url)
    assert "its COMMIT failed, so the file's own transaction (BEGIN at line 3) was rolled back" in failed.hint
    assert "statements 3-5 are not applied" in failed.hint
    assert "the 2 statement(s) committed before that BEGIN stay applied" in failed.hint
    assert "a rerun resumes at that BEGIN (statement 3)" in failed.hint
    assert "statements before it stay applied" not in f"{failed}\n{failed.hint}\n{events.text}"
    assert ledger_rows(url)[-1][2:4] == ("failed", 2)
    assert scalar(url, "SELECT count(*) FROM child") == 0
    query(url, "INSERT INTO parent VALUES (1)")
    _, again = up(root, url)
    assert "after statement 2 of 6" in again.text
    assert scalar(url, "SELECT count(*) FROM child") == 1


def test_an_edited_file_continues_a_batched_statement_only_if_it_is_unchanged(project, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE t (id int PRIMARY KEY, d int NOT NULL, r int)")
    query(url, "INSERT INTO t SELECT i, CASE WHEN i = 55 THEN 0 ELSE 1 END FROM generate_series(1, 100) i")
    batched = "-- pgshift:batch size=10\nUPDATE t SET r = 100 / d WHERE r IS NULL;\n"
    root = project({"20250101000002_fill.sql": batched + "CREATE TABLE done_1 (id int);\n"})
    failed, _ = up_fails(1, root, url)
    assert "division by zero" in failed.message
    assert scalar(url, "SELECT count(*) FROM t WHERE r IS NOT NULL") == 50
    # the data fixed, a later statement edited: the unchanged batched statement continues after batch 5
    query(url, "UPDATE t SET d = 1 WHERE d = 0")
    (root / "migrations" / "20250101000002_fill.sql").write_text(batched + "CREATE TABLE done_2 (id int);\n")
    _, again = up(root, url)
    assert "continuing the batched change after batch 5" in again.text
    details = json.loads(json.dumps(query(url, "SELECT details -> 'batch' FROM pgshift.migration_log "
                                               "ORDER BY id DESC LIMIT 1")[0][0]))
    assert details["rows"] == 100 and details["done"] is True
    assert scalar(url, "SELECT to_regclass('done_2')") is not None


def test_a_changed_batched_statement_runs_again_from_its_first_batch(project, pgshift_database_url):
    url = pgshift_database_url
    query(url, "CREATE TABLE t (id int PRIMARY KEY, d int NOT NULL, r int)")
    query(url, "INSERT INTO t SELECT i, CASE WHEN i = 55 THEN 0 ELSE 1 END FROM generate_series(1, 100) i")
    batched = "-- pgshift:batch size=10\nUPDATE t SET r = 100 / d WHERE r IS NULL;\n"
    root = project({"20250101000002_fill.sql": batched})
    up_fails(1, root, url)
    (root / "migrations" / "20250101000002_fill.sql").write_text(batched.replace("100 / d", "100 / nullif(d, 0)"))
    _, again = up(root, url)
    assert "this batched statement changed since an earlier run committed 5 batch(es) of it (50 rows" in again.text
    assert "continuing the batched change" not in again.text
    assert scalar(url, "SELECT count(*) FROM t WHERE r IS NOT NULL") == 99


def test_an_edited_file_that_now_runs_in_one_transaction_resumes_after_what_ran(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({FILE: FAILS})
    up_fails(1, root, url)
    # no-transaction dropped and the failed statement fixed: the rest runs in one transaction
    _write(root, FAILS.replace("-- pgshift:no-transaction\n", "").replace("nosuch", "1"))
    dry, _ = up(root, url, dry_run=True)
    assert [(s.mode, s.resume_from) for s in dry.plan.steps] == [("transaction", 1)]
    _write(root, FAILS.replace("-- pgshift:no-transaction\n", "").replace("nosuch", "still_nosuch"))
    failed, _ = up_fails(1, root, url)
    assert "its first 1 statement(s), applied by an earlier run, stay applied" in failed.hint
    assert ledger_rows(url)[-1][2:4] == ("failed", 1)
    _write(root, FAILS.replace("-- pgshift:no-transaction\n", "").replace("nosuch", "1"))
    _, again = up(root, url)
    assert "after statement 1 of 3" in again.text
    assert scalar(url, "SELECT to_regclass('b')") is not None
    assert ledger_rows(url)[-1][2:4] == ("completed", 3)
