import pytest

from pgshift import discovery
from pgshift.errors import DiscoveryError


def _tree(tmp_path, files):
    mig = tmp_path / "migrations"
    (mig / "rollbacks").mkdir(parents=True)
    for name, text in files.items():
        path = mig / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return mig


def test_finds_migrations_in_order_with_rollbacks_and_headers(tmp_path):
    mig = _tree(tmp_path, {
        "20250102000000_second.sql": "SELECT 2;",
        "20250101000000_first.sql": "-- Migration: 20250101000000_first.sql\n-- Description: The first one\n"
                                    "-- Author: Database Team\n-- Date: 2025-01-01\n\nSELECT 1;",
        "rollbacks/20250101000000_rollback_first.sql": "SELECT 0;",
        "rollbacks/20250102000000_rollback.sql": "SELECT 0;",
        "README.md": "not a migration",
        ".hidden.sql": "ignored",
    })
    files = discovery.discover(mig, tmp_path)
    assert [(m.version, m.name) for m in files] == [("20250101000000", "first"), ("20250102000000", "second")]
    assert files[0].description == "The first one" and files[0].author == "Database Team"
    assert files[0].date == "2025-01-01"
    assert files[0].rollback.relpath == "migrations/rollbacks/20250101000000_rollback_first.sql"
    assert files[1].rollback.path.name == "20250102000000_rollback.sql"


def test_checksum_ignores_line_endings():
    assert discovery.checksum(b"a\r\nb\rc\n") == discovery.checksum(b"a\nb\nc\n")
    assert discovery.checksum(b"a\n") != discovery.checksum(b"a \n")


@pytest.mark.parametrize("name", ["20250101_short.sql", "20250101000000_Bad.sql", "20250101000000_x.SQL",
                                  "20250101000000_a b.sql", "20250101000000_.sql", "x.sql"])
def test_bad_names(tmp_path, name):
    mig = _tree(tmp_path, {name: "SELECT 1;"})
    with pytest.raises(DiscoveryError) as err:
        discovery.discover(mig, tmp_path)
    assert f"migrations/{name}" in str(err.value) and err.value.exit_code == 2


def test_two_rollbacks_for_one_version(tmp_path):
    mig = _tree(tmp_path, {"20250101000000_a.sql": "", "rollbacks/20250101000000_rollback.sql": "",
                           "rollbacks/20250101000000_rollback_a.sql": ""})
    with pytest.raises(DiscoveryError, match="two rollbacks for version 20250101000000"):
        discovery.discover(mig, tmp_path)


def test_rollback_must_be_named_rollback(tmp_path):
    mig = _tree(tmp_path, {"20250101000000_a.sql": "", "rollbacks/20250101000000_undo_a.sql": ""})
    with pytest.raises(DiscoveryError, match="<version>_rollback"):
        discovery.discover(mig, tmp_path)


