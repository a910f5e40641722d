"""Small truths (issue 17, point 7), each shown: sizes labelled by the unit they are in, and
passwords scrubbed by parsing the connection string, never as substrings of other words."""
from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from pgshift import config
from pgshift.text import format_duration, format_size

# --- sizes: 1024 is a KiB, never a "kB" -------------------------------------------------------


@pytest.mark.parametrize("size, shown", [
    (0, "0 bytes"), (1, "1 byte"), (1023, "1023 bytes"),
    (1024, "1.0 KiB"), (1536, "1.5 KiB"), (1024 ** 2 * 20, "20.0 MiB"),
    (int(1024 ** 3 * 3.25), "3.2 GiB"), (1024 ** 4, "1.0 TiB"), (1024 ** 6, "1024.0 PiB"),
])
def test_sizes_are_in_binary_units_labelled_as_such(size, shown):
    assert format_size(size) == shown


def test_backup_and_preflight_say_sizes_through_the_one_helper():
    from pgshift.safety import backup, preflight

    for module in (backup, preflight):
        assert module.format_size is format_size
        assert not hasattr(module, "_size")


# --- durations: one helper, from milliseconds to hours ------------------------------------------


@pytest.mark.parametrize("seconds, shown", [
    (0, "0ms"), (0.25, "250ms"), (0.9994, "999ms"), (0.9996, "1s"), (1, "1s"), (2.5, "2.5s"),
    (59.94, "59.9s"), (59.96, "1.0min"), (90, "1.5min"), (192, "3.2min"), (3596, "59.9min"),
    (3597, "1.0h"), (5400, "1.5h"), (86400 * 2, "48.0h"), (-1, "0ms"),
])
def test_durations_read_in_the_unit_that_fits(seconds, shown):
    assert format_duration(seconds) == shown


def test_messages_say_durations_through_the_one_helper():
    from pgshift import db, project
    from pgshift.cli import render
    from pgshift.commands import _common, report_timeline
    from pgshift.execution import retry
    from pgshift.proof import report
    from pgshift.safety import backup, monitor, preflight

    for module in (backup, preflight, monitor, db, project, render, _common, report_timeline, retry, report):
        assert module.format_duration is format_duration
    assert not hasattr(preflight, "_secs")


@pytest.mark.parametrize("seconds, shown", [
    (40, "+40s"), (750, "+12.5min"), (3 * 3600 + 300, "+3.1h"), (2 * 86400 + 4 * 3600 + 60, "+2 d 4 h"),
])
def test_a_folded_gap_on_the_timeline_says_its_length_the_same_way(seconds, shown):
    from pgshift.commands.report_timeline import _gap_text

    assert _gap_text(seconds) == shown


def test_the_status_tables_took_column_says_its_duration_the_same_way():
    from datetime import datetime, timezone

    from pgshift.api import StatusResult
    from pgshift.cli.render import render_status
    from pgshift.runs import VersionState

    at = datetime(2025, 1, 1, tzinfo=timezone.utc)
    result = StatusResult(tuple(VersionState(f"2025010100000{i}", "a", "applied", "migrations/x.sql", True, at, ms)
                          for i, ms in ((1, 5), (2, 2500), (3, 192_000))),
                          "db", "l", True)
    lines = render_status(result, color=False).splitlines()[1:-1]
    assert [line.split()[-2] for line in lines] == ["5ms", "2.5s", "3.2min"]


# --- passwords: parsed from the connection string, scrubbed only where they stand whole ----------

DSNS = [
    "postgresql://bob:ro@db/app",
    "postgresql://bob:p%40ss@db/app",
    "postgres://bob@db/app?password=s%26cret&sslmode=disable",
    "host=db password='a b\\'c' dbname=x",
    "host=db password = secret user=u",
    "password=x",
]


@pytest.mark.parametrize("dsn", DSNS)
def test_the_password_read_is_the_one_libpq_reads(dsn):
    """pgshift's config layer has no psycopg (docs/architecture.md); its reading of a connection
    string is checked here against psycopg's conninfo_to_dict, which asks libpq itself."""
    assert conninfo_to_dict(dsn)["password"] in config.passwords_in(dsn)


def test_a_short_password_does_not_garble_other_words():
    dsn = "postgresql://reader:ro@db.example/app"
    text = ("pg_dump: error: query failed: ERROR:  permission denied for table orders (role reader); "
            "no error from rows: " + dsn)
    shown = config.scrub(text, dsn)
    assert "error" in shown and "er********r" not in shown and "********ws" not in shown
    assert "permission denied for table orders" in shown
    assert "postgresql://reader:********@db.example/app" in shown
    assert ":ro@" not in shown


def test_whole_occurrences_and_password_fields_are_scrubbed():
    dsn = "postgresql://bob:ro@db/app"
    shown = config.scrub("FATAL: password ro rejected; PGPASSWORD=ro and password='ro'; conn: password=other x", dsn)
    # a field's value runs to the next space, as in a conninfo string (a ; may be part of a password)
    assert shown == ("FATAL: password ******** rejected; PGPASSWORD=******** and password=********; "
                     "conn: password=******** x")


