"""`up`, `status`, `verify`, `baseline` through the library, in-process, against a real server.
What only the command line shows (its output, its exit codes) is in tests/e2e/test_cli_up.py."""
from __future__ import annotations

from conftest import (
    applied,
    call,
    catalog_fingerprint,
    ledger_rows,
    query,
    scalar,
    states,
    up,
    up_fails,
)
from pgshift import api

THREE = {
    "20250101000001_create_customers.sql": """
        -- Migration: 20250101000001_create_customers.sql
        -- Description: Customers table
        CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
        INSERT INTO customers (name) VALUES ('a'), ('b');
    """,
    "20250101000002_add_email.sql": """
        ALTER TABLE customers ADD COLUMN email text;
    """,
    "20250101000003_create_orders.sql": """
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));
        CREATE INDEX orders_customer_idx ON orders (customer_id);
    """,
}


def test_up_applies_in_version_order_then_nothing(project, pgshift_database_url):
    root = project(THREE)
    first, _ = up(root, pgshift_database_url)
    assert applied(first) == 3
    rows = ledger_rows(pgshift_database_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("20250101000001", "migrate", "completed"),
        ("20250101000002", "migrate", "completed"),
        ("20250101000003", "migrate", "completed"),
    ]
    assert scalar(pgshift_database_url, "SELECT count(*) FROM customers") == 2
    assert scalar(pgshift_database_url, "SELECT description FROM pgshift.migration_log WHERE version = "
                                        "'20250101000001'") == "Customers table"

    second, _ = up(root, pgshift_database_url)
    assert second.plan.empty and applied(second) == 0
    assert len(ledger_rows(pgshift_database_url)) == 3

    status, _ = call(api.status, root, pgshift_database_url)
    assert [(v.version, v.state) for v in status.states] == [
        ("20250101000001", "applied"), ("20250101000002", "applied"), ("20250101000003", "applied")]
    assert all(v.file_checksum == v.recorded_checksum for v in status.states)


def test_target_and_dry_run(project, pgshift_database_url):
    root = project(THREE)
    before = catalog_fingerprint(pgshift_database_url)
    dry, _ = up(root, pgshift_database_url, dry_run=True)
    assert dry.run is None
    assert [s.version for s in dry.plan.steps] == ["20250101000001", "20250101000002", "20250101000003"]
    assert [s.mode for s in dry.plan.steps] == ["transaction"] * 3
    assert catalog_fingerprint(pgshift_database_url) == before  # not even the ledger

    up(root, pgshift_database_url, target="20250101000002")
    assert list(states(root, pgshift_database_url).values()) == ["applied", "applied", "pending"]
    assert scalar(pgshift_database_url, "SELECT to_regclass('orders')") is None


def test_syntax_error_in_third_file_applies_nothing(project, pgshift_database_url):
    files = dict(THREE)
    files["20250101000003_create_orders.sql"] = "CREATE TABLE orders (id bigint PRIMARY KEY);\nCREAT INDEX x ON orders (id);\n"
    root = project(files)
    before = catalog_fingerprint(pgshift_database_url)
    err, _ = up_fails(2, root, pgshift_database_url)
    assert str(err).startswith("migrations/20250101000003_create_orders.sql:2:1: syntax error")
    assert "CREAT INDEX" in err.context and "^" in err.context
    assert catalog_fingerprint(pgshift_database_url) == before


def test_target_still_parses_every_pending_file(project, pgshift_database_url):
    """A syntax error in a pending file after --target stops the run before anything is applied
    (and the dry run says the same); once it is fixed, --target applies only up to its version."""
    files = dict(THREE)
    files["20250101000003_create_orders.sql"] = "CREATE TABLE orders (id bigint);\nCREAT INDEX x ON orders (id);\n"
    root = project(files)
    before = catalog_fingerprint(pgshift_database_url)
    for dry_run in (False, True):
        err, _ = up_fails(2, root, pgshift_database_url, target="20250101000002", dry_run=dry_run)
        assert str(err).startswith("migrations/20250101000003_create_orders.sql:2:1: syntax error")
        assert catalog_fingerprint(pgshift_database_url) == before

    (root / "migrations" / "20250101000003_create_orders.sql").write_text("CREATE TABLE orders (id bigint);\n")
    dry, _ = up(root, pgshift_database_url, target="20250101000002", dry_run=True)
    assert [s.version for s in dry.plan.steps] == ["20250101000001", "20250101000002"]
    up(root, pgshift_database_url, target="20250101000002")
    assert [r[0] for r in ledger_rows(pgshift_database_url)] == ["20250101000001", "20250101000002"]
    assert scalar(pgshift_database_url, "SELECT to_regclass('orders')") is None


