"""`pgshift up`, `status`, `verify`, `baseline` end to end against a real server."""
from __future__ import annotations

import json

from conftest import catalog_fingerprint, ledger_rows, query, run_cli, scalar

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
    first = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert first.code == 0, first.all
    assert "applied 3 migration(s)" in first.out
    rows = ledger_rows(pgshift_database_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("20250101000001", "migrate", "completed"),
        ("20250101000002", "migrate", "completed"),
        ("20250101000003", "migrate", "completed"),
    ]
    assert scalar(pgshift_database_url, "SELECT count(*) FROM customers") == 2
    assert scalar(pgshift_database_url, "SELECT description FROM pgshift.migration_log WHERE version = "
                                        "'20250101000001'") == "Customers table"

    second = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert second.code == 0, second.all
    assert "up to date" in second.out
    assert len(ledger_rows(pgshift_database_url)) == 3

    status = run_cli("status", "--json", "--project", str(root), "--database-url", pgshift_database_url)
    assert status.code == 0, status.all
    data = json.loads(status.out)
    assert [(v["version"], v["state"]) for v in data["versions"]] == [
        ("20250101000001", "applied"), ("20250101000002", "applied"), ("20250101000003", "applied")]
    assert all(v["checksum"] == v["recorded_checksum"] for v in data["versions"])


def test_target_and_dry_run(project, pgshift_database_url):
    root = project(THREE)
    before = catalog_fingerprint(pgshift_database_url)
    dry = run_cli("--json", "up", "--dry-run", "--project", str(root), "--database-url", pgshift_database_url)
    assert dry.code == 0, dry.all
    plan = json.loads(dry.out)
    assert plan["dry_run"] is True
    assert [s["version"] for s in plan["plan"]] == ["20250101000001", "20250101000002", "20250101000003"]
    assert [s["mode"] for s in plan["plan"]] == ["transaction"] * 3
    assert catalog_fingerprint(pgshift_database_url) == before  # not even the ledger

    target = run_cli("up", "--target", "20250101000002", "--project", str(root), "--database-url",
                     pgshift_database_url)
    assert target.code == 0, target.all
    status = json.loads(run_cli("status", "--json", "--project", str(root), "--database-url",
                                pgshift_database_url).out)
    assert [v["state"] for v in status["versions"]] == ["applied", "applied", "pending"]
    assert scalar(pgshift_database_url, "SELECT to_regclass('orders')") is None


def test_syntax_error_in_third_file_applies_nothing(project, pgshift_database_url):
    files = dict(THREE)
    files["20250101000003_create_orders.sql"] = "CREATE TABLE orders (id bigint PRIMARY KEY);\nCREAT INDEX x ON orders (id);\n"
    root = project(files)
    before = catalog_fingerprint(pgshift_database_url)
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 2, result.all
    assert "migrations/20250101000003_create_orders.sql:2:1: syntax error" in result.err
    assert "CREAT INDEX" in result.err and "^" in result.err
    assert catalog_fingerprint(pgshift_database_url) == before


def test_target_still_parses_every_pending_file(project, pgshift_database_url):
    """A syntax error in a pending file after --target stops the run before anything is applied
    (and the dry run says the same); once it is fixed, --target applies only up to its version."""
    files = dict(THREE)
    files["20250101000003_create_orders.sql"] = "CREATE TABLE orders (id bigint);\nCREAT INDEX x ON orders (id);\n"
    root = project(files)
    before = catalog_fingerprint(pgshift_database_url)
    for extra in ((), ("--dry-run",)):
        result = run_cli("up", "--target", "20250101000002", *extra, "--project", str(root), "--database-url",
                         pgshift_database_url)
        assert result.code == 2, result.all
        assert "migrations/20250101000003_create_orders.sql:2:1: syntax error" in result.err
        assert catalog_fingerprint(pgshift_database_url) == before

    (root / "migrations" / "20250101000003_create_orders.sql").write_text("CREATE TABLE orders (id bigint);\n")
    dry = run_cli("--json", "up", "--target", "20250101000002", "--dry-run", "--project", str(root),
                  "--database-url", pgshift_database_url)
    assert [s["version"] for s in json.loads(dry.out)["plan"]] == ["20250101000001", "20250101000002"]
    applied = run_cli("up", "--target", "20250101000002", "--project", str(root), "--database-url",
                      pgshift_database_url)
    assert applied.code == 0, applied.all
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
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1, result.all
    assert "migrations/20250101000002_add_email.sql:3:1: statement 3 of 4 failed" in result.err
    assert "check constraint" in result.err
    assert "ALTER TABLE customers ADD CONSTRAINT one" in result.err
    # the first file stays, the second is wholly rolled back, the third never ran
    assert scalar(pgshift_database_url, "SELECT count(*) FROM customers") == 2
    cols = [r[0] for r in query(pgshift_database_url, "SELECT attname FROM pg_attribute WHERE attrelid = "
                                                      "'customers'::regclass AND attnum > 0 AND NOT attisdropped")]
    assert "email" not in cols
    assert scalar(pgshift_database_url, "SELECT to_regclass('never')") is None
    rows = ledger_rows(pgshift_database_url)
    assert [(r[0], r[2]) for r in rows] == [("20250101000001", "completed"), ("20250101000002", "failed")]
    assert "check constraint" in rows[1][4]
    status = json.loads(run_cli("status", "--json", "--project", str(root), "--database-url",
                                pgshift_database_url).out)
    assert [v["state"] for v in status["versions"]] == ["applied", "failed", "pending"]


