"""Drift with provenance (issue 14, point 1) against the real embedded server: each applied
version records the schema it left; a hand-made change is named, with the last version after
which the schema still matched; a protected `up` refuses on drift."""
from __future__ import annotations

import psycopg
import pytest

from conftest import call, query, up, up_fails
from pgshift import api

V1, V2, V3, V4 = "20250101000001", "20250101000002", "20250101000003", "20250101000004"
FILES = {
    f"{V1}_customers.sql": """
        CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
        CREATE INDEX customers_name_idx ON customers (name);
    """,
    f"{V2}_greeting.sql": """
        CREATE FUNCTION greeting() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'hello'; END $$;
    """,
    f"{V3}_orders.sql": """
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));
    """,
    f"rollbacks/{V3}_rollback_orders.sql": "DROP TABLE orders;\n",
}
STORED = "[pgshift]\nstore_snapshots = true\nfingerprint = \"each\"\n[env.dev]\n"
PROD = ("[pgshift]\nstore_snapshots = true\n[env.dev]\n[env.prod]\nurl = \"${PROD_URL}\"\nprotected = true\n"
        "backup_dir = \"backups\"\n")


def hand_made_change(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN nickname text")
        conn.execute("DROP INDEX customers_name_idx")
        conn.execute("CREATE OR REPLACE FUNCTION greeting() RETURNS text LANGUAGE plpgsql AS "
                     "$$ BEGIN RETURN 'hi there'; END $$")


def test_each_version_records_the_schema_it_left(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    rows = query(pgshift_database_url, "SELECT version, details ->> 'schema_sha256' FROM pgshift.migration_log "
                                       "ORDER BY id")
    assert [r[0] for r in rows] == [V1, V2, V3]
    shas = [r[1] for r in rows]
    assert all(s and len(s) == 64 for s in shas) and len(set(shas)) == 3
    stored = query(pgshift_database_url, "SELECT sha256 FROM pgshift.pgshift_schema_snapshots")
    assert {r[0] for r in stored} == set(shas)


def test_a_clean_database_shows_no_drift(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.status == "clean" and not result.drifted
    assert result.expected_version == V3 and result.live_sha256 == result.expected_sha256
    assert result.differences == () and result.last_matched_version is None


def test_a_hand_made_change_is_named_with_the_last_version_it_matched(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    hand_made_change(pgshift_database_url)
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.drifted and result.objects_named
    assert result.last_matched_version == V3 and result.last_matched_at is not None
    found = {(d["kind"], d["object_type"], d["name"], d["attribute"]) for d in result.differences}
    assert ("extra", "column", "public.customers.nickname", None) in found
    assert ("missing", "index", "public.customers_name_idx", None) in found
    assert ("changed", "function", "public.greeting()", "definition") in found
    assert len(found) == 3, found
    text = "\n".join(d["text"] for d in result.differences)
    assert "after 20250101000003" in text and "hi there" in text
    assert result.to_dict()["drifted"] is True


def test_fingerprints_only_say_whether_and_since_when(project, pgshift_database_url):
    root = project(FILES)     # no store_snapshots
    up(root, pgshift_database_url, target=V2)
    assert not query(pgshift_database_url, "SELECT to_regclass('pgshift.pgshift_schema_snapshots')")[0][0]
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN nickname text")
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.drifted and not result.objects_named and result.differences == ()
    assert result.last_matched_version == V2
    assert any("store_snapshots" in n for n in result.notes)


def test_a_schema_back_to_an_earlier_version_is_recognised(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE orders")      # V3 undone by hand
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.drifted and result.matches_version == V2 and result.last_matched_version == V3
    assert [(d["kind"], d["name"]) for d in result.differences] == [("missing", "public.orders")]


def test_a_rollback_records_the_schema_it_left(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    call(api.rollback, root, pgshift_database_url, V3, api.RollbackOptions(yes=True))
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.status == "clean" and result.expected_version == V3   # the rollback event's fingerprint
    first = query(pgshift_database_url, "SELECT details ->> 'schema_sha256' FROM pgshift.migration_log "
                                        f"WHERE version = '{V2}'")[0][0]
    assert result.live_sha256 == first


def test_no_fingerprint_yet_is_unknown(project, pgshift_database_url):
    root = project(FILES)
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.status == "unknown" and result.notes


def test_a_protected_up_refuses_on_drift_unless_allowed(project, pgshift_database_url):
    files = dict(FILES)
    root = project(files, PROD)
    up(root, pgshift_database_url, target=V2)           # dev: fingerprints recorded
    hand_made_change(pgshift_database_url)
    error, _ = up_fails(3, root, env="prod", environ={"PROD_URL": pgshift_database_url}, yes=True,
                        no_backup=True)
    assert "drift" in error.message and "public.customers.nickname" in error.message
    assert "--allow-drift" in (error.hint or "")
    assert query(pgshift_database_url, "SELECT to_regclass('orders')")[0][0] is None   # nothing changed
    # a non-protected run warns and records where the drift came in
    result, reporter = up(root, pgshift_database_url)
    assert len(result.run.steps) == 1 and "drift" in reporter.text
    before = query(pgshift_database_url, "SELECT details -> 'drift_before' ->> 'after_version' FROM "
                                         f"pgshift.migration_log WHERE version = '{V3}'")[0][0]
    assert before == V2
    drift, _ = call(api.drift, root, pgshift_database_url)
    assert drift.status == "clean"
    note = next(n for n in drift.notes if n.startswith(V3))
    assert f"outside migrations after {V2}" in note            # the drift came in between V2 and V3
    assert "public.customers.nickname" in note and "public.customers_name_idx" in note   # named (stored)


@pytest.mark.parametrize("how", ["flag", "config"])
def test_allow_drift_lets_a_protected_up_apply(project, pgshift_database_url, how):
    config = PROD + ("allow_drift = true\n" if how == "config" else "")
    root = project(FILES, config)
    up(root, pgshift_database_url, target=V2)
    hand_made_change(pgshift_database_url)
    result, reporter = up(root, env="prod", environ={"PROD_URL": pgshift_database_url}, yes=True, no_backup=True,
                          allow_drift=how == "flag")
    assert len(result.run.steps) == 1 and "drift" in reporter.text


def test_a_version_newer_than_the_last_fingerprint_makes_drift_unknown(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url, target=V2)
    call(api.baseline, root, pgshift_database_url, V3)       # recorded, not run: no fingerprint
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.status == "unknown" and not result.drifted
    assert V3 in result.notes[0] and "fingerprint" in result.notes[0]


def test_by_default_a_run_records_the_schema_after_its_last_version(project, pgshift_database_url):
    root = project(FILES)
    up(root, pgshift_database_url)
    rows = query(pgshift_database_url, "SELECT version, details ->> 'schema_sha256' FROM pgshift.migration_log "
                                       "ORDER BY id")
    assert [r[0] for r in rows] == [V1, V2, V3] and [r[1] is None for r in rows] == [True, True, False]
    clean, _ = call(api.drift, root, pgshift_database_url)
    assert clean.status == "clean" and clean.expected_version == V3
    hand_made_change(pgshift_database_url)
    drifted, _ = call(api.drift, root, pgshift_database_url)
    assert drifted.drifted and drifted.last_matched_version == V3


def test_fingerprint_off_records_nothing(project, pgshift_database_url):
    root = project(FILES, "[pgshift]\nfingerprint = \"off\"\n[env.dev]\n")
    up(root, pgshift_database_url)
    assert query(pgshift_database_url, "SELECT count(*) FROM pgshift.migration_log "
                                       "WHERE details ? 'schema_sha256'")[0][0] == 0
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.status == "unknown"


def test_an_unknown_fingerprint_mode_is_a_configuration_error(project):
    from pgshift.errors import ConfigError
    root = project(FILES, "[pgshift]\nfingerprint = \"sometimes\"\n[env.dev]\n")
    with pytest.raises(ConfigError) as info:
        api.open_project(root)
    assert info.value.exit_code == 2 and "run, each, off" in info.value.message


def test_a_fingerprint_that_cannot_be_recorded_is_a_warning_not_a_failure(project, pgshift_database_url,
                                                                           monkeypatch):
    import pgshift.schema.fingerprint as fingerprint

    def broken(*args, **kwargs):
        raise psycopg.errors.InsufficientPrivilege("permission denied for schema pgshift")

    monkeypatch.setattr(fingerprint, "record", broken)
    root = project(FILES)
    result, reporter = up(root, pgshift_database_url)
    assert len(result.run.steps) == 3
    assert "could not be recorded (permission denied for schema pgshift)" in reporter.text


def test_a_run_that_stops_early_records_the_schema_after_its_last_completed_version(project, pgshift_database_url):
    files = {**FILES, f"{V4}_broken.sql": "ALTER TABLE nowhere ADD COLUMN x int;\n"}
    root = project(files)
    up_fails(1, root, pgshift_database_url)
    rows = query(pgshift_database_url, "SELECT version, status, details ->> 'schema_sha256' FROM "
                                       "pgshift.migration_log ORDER BY id")
    assert [(r[0], r[1], r[2] is not None) for r in rows] == [
        (V1, "completed", False), (V2, "completed", False), (V3, "completed", True), (V4, "failed", False)]
    result, _ = call(api.drift, root, pgshift_database_url)
    assert result.status == "clean" and result.expected_version == V3


def test_the_command_line_refuses_a_protected_up_on_drift_and_allow_drift_applies(project, pgshift_database_url):
    import json

    from conftest import run_cli

    root = project(FILES, PROD)
    up(root, pgshift_database_url, target=V2)
    hand_made_change(pgshift_database_url)
    line = ("--json", "-q", "--env", "prod", "--project", str(root), "--database-url", pgshift_database_url)
    refused = run_cli("up", "--yes", "--no-backup", *line)
    assert refused.code == 3, refused.all
    error = json.loads(refused.out)
    assert error["error"] == "SafetyRefusal" and error["details"]["expected_version"] == V2
    drift = run_cli("drift", *line)
    assert drift.code == 1 and json.loads(drift.out)["last_matched_version"] == V2
    applied = run_cli("up", "--yes", "--no-backup", "--allow-drift", *line)
    assert applied.code == 0, applied.all
    assert json.loads(applied.out)["result"]["steps"][0]["version"] == V3


def test_tenant_schemas_with_their_own_ledgers_are_not_each_others_drift(project, pgshift_database_url):
    """A fleet of tenant schemas in one database, each tenant's ledger in its schema (ledger =
    "tenant_a.migration_log"): one tenant's migration is never another's drift. Once other
    ledgers share the database, fingerprints are neither recorded nor compared (unknown, said why);
    the schema dump leaves the other tenants out."""
    files = {f"{V1}_t.sql": "CREATE TABLE items (id bigint PRIMARY KEY);\n"}
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b")
    config = "[pgshift]\nledger = \"{t}.migration_log\"\n[env.dev]\n[env.prod]\nurl = \"${{PROD_URL}}\"\n" \
             "protected = true\nbackup_dir = \"backups\"\n"
    roots = {t: project(files, config.format(t=t), name=t) for t in ("tenant_a", "tenant_b")}
    urls = {t: psycopg.conninfo.make_conninfo(pgshift_database_url, options=f"-c search_path={t}") for t in roots}
    up(roots["tenant_a"], urls["tenant_a"])
    up(roots["tenant_b"], urls["tenant_b"])          # tenant b migrates after a recorded its schema
    result, _ = call(api.drift, roots["tenant_a"], urls["tenant_a"])
    assert result.status == "unknown" and "tenant_b" in result.notes[0], result
    recorded = query(pgshift_database_url, "SELECT details ->> 'schema_sha256' FROM tenant_b.migration_log")
    assert recorded == [(None,)]
    dump, _ = call(api.schema_dump, roots["tenant_a"], urls["tenant_a"])
    assert "tenant_b" not in dump.text and "tenant_a.items" in dump.text
    # a protected tenant's next run is not refused for what another tenant did
    (roots["tenant_a"] / "migrations" / f"{V2}_more.sql").write_text("ALTER TABLE items ADD COLUMN x int;\n")
    done, _ = up(roots["tenant_a"], env="prod", environ={"PROD_URL": urls["tenant_a"]}, yes=True, no_backup=True)
    assert len(done.run.steps) == 1


def _drift_text(root, url):
    """`pgshift drift` as a user runs it: the text report and the exit code."""
    from conftest import run_cli

    return run_cli("drift", "--project", str(root), "--database-url", url)


def test_the_text_report_of_a_clean_database_says_which_version_it_matches(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    clean = _drift_text(root, pgshift_database_url)
    assert clean.code == 0, clean.all
    dbname = psycopg.conninfo.conninfo_to_dict(pgshift_database_url)["dbname"]
    (line,) = clean.out.splitlines()
    assert f"dbname={dbname}" in line
    assert line.endswith(f": no drift: the schema is what {V3} left")
    assert "DRIFT" not in clean.out and clean.err == ""


def test_the_text_report_names_each_drifted_object_how_and_the_last_version_it_matched(project,
                                                                                       pgshift_database_url):
    import re

    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    hand_made_change(pgshift_database_url)
    drifted = _drift_text(root, pgshift_database_url)
    assert drifted.code == 1, drifted.all
    lines = drifted.out.splitlines()
    assert re.search(rf": DRIFT: the schema differs from what {V3} left; it last matched after {V3} "
                     r"\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$", lines[0]), lines[0]
    body = lines[1:]
    assert f"  column public.customers.nickname exists in the database but not after {V3}" in body
    assert f"  index public.customers_name_idx exists after {V3} but is missing in the database" in body
    assert (f"  function public.greeting(): definition differs between after {V3} and in the database:"
            in body)
    assert "      -AS $function$ BEGIN RETURN 'hello'; END $function$" in body
    assert "      +AS $function$ BEGIN RETURN 'hi there'; END $function$" in body
    assert not any(line.startswith("note:") for line in lines)


def test_the_text_report_says_when_versions_look_undone_by_hand(project, pgshift_database_url):
    root = project(FILES, STORED)
    up(root, pgshift_database_url)
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE orders")      # V3 undone by hand
    drifted = _drift_text(root, pgshift_database_url)
    assert drifted.code == 1, drifted.all
    lines = drifted.out.splitlines()
    assert f"it last matched after {V3}" in lines[0]
    assert lines[1] == (f"it is exactly the schema after {V2}: the versions since then look undone by hand "
                        "(or a restore)")
    assert any(line.startswith("  ") and "public.orders" in line and "missing in the database" in line
               for line in lines[2:]), lines


def test_the_text_report_without_snapshots_says_since_when_and_how_to_name_objects(project, pgshift_database_url):
    root = project(FILES)     # fingerprints only: no store_snapshots
    up(root, pgshift_database_url, target=V2)
    with psycopg.connect(pgshift_database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN nickname text")
    drifted = _drift_text(root, pgshift_database_url)
    assert drifted.code == 1, drifted.all
    lines = drifted.out.splitlines()
    assert f"DRIFT: the schema differs from what {V2} left; it last matched after {V2}" in lines[0]
    assert "nickname" not in drifted.out                       # not named without a snapshot
    assert any(line.startswith("note: ") and "store_snapshots" in line for line in lines), lines


def test_the_text_report_of_a_database_without_fingerprints_is_unknown_not_clean(project, pgshift_database_url):
    root = project(FILES)
    unknown = _drift_text(root, pgshift_database_url)
    assert unknown.code == 0, unknown.all
    lines = unknown.out.splitlines()
    assert lines[0].endswith(": drift unknown") and "no drift" not in unknown.out
    assert len(lines) >= 2 and all(line.startswith("note: ") for line in lines[1:]), lines
