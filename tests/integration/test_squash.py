"""Squash (issue 14, point 5) on the example project: a baseline in place of the history, proven."""
from __future__ import annotations

import shutil
from pathlib import Path

from conftest import call, query, states, up, up_fails
from pgshift import api
from pgshift.rehearsal import diff, snapshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "thorbis"
LEDGER = "shared.migration_log"


def _snapshot(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return snapshot.take(conn, exclude=(LEDGER,))


def _new_database(server_url, name):
    from pgshift import db

    db.drop_database(server_url, name)
    return db.create_database(server_url, name)


def test_squash_the_example_project(tmp_path, pgshift_database_url, pgshift_server_url):
    root = tmp_path / "thorbis"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("tests", "__pycache__", ".pgshift"))
    versions = sorted(p.name[:14] for p in (root / "migrations").glob("*.sql"))
    to = versions[9]            # the first ten versions squashed; four stay after the baseline
    history_url = _new_database(pgshift_server_url, "squash_history")
    full_url = _new_database(pgshift_server_url, "squash_full")
    fresh_url = _new_database(pgshift_server_url, "squash_fresh")
    up(root, history_url, target=to)          # a database that applied the history up to the baseline
    up(root, full_url)                        # one that applied everything before the squash

    result, events = call(api.squash, root, pgshift_database_url, to)
    assert result.version == to and result.replaced == tuple(versions[:10])
    baseline = root / result.baseline
    text = baseline.read_text()
    assert f"-- Replaces: {versions[0]}..{to}" in text
    assert sorted(p.name[:14] for p in (root / "migrations").glob("*.sql")) == [to] + versions[10:]
    assert len(list((root / result.archived_to).glob("*.sql"))) == 10
    assert "snapshots equal" in events.text

    # a new database applies the baseline, then the later versions: the full history's schema
    fresh, _ = up(root, fresh_url)
    assert [s.version for s in fresh.run.steps] == [to] + versions[10:]
    assert diff.diff(_snapshot(full_url), _snapshot(fresh_url)) == []

    # the database that applied the history up to the baseline: status clean, later versions apply
    assert states(root, history_url) == {to: "applied", **{v: "pending" for v in versions[10:]}}
    later, _ = up(root, history_url)
    assert [s.version for s in later.run.steps] == versions[10:]
    assert states(root, history_url) == {v: "applied" for v in [to] + versions[10:]}
    assert diff.diff(_snapshot(full_url), _snapshot(history_url)) == []
    verified, _ = call(api.verify, root, history_url)
    assert verified.ok

    # the fully migrated one: nothing to do
    assert call(api.status, root, full_url)[0].to_apply == ()

    # one that applied only part of the history is refused: the baseline cannot run on top of it
    partial_url = _new_database(pgshift_server_url, "squash_partial")
    query(partial_url, "SELECT 1")
    archived = root / result.archived_to
    old = tmp_path / "old"
    shutil.copytree(EXAMPLE, old, ignore=shutil.ignore_patterns("tests", "__pycache__", ".pgshift"))
    up(old, partial_url, target=versions[3])
    err, _ = up_fails(2, root, partial_url)
    assert "applied only some of them" in err.message
    assert archived.is_dir()