def test_runtime_error_mid_file_rolls_back_that_file_only(project, pgshift_database_url):
    files = dict(THREE)
    files["20250101000002_add_email.sql"] = (
        "ALTER TABLE customers ADD COLUMN email text;\n"
        "UPDATE customers SET email = name || '@example.com';\n"
        "ALTER TABLE customers ADD CONSTRAINT one CHECK (email = 'x');\n"
        "CREATE TABLE never (id int);\n")
    root = project(files)
    err, _ = up_fails(1, root, pgshift_database_url)
    assert str(err).startswith("migrations/20250101000002_add_email.sql:3:1: statement 3 of 4 failed")
    assert "check constraint" in err.message
    assert "ALTER TABLE customers ADD CONSTRAINT one" in err.context
    # the first file stays, the second is wholly rolled back, the third never ran
    assert scalar(pgshift_database_url, "SELECT count(*) FROM customers") == 2
    cols = [r[0] for r in query(pgshift_database_url, "SELECT attname FROM pg_attribute WHERE attrelid = "
                                                      "'customers'::regclass AND attnum > 0 AND NOT attisdropped")]
    assert "email" not in cols
    assert scalar(pgshift_database_url, "SELECT to_regclass('never')") is None
    rows = ledger_rows(pgshift_database_url)
    assert [(r[0], r[2]) for r in rows] == [("20250101000001", "completed"), ("20250101000002", "failed")]
    assert "check constraint" in rows[1][4]
    assert list(states(root, pgshift_database_url).values()) == ["applied", "failed", "pending"]


def test_error_position_points_into_the_file(project, pgshift_database_url):
    root = project({"20250101000001_x.sql": "CREATE TABLE t (id int);\n\nSELECT id,\n       nope\nFROM t;\n"})
    err, _ = up_fails(1, root, pgshift_database_url)
    assert str(err).startswith("migrations/20250101000001_x.sql:4:8: statement 2 of 2 failed: "
                               "column \"nope\" does not exist")
    assert "    4 |        nope\n      |        ^" in err.context


def test_edited_applied_file(project, pgshift_database_url):
    root = project(THREE)
    up(root, pgshift_database_url)
    path = root / "migrations" / "20250101000002_add_email.sql"
    path.write_text(path.read_text() + "-- an edit\n")
    verify, _ = call(api.verify, root, pgshift_database_url)
    assert not verify.ok
    assert [s.file for s in verify.changed] == ["migrations/20250101000002_add_email.sql"]
    (root / "migrations" / "20250101000004_more.sql").write_text("CREATE TABLE more (id int);\n")
    err, _ = up_fails(2, root, pgshift_database_url)
    assert "changed since they were applied" in err.message and "--allow-changed" in err.hint
    assert scalar(pgshift_database_url, "SELECT to_regclass('more')") is None
    up(root, pgshift_database_url, allow_changed=True)
    assert scalar(pgshift_database_url, "SELECT to_regclass('more')") is not None


def test_line_endings_do_not_change_the_checksum(project, pgshift_database_url):
    root = project(THREE)
    up(root, pgshift_database_url)
    path = root / "migrations" / "20250101000001_create_customers.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert call(api.verify, root, pgshift_database_url)[0].ok


def test_out_of_order_version(project, pgshift_database_url):
    root = project(THREE)
    up(root, pgshift_database_url)
    (root / "migrations" / "20250101000000_from_a_branch.sql").write_text("CREATE TABLE branch (id int);\n")
    assert states(root, pgshift_database_url)["20250101000000"] == "out_of_order"
    err, _ = up_fails(2, root, pgshift_database_url)
    assert "migrations/20250101000000_from_a_branch.sql" in err.message and "--out-of-order" in err.hint
    assert scalar(pgshift_database_url, "SELECT to_regclass('branch')") is None
    up(root, pgshift_database_url, out_of_order=True)
    assert scalar(pgshift_database_url, "SELECT to_regclass('branch')") is not None


