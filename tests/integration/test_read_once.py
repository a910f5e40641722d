"""A migration file is read once: the checksum the ledger records and the statements executed
come from the same bytes, even when the file is edited while pgshift runs."""
from __future__ import annotations

import hashlib

import pytest

from conftest import query, scalar, write_project
from pgshift import api, discovery
from pgshift.errors import DiscoveryError

V1 = "20250101000001"
ORIGINAL = "CREATE TABLE original_table (id int);\n"
EDITED = "CREATE TABLE edited_table (id int);\nCREATE TABLE second_edit (id int);\n"


def test_an_edit_between_discovery_and_execution_runs_and_records_one_version(tmp_path, monkeypatch,
                                                                                  pgshift_database_url):
    root = write_project(tmp_path / "proj", {f"{V1}_create.sql": ORIGINAL})
    path = root / "migrations" / f"{V1}_create.sql"
    real_discover = discovery.discover

    def discover_then_edit(*args, **kwargs):
        found = real_discover(*args, **kwargs)
        path.write_text(EDITED)          # the operator saves the file while pgshift plans
        return found

    monkeypatch.setattr(discovery, "discover", discover_then_edit)
    project = api.open_project(root, database_url=pgshift_database_url)
    result = api.up(project)
    assert [s.version for s in result.run.steps] == [V1]
    # what ran is what was checksummed: the original, never a mix
    assert scalar(pgshift_database_url, "SELECT to_regclass('original_table') IS NOT NULL") is True
    assert scalar(pgshift_database_url, "SELECT to_regclass('edited_table')") is None
    assert scalar(pgshift_database_url, "SELECT to_regclass('second_edit')") is None
    assert query(pgshift_database_url, "SELECT checksum FROM pgshift.migration_log") == [
        (hashlib.sha256(ORIGINAL.encode()).hexdigest(),)]
    # and the edit is then seen for what it is: an applied file that changed
    monkeypatch.setattr(discovery, "discover", real_discover)
    assert [s.version for s in api.verify(project).changed] == [V1]


def test_a_file_known_only_by_its_checksum_is_refused_when_its_bytes_changed(tmp_path):
    """A file discovered without its text (the stat cache) is read later only if its bytes
    still match the checksum discovery recorded."""
    root = write_project(tmp_path / "proj", {f"{V1}_create.sql": ORIGINAL})
    [found] = discovery.discover(root / "migrations", root)
    assert discovery.text_of(found) == ORIGINAL
    unread = type(found)(found.version, found.name, found.abspath, found.relpath, found.checksum)
    assert unread.text is None
    assert discovery.text_of(unread) == ORIGINAL
    (root / "migrations" / f"{V1}_create.sql").write_text(EDITED)
    with pytest.raises(DiscoveryError) as err:
        discovery.text_of(unread)
    assert err.value.message == f"migrations/{V1}_create.sql changed while pgshift was reading the migrations"
    assert discovery.text_of(found) == ORIGINAL   # the text read with the checksum is kept
