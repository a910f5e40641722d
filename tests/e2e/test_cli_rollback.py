"""`pgshift test`, `diagnose` and `status` as a process: the text they print, and Ctrl-C or a kill
in the middle of a run. Their behaviour is tested in-process in tests/integration/test_rollback.py."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from conftest import CUSTOMERS_WITH_ROLLBACKS as PROJECT
from conftest import ledger_rows, query, run_cli, scalar


def _test_dbs(url):
    return [r[0] for r in query(url, "SELECT datname FROM pg_database WHERE datname LIKE 'pgshift_test_%'")]


def test_roundtrip_names_the_version_and_the_object(project, pgshift_database_url):
    files = dict(PROJECT)
    files["rollbacks/20250101000002_rollback.sql"] = "SELECT 1;\n"                                # forgets the index
    files["rollbacks/20250101000003_rollback_rls.sql"] = "ALTER TABLE customers DISABLE ROW LEVEL SECURITY;\n"
    files["rollbacks/20250101000004_rollback_default.sql"] = \
        "ALTER TABLE customers ALTER COLUMN name SET DEFAULT 'someone';\n"                         # wrong default
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    result = run_cli("test", "--roundtrip", "--project", str(root), "--database-url", pgshift_database_url)
    assert result.code == 1, result.all
    out = result.out
    rows = [line.split() for line in out.splitlines() if line.startswith("2025")]
    assert rows == [["20250101000001", "customers", "passed"], ["20250101000002", "customer_index", "failed"],
                    ["20250101000003", "rls", "failed"], ["20250101000004", "default", "failed"]]
    assert "index public.customers_name_idx exists after its rollback but not before the migration" in out
    assert "policy public.customers.tenant_isolation exists after its rollback" in out
    assert "20250101000004 default: column public.customers.name: default is 'someone'::text after its rollback" in out
    assert _test_dbs(pgshift_database_url) == before


def test_throwaway_database_is_dropped_after_ctrl_c(project, pgshift_database_url):
    files = dict(PROJECT)
    files["20250101000005_slow.sql"] = "SELECT pg_sleep(60);\n"
    root = project(files)
    before = _test_dbs(pgshift_database_url)
    proc = subprocess.Popen([sys.executable, "-m", "pgshift", "test", "--project", str(root), "--database-url",
                             pgshift_database_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not scalar(pgshift_database_url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"):
        assert time.monotonic() < deadline, "never reached the slow migration"
        time.sleep(0.05)
    assert len(_test_dbs(pgshift_database_url)) == len(before) + 1
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert _test_dbs(pgshift_database_url) == before


def test_diagnose(project, pgshift_database_url):
    root = project(PROJECT)
    url = pgshift_database_url
    assert run_cli("up", "--project", str(root), "--database-url", url).code == 0
    result = run_cli("--json", "diagnose", "--project", str(root), "--database-url", url)
    assert result.code == 0, result.all
    data = json.loads(result.out)
    assert set(data) >= {"ledger", "waiting_locks", "blocking", "tables"}
    assert data["ledger"]["columns"][:4] == ["version", "name", "migration_type", "status"]
    assert len(data["ledger"]["rows"]) == 4
    text = run_cli("diagnose", "--project", str(root), "--database-url", url)
    assert "== ledger ==" in text.out and "20250101000004" in text.out


def test_status_text_shows_a_half_done_rollback(project, pgshift_database_url):
    url = pgshift_database_url
    root = project({"20250101000001_t.sql": "CREATE TABLE t (id int);\nCREATE TABLE u (id int);\n",
                    "rollbacks/20250101000001_rollback_t.sql":
                        "-- pgshift:no-transaction\nDROP TABLE u;\nSELECT pg_sleep(60);\nDROP TABLE t;\n",
                    "20250101000002_v.sql": "CREATE TABLE v (id int);\n"})
    assert run_cli("up", "--target", "20250101000001", "--project", str(root), "--database-url", url).code == 0
    proc = subprocess.Popen([sys.executable, "-m", "pgshift", "rollback", "20250101000001", "--yes", "--project",
                             str(root), "--database-url", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'"):
        assert time.monotonic() < deadline, "never reached the second statement"
        time.sleep(0.05)
    proc.kill()                                   # killed after its first statement
    proc.communicate(timeout=30)
    query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'")
    assert ledger_rows(url)[-1][:4] == ("20250101000001", "rollback", "running", 1)
    shown = run_cli("status", "--no-color", "--project", str(root), "--database-url", url)
    assert shown.code == 0, shown.all
    line = next(ln for ln in shown.out.splitlines() if ln.startswith("20250101000001"))
    assert "applied (rollback did not complete)" in line, shown.out
    # a retried rollback that fails says so too
    (root / "migrations" / "rollbacks" / "20250101000001_rollback_t.sql").write_text(
        "-- pgshift:no-transaction\nDROP TABLE u;\nDROP TABLE nosuch;\n")
    retried = run_cli("down", "--steps", "1", "--yes", "--project", str(root), "--database-url", url)
    assert retried.code == 1, retried.all       # it resumed at statement 2, which fails
    shown = run_cli("status", "--no-color", "--project", str(root), "--database-url", url)
    line = next(ln for ln in shown.out.splitlines() if ln.startswith("20250101000001"))
    assert "applied (rollback failed: " in line and "nosuch" in line, shown.out
    # --json: every state has a count, 0 when none is in it
    doc = json.loads(run_cli("--json", "status", "--project", str(root), "--database-url", url).out)
    assert doc["counts"] == {"applied": 1, "pending": 1, "failed": 0, "rolled_back": 0, "changed": 0,
                             "missing": 0, "out_of_order": 0, "running": 0}


def test_roundtrip_notes_strict_and_markdown(project, pgshift_database_url, tmp_path):
    """Issue 14, point 6: a column re-added at the end of its table is a note (a failure with --strict);
    --markdown writes the report per version, grouped by kind."""
    root = project({"20250101000001_t.sql": "CREATE TABLE t (id int PRIMARY KEY, b text, c int);\n",
                    "rollbacks/20250101000001_rollback.sql": "DROP TABLE t;\n",
                    "20250101000002_drop_b.sql": "ALTER TABLE t DROP COLUMN b;\n",
                    "rollbacks/20250101000002_rollback.sql": "ALTER TABLE t ADD COLUMN b text;\n"})
    md = tmp_path / "roundtrip.md"
    result = run_cli("test", "--roundtrip", "--markdown", str(md), "--project", str(root),
                     "--database-url", pgshift_database_url)
    assert result.code == 0, result.all
    assert "20250101000002 drop_b: note: column public.t.b: position is 3 after its rollback" in result.out
    assert "all rollbacks restore the schema" in result.out
    text = md.read_text()
    assert text.startswith("## pgshift round trip") and "**Column order only** (notes)" in text
    strict = run_cli("test", "--roundtrip", "--strict", "--project", str(root), "--database-url", pgshift_database_url)
    assert strict.code == 1, strict.all
    assert "20250101000002 drop_b: column public.t.b: position is 3" in strict.out
    usage = run_cli("test", "--strict", "--project", str(root), "--database-url", pgshift_database_url)
    assert usage.code == 2 and "--strict and --markdown are options of --roundtrip" in usage.err