def test_baseline_records_without_running(project, pgshift_database_url):
    root = project(THREE)
    result, _ = call(api.baseline, root, pgshift_database_url, "20250101000002")
    assert result.versions == ("20250101000001", "20250101000002")
    assert scalar(pgshift_database_url, "SELECT to_regclass('customers')") is None
    rows = ledger_rows(pgshift_database_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [("20250101000001", "baseline", "completed"),
                                                  ("20250101000002", "baseline", "completed")]
    # the third needs the first two's tables, which a baseline says exist: create them as the real DB would have
    query(pgshift_database_url, "CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text)")
    result, _ = up(root, pgshift_database_url)
    assert applied(result) == 1


def test_concurrent_index_file_runs_outside_a_transaction(project, pgshift_database_url):
    root = project({
        "20250101000001_t.sql": "CREATE TABLE t (id int, v int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;\n",
        "20250101000002_idx.sql": "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n",
    })
    result, _ = up(root, pgshift_database_url)
    step = result.plan.steps[1]
    assert step.mode == "no-transaction"
    assert "CREATE INDEX CONCURRENTLY" in step.parsed.mode_reason
    assert scalar(pgshift_database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_idx'::regclass")


def test_invalid_index_from_failed_build_is_dropped_before_retry(project, pgshift_database_url):
    # duplicate values make a concurrent UNIQUE build fail and leave an INVALID index behind
    root = project({
        "20250101000001_t.sql": "CREATE TABLE t (id int, v int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n",
        "20250101000002_idx.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_key ON t (v);\n",
    })
    err, _ = up_fails(1, root, pgshift_database_url)
    assert "could not create unique index" in err.message
    assert scalar(pgshift_database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass") is False
    query(pgshift_database_url, "UPDATE t SET v = 2 WHERE id = 2")
    _, events = up(root, pgshift_database_url)
    assert "INVALID" in events.text and "dropping it" in events.text
    assert scalar(pgshift_database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass") is True


def test_a_failed_concurrent_build_says_it_left_an_invalid_index(project, pgshift_database_url):
    root = project({
        "20250101000001_t.sql": "CREATE TABLE t (id int, v int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n",
        "20250101000002_idx.sql": "CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v);\n",
    })
    err, _ = up_fails(1, root, pgshift_database_url)
    assert str(err).startswith("migrations/20250101000002_idx.sql:1:1: statement 1 of 1 failed: "
                               "could not create unique index")
    assert ("index t_v_key is left INVALID by the failed concurrent build: the next `pgshift up` drops it "
            "before building it again (to drop it now: DROP INDEX CONCURRENTLY t_v_key;)") in err.hint
    again, _ = up_fails(1, root, pgshift_database_url)
    assert again.details["invalid_index"] == "t_v_key"
    # a build that fails before creating its index leaves none, and says nothing about one
    query(pgshift_database_url, "DROP INDEX t_v_key")
    (root / "migrations" / "20250101000002_idx.sql").write_text("CREATE INDEX CONCURRENTLY t_w_idx ON t (w);\n")
    other, events = up_fails(1, root, pgshift_database_url)
    assert 'column "w" does not exist' in other.message
    assert "INVALID" not in f"{other}\n{other.hint}\n{events.text}" and "invalid_index" not in other.details


def test_no_transaction_file_resumes_after_last_completed_statement(project, pgshift_database_url):
    root = project({
        "20250101000001_steps.sql": """
            -- pgshift:no-transaction
            CREATE TABLE a (id int);
            INSERT INTO a VALUES (1);
            INSERT INTO needed_later VALUES (1);
            CREATE TABLE b (id int);
        """,
    })
    err, _ = up_fails(1, root, pgshift_database_url)
    assert str(err).startswith("migrations/20250101000001_steps.sql:4:13")
    assert "statements before it stay applied" in err.hint
    assert ledger_rows(pgshift_database_url)[-1][2:4] == ("failed", 2)
    query(pgshift_database_url, "CREATE TABLE needed_later (id int)")
    _, events = up(root, pgshift_database_url)
    assert "resuming" in events.text and "after statement 2 of 4" in events.text
    # statement 1 and 2 did not run twice: one row in a, and CREATE TABLE a did not fail
    assert scalar(pgshift_database_url, "SELECT count(*) FROM a") == 1
    assert scalar(pgshift_database_url, "SELECT to_regclass('b')") is not None
    assert [r[2] for r in ledger_rows(pgshift_database_url)] == ["failed", "completed"]


def test_a_changed_interrupted_no_transaction_file_resumes_after_the_statements_that_ran(project, pgshift_database_url):
    root = project({"20250101000001_steps.sql": "-- pgshift:no-transaction\nCREATE TABLE IF NOT EXISTS a (id int);\n"
                                                "INSERT INTO missing VALUES (1);\n"})
    up_fails(1, root, pgshift_database_url)
    (root / "migrations" / "20250101000001_steps.sql").write_text(
        "-- pgshift:no-transaction\nCREATE TABLE IF NOT EXISTS a (id int);\nINSERT INTO a VALUES (1);\n")
    _, events = up(root, pgshift_database_url)
    assert "changed since its interrupted run" in events.text
    assert scalar(pgshift_database_url, "SELECT count(*) FROM a") == 1


def test_own_transaction_file_runs_as_written(project, pgshift_database_url):
    root = project({
        "20250101000001_own.sql": """
            BEGIN;
            CREATE TABLE a (id int);
            COMMIT;
            BEGIN;
            CREATE TABLE b (id int);
            INSERT INTO b VALUES (1);
            COMMIT;
            SELECT count(*) FROM b;
        """,
    })
    result, _ = up(root, pgshift_database_url)
    assert result.plan.steps[0].mode == "own-transaction"
    assert scalar(pgshift_database_url, "SELECT count(*) FROM b") == 1
    assert ledger_rows(pgshift_database_url)[-1][2:4] == ("completed", 8)


def test_own_transaction_failure_resumes_at_the_failed_block(project, pgshift_database_url):
    text = """
        BEGIN;
        CREATE TABLE a (id int);
        COMMIT;
        BEGIN;
        CREATE TABLE b (id int);
        INSERT INTO c VALUES (1);
        COMMIT;
    """
    root = project({"20250101000001_own.sql": text})
    up_fails(1, root, pgshift_database_url)
    assert scalar(pgshift_database_url, "SELECT to_regclass('a')") is not None
    assert scalar(pgshift_database_url, "SELECT to_regclass('b')") is None  # its block rolled back
    assert ledger_rows(pgshift_database_url)[-1][2:4] == ("failed", 3)
    query(pgshift_database_url, "CREATE TABLE c (id int)")
    up(root, pgshift_database_url)
    assert scalar(pgshift_database_url, "SELECT count(*) FROM c") == 1


def test_a_files_session_settings_do_not_leak_into_the_next_file(project, pgshift_database_url):
    root = project({
        "20250101000001_elsewhere.sql": "CREATE SCHEMA elsewhere;\nSET search_path = elsewhere;\nCREATE TABLE a (id int);\n",
        "20250101000002_plain.sql": "CREATE TABLE b (id int);\n",
    })
    up(root, pgshift_database_url, lock_timeout=3.0)
    assert scalar(pgshift_database_url, "SELECT to_regclass('elsewhere.a')") is not None
    # the second file ran with the session's own search_path, as it would in a psql session of its own
    assert scalar(pgshift_database_url, "SELECT to_regclass('public.b')") is not None
    assert scalar(pgshift_database_url, "SELECT to_regclass('elsewhere.b')") is None


def test_a_file_that_leaves_its_transaction_open_is_rolled_back_not_committed(project, pgshift_database_url):
    root = project({"20250101000001_open.sql": "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\n"})
    err, _ = up_fails(1, root, pgshift_database_url)
    assert "ends inside a transaction it opened (BEGIN without COMMIT)" in err.message
    assert str(err).startswith("migrations/20250101000001_open.sql:5:1")
    assert scalar(pgshift_database_url, "SELECT to_regclass('a')") is not None
    assert scalar(pgshift_database_url, "SELECT to_regclass('b')") is None
    assert ledger_rows(pgshift_database_url)[-1][2:4] == ("failed", 3)


def test_creating_the_ledgers_schema_says_pgshift_made_it(project, pgshift_database_url):
    root = project({"20250101000001_shared.sql": "CREATE SCHEMA shared;\nCREATE TABLE shared.t (id int);\n"},
                   config='[pgshift]\nledger = "shared.migration_log"\n[env.dev]\n')
    err, _ = up_fails(1, root, pgshift_database_url)
    assert str(err).startswith("migrations/20250101000001_shared.sql:1:1")
    assert "write CREATE SCHEMA IF NOT EXISTS shared" in err.hint
    assert scalar(pgshift_database_url, "SELECT to_regclass('shared.t')") is None


def test_sql_files_in_a_subfolder_are_named_not_silently_skipped(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n",
                    "2025/20250101000002_b.sql": "CREATE TABLE b (id int);\n"})
    _, events = up(root, pgshift_database_url)
    assert "migrations/2025/ holds .sql files that pgshift does not read" in events.text
    _, events = call(api.status, root, pgshift_database_url)
    assert "migrations/2025/ holds .sql files" in events.text