def test_a_failed_transactional_file_prints_only_pgshifts_own_error(project, pgshift_database_url):
    # many statements after the failing one: the server's error arrives while they are still being sent
    inserts = "".join(f"INSERT INTO t VALUES ({i});\n" for i in range(3000))
    root = project({"20250101000001_t.sql": "CREATE TABLE t (id int);\nSELECT nope FROM t;\n" + inserts})
    for _ in range(3):
        result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
        assert result.code == 1, result.all
        assert "migrations/20250101000001_t.sql:2:8: statement 2 of 3002 failed: column \"nope\" does not exist" \
            in result.err
        assert "pipeline" not in result.all and "error ignored" not in result.all, result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('t')") is None
    assert [r[2] for r in ledger_rows(pgshift_database_url)] == ["failed"] * 3


def test_error_position_points_into_the_file(project, pgshift_database_url):
    root = project({"20250101000001_x.sql": "CREATE TABLE t (id int);\n\nSELECT id,\n       nope\nFROM t;\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1
    assert "migrations/20250101000001_x.sql:4:8: statement 2 of 2 failed: column \"nope\" does not exist" in result.err
    assert "    4 |        nope\n      |        ^" in result.err


def test_edited_applied_file(project, pgshift_database_url):
    root = project(THREE)
    assert run_cli("up", "--project", str(root), "--database-url", pgshift_database_url).code == 0
    path = root / "migrations" / "20250101000002_add_email.sql"
    path.write_text(path.read_text() + "-- an edit\n")
    verify = run_cli("verify", "--project", str(root), "--database-url", pgshift_database_url)
    assert verify.code == 1
    assert "migrations/20250101000002_add_email.sql: changed since applied" in verify.out
    (root / "migrations" / "20250101000004_more.sql").write_text("CREATE TABLE more (id int);\n")
    up = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert up.code == 2
    assert "changed since they were applied" in up.err and "--allow-changed" in up.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('more')") is None
    forced = run_cli("up", "--allow-changed", "--project", str(root), "--database-url", pgshift_database_url)
    assert forced.code == 0, forced.all
    assert scalar(pgshift_database_url, "SELECT to_regclass('more')") is not None


def test_line_endings_do_not_change_the_checksum(project, pgshift_database_url):
    root = project(THREE)
    assert run_cli("up", "--project", str(root), "--database-url", pgshift_database_url).code == 0
    path = root / "migrations" / "20250101000001_create_customers.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert run_cli("verify", "--project", str(root), "--database-url", pgshift_database_url).code == 0


def test_out_of_order_version(project, pgshift_database_url):
    root = project(THREE)
    assert run_cli("up", "--project", str(root), "--database-url", pgshift_database_url).code == 0
    (root / "migrations" / "20250101000000_from_a_branch.sql").write_text("CREATE TABLE branch (id int);\n")
    status = json.loads(run_cli("status", "--json", "--project", str(root), "--database-url",
                                pgshift_database_url).out)
    assert status["versions"][0]["state"] == "out_of_order"
    refused = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert refused.code == 2
    assert "migrations/20250101000000_from_a_branch.sql" in refused.err and "--out-of-order" in refused.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('branch')") is None
    ok = run_cli("up", "--out-of-order", "--project", str(root), "--database-url", pgshift_database_url)
    assert ok.code == 0, ok.all
    assert scalar(pgshift_database_url, "SELECT to_regclass('branch')") is not None


def test_baseline_records_without_running(project, pgshift_database_url):
    root = project(THREE)
    result = run_cli("baseline", "20250101000002", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert scalar(pgshift_database_url, "SELECT to_regclass('customers')") is None
    rows = ledger_rows(pgshift_database_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [("20250101000001", "baseline", "completed"),
                                                  ("20250101000002", "baseline", "completed")]
    # the third needs the first two's tables, which a baseline says exist: create them as the real DB would have
    query(pgshift_database_url, "CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text)")
    up = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert up.code == 0, up.all
    assert "applied 1 migration(s)" in up.out


def test_concurrent_index_file_runs_outside_a_transaction(project, pgshift_database_url):
    root = project({
        "20250101000001_t.sql": "CREATE TABLE t (id int, v int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;\n",
        "20250101000002_idx.sql": "CREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n",
    })
    result = run_cli("--json", "up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    plan = json.loads(result.out)["plan"]
    assert plan[1]["mode"] == "no-transaction"
    assert "CREATE INDEX CONCURRENTLY" in plan[1]["mode_reason"]
    assert scalar(pgshift_database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_idx'::regclass")


def test_invalid_index_from_failed_build_is_dropped_before_retry(project, pgshift_database_url):
    # duplicate values make a concurrent UNIQUE build fail and leave an INVALID index behind
    root = project({
        "20250101000001_t.sql": "CREATE TABLE t (id int, v int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n",
        "20250101000002_idx.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_key ON t (v);\n",
    })
    failed = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert failed.code == 1
    assert "could not create unique index" in failed.err
    assert scalar(pgshift_database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass") is False
    query(pgshift_database_url, "UPDATE t SET v = 2 WHERE id = 2")
    retried = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert retried.code == 0, retried.all
    assert "INVALID" in retried.err and "dropping it" in retried.err
    assert scalar(pgshift_database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_key'::regclass") is True


def test_a_failed_concurrent_build_says_it_left_an_invalid_index(project, pgshift_database_url):
    root = project({
        "20250101000001_t.sql": "CREATE TABLE t (id int, v int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n",
        "20250101000002_idx.sql": "CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v);\n",
    })
    failed = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert failed.code == 1, failed.all
    assert "migrations/20250101000002_idx.sql:1:1: statement 1 of 1 failed: could not create unique index" in failed.err
    assert ("index t_v_key is left INVALID by the failed concurrent build: the next `pgshift up` drops it "
            "before building it again (to drop it now: DROP INDEX CONCURRENTLY t_v_key;)") in failed.err
    as_json = run_cli("--json", "up", "--project", str(root), "--database-url", pgshift_database_url)
    assert as_json.code == 1
    assert json.loads(as_json.out)["details"]["invalid_index"] == "t_v_key"
    # a build that fails before creating its index leaves none, and says nothing about one
    query(pgshift_database_url, "DROP INDEX t_v_key")
    (root / "migrations" / "20250101000002_idx.sql").write_text("CREATE INDEX CONCURRENTLY t_w_idx ON t (w);\n")
    other = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert other.code == 1 and 'column "w" does not exist' in other.err
    assert "INVALID" not in other.err


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
    failed = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert failed.code == 1
    assert "migrations/20250101000001_steps.sql:4:13" in failed.err
    assert "statements before it stay applied" in failed.err
    assert ledger_rows(pgshift_database_url)[-1][2:4] == ("failed", 2)
    query(pgshift_database_url, "CREATE TABLE needed_later (id int)")
    again = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert again.code == 0, again.all
    assert "resuming" in again.err and "after statement 2 of 4" in again.err
    # statement 1 and 2 did not run twice: one row in a, and CREATE TABLE a did not fail
    assert scalar(pgshift_database_url, "SELECT count(*) FROM a") == 1
    assert scalar(pgshift_database_url, "SELECT to_regclass('b')") is not None
    assert [r[2] for r in ledger_rows(pgshift_database_url)] == ["failed", "completed"]


def test_a_changed_interrupted_no_transaction_file_resumes_after_the_statements_that_ran(project, pgshift_database_url):
    root = project({"20250101000001_steps.sql": "-- pgshift:no-transaction\nCREATE TABLE IF NOT EXISTS a (id int);\n"
                                                "INSERT INTO missing VALUES (1);\n"})
    assert run_cli("up", "--project", str(root), "--database-url", pgshift_database_url).code == 1
    (root / "migrations" / "20250101000001_steps.sql").write_text(
        "-- pgshift:no-transaction\nCREATE TABLE IF NOT EXISTS a (id int);\nINSERT INTO a VALUES (1);\n")
    again = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert again.code == 0, again.all
    assert "changed since its interrupted run" in again.err
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
    result = run_cli("--json", "up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert json.loads(result.out)["plan"][0]["mode"] == "own-transaction"
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
    failed = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert failed.code == 1
    assert scalar(pgshift_database_url, "SELECT to_regclass('a')") is not None
    assert scalar(pgshift_database_url, "SELECT to_regclass('b')") is None  # its block rolled back
    assert ledger_rows(pgshift_database_url)[-1][2:4] == ("failed", 3)
    query(pgshift_database_url, "CREATE TABLE c (id int)")
    again = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert again.code == 0, again.all
    assert scalar(pgshift_database_url, "SELECT count(*) FROM c") == 1


def test_connection_failure_never_shows_the_password(project, tmp_path):
    root = project(THREE)
    url = "postgresql://bob:Sup3rSecretPw@127.0.0.1:1/app?connect_timeout=2"
    result = run_cli("up", "--project", str(root), "--database-url", url)
    assert result.code == 1
    assert "cannot connect" in result.err
    assert "Sup3rSecretPw" not in result.all
    assert "postgresql://bob:********@127.0.0.1:1/app" in result.err
    env_result = run_cli("status", "--project", str(root), env={"DATABASE_URL": url})
    assert env_result.code == 1 and "Sup3rSecretPw" not in env_result.all


def test_password_never_in_output_on_success(project, pgshift_server_url, pgshift_database_url):
    query(pgshift_server_url, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pw_user') THEN "
                              "CREATE ROLE pw_user LOGIN SUPERUSER PASSWORD 'Sup3rSecretPw'; END IF; END $$")
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(pgshift_database_url)
    params.update(user="pw_user", password="Sup3rSecretPw")
    url = make_conninfo(**params)
    root = project(THREE)
    for args in (("up", "-v"), ("status",), ("--json", "status"), ("up", "--dry-run")):
        result = run_cli(*args, "--project", str(root), "--database-url", url)
        assert result.code == 0, result.all
        assert "Sup3rSecretPw" not in result.all
    bad = run_cli("status", "--project", str(root), "--database-url", url.replace("dbname=", "dbname=nope_"))
    assert bad.code == 1 and "Sup3rSecretPw" not in bad.all and "********" in bad.err


def test_a_files_session_settings_do_not_leak_into_the_next_file(project, pgshift_database_url):
    root = project({
        "20250101000001_elsewhere.sql": "CREATE SCHEMA elsewhere;\nSET search_path = elsewhere;\nCREATE TABLE a (id int);\n",
        "20250101000002_plain.sql": "CREATE TABLE b (id int);\n",
    })
    result = run_cli("up", "--lock-timeout", "3s", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert scalar(pgshift_database_url, "SELECT to_regclass('elsewhere.a')") is not None
    # the second file ran with the session's own search_path, as it would in a psql session of its own
    assert scalar(pgshift_database_url, "SELECT to_regclass('public.b')") is not None
    assert scalar(pgshift_database_url, "SELECT to_regclass('elsewhere.b')") is None


def test_a_file_that_leaves_its_transaction_open_is_rolled_back_not_committed(project, pgshift_database_url):
    root = project({"20250101000001_open.sql": "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1, result.all
    assert "ends inside a transaction it opened (BEGIN without COMMIT)" in result.err
    assert "migrations/20250101000001_open.sql:5:1" in result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('a')") is not None
    assert scalar(pgshift_database_url, "SELECT to_regclass('b')") is None
    assert ledger_rows(pgshift_database_url)[-1][2:4] == ("failed", 3)


def test_creating_the_ledgers_schema_says_pgshift_made_it(project, pgshift_database_url):
    root = project({"20250101000001_shared.sql": "CREATE SCHEMA shared;\nCREATE TABLE shared.t (id int);\n"},
                   config='[pgshift]\nledger = "shared.migration_log"\n[env.dev]\n')
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1
    assert "migrations/20250101000001_shared.sql:1:1" in result.err
    assert "write CREATE SCHEMA IF NOT EXISTS shared" in result.err
    assert scalar(pgshift_database_url, "SELECT to_regclass('shared.t')") is None


def test_sql_files_in_a_subfolder_are_named_not_silently_skipped(project, pgshift_database_url):
    root = project({"20250101000001_a.sql": "CREATE TABLE a (id int);\n",
                    "2025/20250101000002_b.sql": "CREATE TABLE b (id int);\n"})
    result = run_cli("up", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert "migrations/2025/ holds .sql files that pgshift does not read" in result.err
    status = run_cli("status", "--project", str(root), "--database-url", pgshift_database_url)
    assert "migrations/2025/ holds .sql files" in status.err