def test_not_utf8(tmp_path):
    mig = _tree(tmp_path, {"20250101000000_a.sql": b"SELECT '\xff';"})
    with pytest.raises(DiscoveryError, match="not UTF-8"):
        discovery.discover(mig, tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(DiscoveryError, match="does not exist"):
        discovery.discover(tmp_path / "nope", tmp_path)


def test_stat_cache_serves_unchanged_files_and_rereads_changed_ones(tmp_path):
    import os
    import time

    mig = _tree(tmp_path, {"20250101000000_a.sql": "-- Description: first\nSELECT 1;"})
    path = mig / "20250101000000_a.sql"
    old = time.time_ns() - 10_000_000_000
    os.utime(path, ns=(old, old))
    cache_file = tmp_path / ".pgshift" / "cache.json"
    first = discovery.discover(mig, tmp_path, discovery.StatCache(cache_file))
    assert cache_file.exists()
    again = discovery.discover(mig, tmp_path, discovery.StatCache(cache_file))
    assert again[0].checksum == first[0].checksum and again[0].description == "first"
    # same size, new content, new mtime: read again
    path.write_text("-- Description: other\nSELECT 2;")
    os.utime(path, ns=(old + 5, old + 5))
    changed = discovery.discover(mig, tmp_path, discovery.StatCache(cache_file))
    assert changed[0].checksum != first[0].checksum and changed[0].description == "other"
    # a file written just now is never cached (its mtime could hide a second write)
    fresh = mig / "20250102000000_b.sql"
    fresh.write_text("SELECT 3;")
    discovery.discover(mig, tmp_path, discovery.StatCache(cache_file))
    assert str(fresh) not in cache_file.read_text()


def test_not_utf8_points_at_the_bad_byte(tmp_path):
    mig = _tree(tmp_path, {"20250101000000_l.sql": b"CREATE TABLE l(id int);\r\nCOMMENT ON TABLE l IS 'caf\xe9';\n"})
    with pytest.raises(DiscoveryError) as err:
        discovery.discover(mig, tmp_path)
    assert str(err.value.location) == "migrations/20250101000000_l.sql:2:27"
    assert "byte 0xe9 at offset 51" in err.value.message
    assert err.value.context.splitlines()[1].index("^") == err.value.context.splitlines()[0].index("'caf") + 4
    assert "UTF-8" in err.value.hint and err.value.exit_code == 2


def test_a_folder_named_like_a_migration_is_a_problem(tmp_path):
    mig = _tree(tmp_path, {"20250101000000_a.sql": "SELECT 1;"})
    (mig / "20250101000001_x.sql").mkdir()
    (mig / "2024_archive").mkdir()  # a folder not named like a file stays a stray folder, not an error
    with pytest.raises(DiscoveryError) as err:
        discovery.discover(mig, tmp_path)
    assert err.value.message == "migrations/20250101000001_x.sql is a folder, not a file"
    assert err.value.exit_code == 2 and err.value.location is None


def test_a_dangling_symlink_is_a_problem_and_a_valid_one_works(tmp_path):
    mig = _tree(tmp_path, {"rollbacks/20250101000000_rollback.sql": "SELECT 0;"})
    (tmp_path / "real.sql").write_text("SELECT 1;")
    (mig / "20250101000000_linked.sql").symlink_to(tmp_path / "real.sql")
    assert [m.name for m in discovery.discover(mig, tmp_path)] == ["linked"]
    (mig / "rollbacks" / "20250101000000_rollback.sql").unlink()
    (mig / "rollbacks" / "20250101000000_rollback.sql").symlink_to(tmp_path / "gone.sql")
    (mig / "20250101000002_dangling.sql").symlink_to("/tmp/nonexistent.sql")
    with pytest.raises(DiscoveryError) as err:
        discovery.discover(mig, tmp_path, read=False)
    assert "2 problems" in err.value.message
    assert ("migrations/20250101000002_dangling.sql is a symbolic link to a file that does not exist "
            "(/tmp/nonexistent.sql)") in err.value.message
    assert f"migrations/rollbacks/20250101000000_rollback.sql is a symbolic link to a file that does not exist " \
           f"({tmp_path / 'gone.sql'})" in err.value.message


def test_a_fifo_named_like_a_rollback_is_refused_not_read(tmp_path):
    import os

    mig = _tree(tmp_path, {"20250101000000_a.sql": "SELECT 1;"})
    os.mkfifo(mig / "rollbacks" / "20250101000000_rollback.sql")
    with pytest.raises(DiscoveryError, match="rollbacks/20250101000000_rollback.sql is not a regular file"):
        discovery.discover(mig, tmp_path)
    with pytest.raises(DiscoveryError, match="is not a regular file"):  # never opened for a blocking read
        discovery.read_text(mig / "rollbacks" / "20250101000000_rollback.sql", "r.sql")


@pytest.mark.parametrize("stat_says", [0, 5, 10_000])
def test_a_file_that_is_not_the_size_stat_said_is_still_read_whole(tmp_path, monkeypatch, stat_says):
    """A file that grew or shrank between stat and read (or a file system that reads short)."""
    import os

    text = "SELECT 1;\n" * 2000       # 20,000 bytes: more than one read of the rest
    path = tmp_path / "20250101000000_a.sql"
    path.write_text(text)
    real = os.fstat

    def fstat(fd):
        st = real(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, stat_says,
                               int(st.st_atime), int(st.st_mtime), int(st.st_ctime)))

    monkeypatch.setattr(os, "fstat", fstat)
    assert discovery.read_text(path, "a.sql") == text
