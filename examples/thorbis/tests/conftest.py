"""A connection as the application would have one: the role ``thorbis_app``, one tenant set."""
from __future__ import annotations

from contextlib import contextmanager

import pytest


@pytest.fixture
def as_tenant(migrated_database):
    """``with as_tenant(tenant_id) as conn:`` a connection to this test's migrated copy, as
    ``thorbis_app`` with ``app.current_tenant_id`` set (row level security applies)."""

    @contextmanager
    def connect(tenant_id: str):
        with migrated_database.connect() as conn:
            conn.execute("SET ROLE thorbis_app")
            conn.execute("SELECT set_config('app.current_tenant_id', %s, false)", (tenant_id,))
            yield conn

    return connect
