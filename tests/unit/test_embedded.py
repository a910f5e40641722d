import os

from pgshift import embedded


def _pidfile(folder, pid, status="ready", port="5432"):
    (folder / "postmaster.pid").write_text(f"{pid}\n{folder}\n1700000000\n{port}\n{folder}\n\n  1 2\n{status}\n")


def test_running_url_is_read_from_postmaster_pid(tmp_path):
    _pidfile(tmp_path, os.getpid())
    (tmp_path / ".s.PGSQL.5432").write_text("")     # stands in for the socket
    assert embedded._running_url(tmp_path) == f"postgresql://postgres:@/postgres?host={tmp_path}"
    assert embedded._with_database(embedded._running_url(tmp_path), "app") == \
        f"postgresql://postgres:@/app?host={tmp_path}"


def test_no_url_for_a_stale_or_starting_server(tmp_path):
    assert embedded._running_url(tmp_path) is None                  # no postmaster.pid
    _pidfile(tmp_path, os.getpid(), status="starting")
    (tmp_path / ".s.PGSQL.5432").write_text("")
    assert embedded._running_url(tmp_path) is None                  # not ready yet
    _pidfile(tmp_path, 2 ** 22 + 12345)
    assert embedded._running_url(tmp_path) is None                  # the process is gone
    (tmp_path / ".s.PGSQL.5432").unlink()
    _pidfile(tmp_path, os.getpid())
    assert embedded._running_url(tmp_path) is None                  # no socket
