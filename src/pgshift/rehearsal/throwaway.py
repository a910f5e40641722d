"""Throwaway databases: made for one test run on the configured server, always dropped."""
from __future__ import annotations

import secrets
import time
from contextlib import contextmanager
from typing import Iterator

from .. import db
from ..config import mask_dsn
from ..events import INFO, emit


def scratch_name(prefix: str = "pgshift_test") -> str:
    """A new database name, readable and unique: ``pgshift_test_<stamp>_<hex>``."""
    return f"{prefix}_{time.strftime('%Y%m%d%H%M%S')}_{secrets.token_hex(3)}"


@contextmanager
def throwaway(server_url: str, reporter=None, *, keep: bool = False, name: str | None = None) -> Iterator[str]:
    """A new empty database on the server of *server_url*; yields its URL. It is dropped
    afterwards (after a failure or Ctrl-C too) unless *keep*."""
    name = name or scratch_name()
    url = db.create_database(server_url, name)
    emit(reporter, INFO, f"created throwaway database {name}")
    try:
        yield url
    finally:
        if keep:
            emit(reporter, INFO, f"kept the test database {name}: {mask_dsn(url)}")
        else:
            db.drop_database(server_url, name)
            emit(reporter, INFO, f"dropped the test database {name}")


@contextmanager
def copy_of(server_url: str, template: str) -> Iterator[str]:
    """A copy of database *template* (CREATE DATABASE ... TEMPLATE), dropped afterwards; yields its URL."""
    name = f"{template[:40]}_p{secrets.token_hex(3)}"
    url = db.create_database(server_url, name, template=template)
    try:
        yield url
    finally:
        db.drop_database(server_url, name)
