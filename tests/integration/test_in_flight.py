"""A no-transaction file whose statement commits on its own (not a concurrent index build),
interrupted while that statement ran: the rerun tells from the server whether it took effect
(skipped), did not (run), or cannot be told (refused, naming it; the next run runs it again)."""
from __future__ import annotations

import uuid

import pytest

from conftest import ledger_rows, query, scalar, up, up_fails

VERSION = "20250101000001"


def _interrupted(project, url, statement: str, *, before: str | None = None):
    """A project whose only file (no transaction: *statement*, then a table) is left as a kill -9
    during *statement* leaves it: the event `running`, no statement done. Got by a real run on
    which *statement* fails (after *before* ran), its event then put back to what a kill leaves."""
    root = project({f"{VERSION}_in_flight.sql": f"-- pgshift:no-transaction\n{statement}\nCREATE TABLE after_it (id int);\n"})
    if before:
        query(url, before)
    up_fails(1, root, url)
    query(url, "UPDATE pgshift.migration_log SET status = 'running', completed_at = NULL, error = NULL, "
               "execution_ms = NULL WHERE version = %s", (VERSION,))
    assert ledger_rows(url)[-1][1:4] == ("migrate", "running", 0)
    return root


@pytest.fixture
def database_name(pgshift_database_url):
    name = f"in_flight_{uuid.uuid4().hex[:10]}"
    yield name
    query(pgshift_database_url, f'DROP DATABASE IF EXISTS "{name}"')


def test_a_database_the_interrupted_run_created_is_not_created_again(project, pgshift_database_url, database_name):
    url = pgshift_database_url
    # the first run fails on "already exists"; its event put back to `running`: as if the kill came
    # after the server created it
    root = _interrupted(project, url, f"CREATE DATABASE {database_name};", before=f"CREATE DATABASE {database_name}")
    _, again = up(root, url)
    assert (f"{VERSION}_in_flight.sql:2:1: database {database_name} exists: created by the interrupted run; "
            "statement 1 skipped") in again.text
    assert scalar(url, "SELECT to_regclass('after_it')::text") == "after_it"
    assert ledger_rows(url)[-1][2:4] == ("completed", 2)


def test_a_database_the_interrupted_run_did_not_create_is_created(project, pgshift_database_url, database_name):
    url = pgshift_database_url
    root = _interrupted(project, url, f"CREATE DATABASE {database_name};", before=f"CREATE DATABASE {database_name}")
    query(url, f"DROP DATABASE {database_name}")     # the kill came before the server created it
    _, again = up(root, url)
    assert "skipped" not in again.text
    assert scalar(url, "SELECT count(*) FROM pg_database WHERE datname = %s", (database_name,)) == 1
    assert ledger_rows(url)[-1][2:4] == ("completed", 2)


def test_a_statement_nobody_can_check_is_refused_once_then_run_again(project, pgshift_database_url):
    url = pgshift_database_url
    sub = f"sub_{uuid.uuid4().hex[:8]}"
    query(url, f"CREATE SUBSCRIPTION {sub} CONNECTION 'dbname=nowhere' PUBLICATION p "
               "WITH (connect = false, slot_name = NONE)")
    try:
        root = _interrupted(project, url, f"ALTER SUBSCRIPTION {sub} ADD PUBLICATION q;")
        refused, _ = up_fails(3, root, url)
        assert refused.message == (
            f"statement 1 (ALTER SUBSCRIPTION {sub} ADD PUBLICATION q) was running when pgshift was "
            "interrupted: ALTER SUBSCRIPTION ... PUBLICATION (with refresh) commits on its own and was running "
            "when the last run was interrupted: pgshift cannot tell whether it took effect")
        assert str(refused.location) == f"migrations/{VERSION}_in_flight.sql:2:1"
        assert refused.hint.startswith("check whether it took effect and undo it if it did; the next run runs it")
        assert ledger_rows(url)[-1][2:5] == ("failed", 0, refused.message)
        assert scalar(url, "SELECT to_regclass('after_it')") is None          # nothing after it ran
        # checked: the next run runs it again (here the server refuses it again: the subscription is disabled)
        again, _ = up_fails(1, root, url)
        assert "ALTER SUBSCRIPTION with refresh is not allowed for disabled subscriptions" in again.message
    finally:
        query(url, f"DROP SUBSCRIPTION {sub}")