def test_a_keyword_dsn_password_with_spaces_and_quotes_is_scrubbed():
    dsn = "host=db user=bob password='s3 cr\\'et' dbname=app"
    shown = config.scrub("could not connect (s3 cr'et) with " + dsn, dsn)
    assert "s3 cr'et" not in shown and "s3 cr\\'et" not in shown
    assert "host=db user=bob password=******** dbname=app" in shown


def test_a_password_of_punctuation_is_still_found():
    dsn = "postgresql://bob:%21%40%23@db/app"   # the password is !@#
    assert "!@#" not in config.scrub("auth failed for '!@#'", dsn)


# --- an unedited rollback stub is an error for lint, and "stub" for status ---------------------

def _lint_one(sql: str, **kw):
    from pgshift.lint.engine import LintInput, LintOptions, lint

    options = {k: kw.pop(k) for k in ("environment", "lock_timeout") if k in kw}
    return lint([LintInput("migrations/rollbacks/20250101000000_rollback_x.sql" if kw.get("is_rollback")
                           else "migrations/20250101000000_x.sql", sql, **kw)], LintOptions(**options))


def test_the_stub_new_writes_is_an_error_for_lint():
    from pgshift.commands import templates

    stub = templates.ROLLBACK_HEADER.format(version="20250101000000", name="x", author="a", date="2025-01-01") \
        + templates.ROLLBACK_BODIES["blank"]
    report = _lint_one(stub, is_rollback=True)
    found = [f for f in report.findings if f.rule == "empty-rollback"]
    assert len(found) == 1 and found[0].severity == "error" and report.has_errors
    assert "pgshift down" in found[0].message and "delete the rollback file" in found[0].hint
    filled = _lint_one(stub + "DROP TABLE x;\n", is_rollback=True)
    assert not [f for f in filled.findings if f.rule == "empty-rollback"]
    # a migration without statements is not a rollback stub (and a broken file is syntax-error's)
    assert not [f for f in _lint_one(stub).findings if f.rule == "empty-rollback"]
    broken = _lint_one("DROP TABLE (;", is_rollback=True)
    assert [f.rule for f in broken.findings] == ["syntax-error"]


@pytest.mark.parametrize("sql, has", [
    ("", False), ("  \n\t", False), ("-- only a comment\n", False), ("/* a /* nested */ block */ ;\n--x", False),
    ("-- c\nSELECT 1;", True), ("/* unclosed", False), ("DROP TABLE t", True), ("-- c\n  x", True),
])
def test_status_tells_a_stub_without_the_parser(sql, has):
    from pgshift.commands.status import has_statement

    assert has_statement(sql) is has


def test_status_shows_stub_in_its_table_and_json():
    from pgshift.cli.render import render_status
    from pgshift.commands.status import StatusResult
    from pgshift.runs import VersionState

    states = (VersionState("20250101000001", "a", "applied", "migrations/a.sql", has_rollback=True),
              VersionState("20250101000002", "b", "pending", "migrations/b.sql", has_rollback=True),
              VersionState("20250101000003", "c", "pending", "migrations/c.sql"))
    result = StatusResult(states, "db", "pgshift.migration_log", True, stubs=frozenset({"20250101000002"}))
    rows = {line.split()[0]: line.split()[-1] for line in render_status(result, color=False).splitlines()[1:-1]}
    assert rows == {"20250101000001": "yes", "20250101000002": "stub", "20250101000003": "no"}
    versions = result.to_dict()["versions"]
    assert [v["rollback_stub"] for v in versions] == [False, True, False]
    assert [v["has_rollback"] for v in versions] == [True, True, False]   # the old field keeps its meaning
    assert result.to_dict()["up_to_date"] is False and [s.version for s in result.to_apply] == [
        "20250101000002", "20250101000003"]


# --- lint's lock_timeout message is true in the environment linted for ---------------------------

ALTER = "ALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0) NOT VALID;\n"


def _lock_finding(**options):
    found = [f for f in _lint_one(ALTER, **options).findings if f.rule == "require-lock-timeout"]
    assert len(found) == 1
    return found[0]


def test_the_lock_timeout_message_follows_the_environment():
    protected = _lock_finding(environment="production", lock_timeout=2.0)
    assert "pgshift sets lock_timeout = 2s in environment 'production'" in protected.message
    dev = _lock_finding(environment="dev", lock_timeout=0.0)
    assert "environment 'dev' sets none" in dev.message and "sets one for you" not in dev.message
    assert "-- pgshift:lock-timeout 2s" in dev.hint and "[env.dev]" in dev.hint
    unknown = _lock_finding()
    assert "pgshift sets one only in protected environments" in unknown.message


def test_lint_knows_the_lock_timeout_of_the_environment(tmp_path):
    from pgshift.commands.lint import lint

    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20250101000000_x.sql").write_text(ALTER)
    (tmp_path / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n[env.staging]\nlock_timeout = \"750ms\"\n"
                                           "[env.production]\nprotected = true\n")

    def message(env):
        report, _ = lint(tmp_path, env=env)
        return next(f.message for f in report.findings if f.rule == "require-lock-timeout")

    assert "environment 'dev' sets none" in message("dev")
    assert "lock_timeout = 750ms in environment 'staging'" in message("staging")
    assert "lock_timeout = 2s in environment 'production'" in message("production")
