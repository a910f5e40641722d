"""`pgshift up` and `verify` as a process: what their output shows, and what it never shows
(a password, psycopg's own noise). Their behaviour is tested in-process in tests/integration/test_up.py."""
from __future__ import annotations

from conftest import ledger_rows, query, run_cli, scalar

THREE = {
    "20250101000001_create_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n",
    "20250101000002_add_email.sql": "ALTER TABLE customers ADD COLUMN email text;\n",
    "20250101000003_create_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n",
}


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


def test_verify_names_a_changed_file(project, pgshift_database_url):
    root = project(THREE)
    assert run_cli("up", "--project", str(root), "--database-url", pgshift_database_url).code == 0
    path = root / "migrations" / "20250101000002_add_email.sql"
    path.write_text(path.read_text() + "-- an edit\n")
    verify = run_cli("verify", "--project", str(root), "--database-url", pgshift_database_url)
    assert verify.code == 1
    assert "migrations/20250101000002_add_email.sql: changed since applied" in verify.out


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
