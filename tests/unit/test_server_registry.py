"""The registry of the embedded servers pgshift started (``servers.json`` in the cache folder)."""
from __future__ import annotations

import json
from pathlib import Path

from pgshift import embedded


def test_the_registry_lives_in_the_xdg_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert embedded.registry_path() == tmp_path / "pgshift" / "servers.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")   # not absolute: ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert embedded.registry_path() == tmp_path / "home" / ".cache" / "pgshift" / "servers.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert embedded.registry_path() == tmp_path / "home" / ".cache" / "pgshift" / "servers.json"


def test_entries_without_a_postmaster_pid_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    alive = tmp_path / "a" / ".pgshift" / "pgdata"
    gone = tmp_path / "b" / ".pgshift" / "pgdata"
    alive.mkdir(parents=True)
    (alive / "postmaster.pid").write_text("1\n")
    embedded._register(alive)
    embedded._register(gone)
    embedded._register(alive)   # listed once
    assert set(json.loads(embedded.registry_path().read_text())) == {str(alive), str(gone)}
    assert embedded.known_servers() == [alive]
    assert set(json.loads(embedded.registry_path().read_text())) == {str(alive)}


def test_a_registry_that_cannot_be_written_never_stops_a_start(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")   # the cache "folder" is a file: nothing can be created below it
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    embedded._register(tmp_path / "pgdata")
    assert embedded.known_servers() == []


def test_a_damaged_registry_is_read_as_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    embedded.registry_path().parent.mkdir(parents=True)
    embedded.registry_path().write_text("[not, json")
    assert embedded.known_servers() == []


def test_the_project_of_a_server():
    assert embedded.project_of(Path("/w/proj/.pgshift/pgdata")) == Path("/w/proj")
    assert embedded.project_of(Path("/tmp/pgshift-test-x/pgdata")) is None
