"""The embedded server's lifecycle (issue 17, point 5): read-only commands never start it and say
how; starting it is announced on stderr with its data folder; `db list` shows the servers
pgshift started, of every project; `db stop --all` stops them. Each test has its own registry
(XDG_CACHE_HOME in the test's folder)."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli, write_project
from pgshift import embedded

GOOD = {"20250101000001_things.sql": "CREATE TABLE things (id int);\n"}


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def _cli(cache, *args, **kwargs):
    return run_cli(*args, env={"XDG_CACHE_HOME": str(cache)}, **kwargs)


def _registry(cache) -> dict:
    path = cache / "pgshift" / "servers.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_read_only_commands_do_not_start_the_embedded_server(tmp_path, cache):
    root = write_project(tmp_path / "proj", GOOD)
    for args in (["status"], ["status", "--exit-code"], ["verify"], ["up", "--dry-run"], ["diagnose"]):
        result = _cli(cache, *args, "--project", str(root))
        assert result.code == 2, (args, result.all)
        assert "the embedded PostgreSQL in" in result.err and "is not running" in result.err, result.err
        assert "pgshift db start" in result.err
        assert "starting the embedded PostgreSQL" not in result.err
    as_json = _cli(cache, "status", "--json", "--project", str(root))
    error = json.loads(as_json.out)
    assert as_json.code == 2 and error["error"] == "ConfigError" and "pgshift db start" in error["hint"]
    assert _cli(cache, "lint", "--project", str(root)).code == 0   # lint never connects
    assert not (root / ".pgshift" / "pgdata").exists(), "a read-only command started a server"
    assert _registry(cache) == {}


def test_start_is_announced_listed_and_stopped_with_all(tmp_path, cache):
    first = write_project(tmp_path / "first", GOOD)
    second = write_project(tmp_path / "second", GOOD)
    pgdatas = [embedded.pgdata_for(root) for root in (first, second)]
    try:
        up = _cli(cache, "up", "--project", str(first), timeout=180)
        assert up.code == 0, up.all
        assert f"starting the embedded PostgreSQL in {pgdatas[0]}" in up.err   # on stderr, with its folder
        assert "pgshift db stop" in up.err and str(pgdatas[0]) not in up.out
        again = _cli(cache, "up", "--project", str(first))
        assert again.code == 0 and "starting the embedded PostgreSQL" not in again.err, again.all
        status = _cli(cache, "status", "--project", str(first))   # running now: read-only commands use it
        assert status.code == 0 and "applied" in status.out and "starting" not in status.err, status.all
        started = _cli(cache, "db", "start", "--project", str(second), timeout=180)
        assert started.code == 0, started.all

        listed = _cli(cache, "--json", "db", "list")
        assert listed.code == 0, listed.all
        servers = {s["pgdata"]: s for s in json.loads(listed.out)["servers"]}
        assert set(servers) == {str(p) for p in pgdatas}
        assert servers[str(pgdatas[0])]["project"] == str(first) and servers[str(pgdatas[0])]["running"] is True
        assert servers[str(pgdatas[1])]["pid"] == embedded.status(pgdatas[1]).pid
        text = _cli(cache, "db", "list").out
        assert f"{first}: running (pid " in text and f"{second}: running (pid " in text

        stop = _cli(cache, "db", "stop", "--all")
        assert stop.code == 0, stop.all
        assert all(f"stopped the embedded PostgreSQL in {p}" in stop.out for p in pgdatas)
        assert not any(embedded.is_running(p) for p in pgdatas)
        assert _registry(cache) == {}, "stopped servers are pruned from the registry"
        assert "no embedded PostgreSQL started by pgshift is running" in _cli(cache, "db", "list").out
    finally:
        for pgdata in pgdatas:
            if embedded.is_running(pgdata):
                embedded.stop(pgdata)
