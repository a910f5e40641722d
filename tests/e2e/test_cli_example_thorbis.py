"""examples/thorbis: the README's first command, `pgshift up` on the embedded PostgreSQL, run as a
user types it. The example's behaviour is tested in-process in tests/integration/test_example_thorbis.py."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import query, run_cli

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "thorbis"
LEDGER = "shared.migration_log"
VERSIONS = sorted(p.name[:14] for p in (PROJECT / "migrations").glob("*.sql"))


def test_readme_first_command_applies_the_example_on_the_embedded_server(tmp_path, monkeypatch):
    copy = tmp_path / "thorbis"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns(".pgshift"))
    for key in list(os.environ):   # a fresh machine: nothing points at a server
        if key.startswith("PG") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    pgdata = copy / ".pgshift" / "pgdata"
    try:
        r = run_cli("--project", str(copy), "up", timeout=300)
        assert r.code == 0, r.all
        assert f"applied {len(VERSIONS)} migration(s)" in r.out
        for path in sorted((copy / "migrations").glob("*.sql")):
            assert path.stem[15:] in r.all, f"{path.stem} not reported"
        assert (pgdata / "PG_VERSION").is_file()
        url = run_cli("--project", str(copy), "db", "url")
        assert url.code == 0, url.all
        # [env.dev] database = "thorbis_business_os": the README's database, with the ledger
        assert query(url.out.strip(), f"SELECT current_database(), count(*) FROM {LEDGER} WHERE status = 'completed'") \
            == [("thorbis_business_os", len(VERSIONS))]
    finally:
        stop = run_cli("--project", str(copy), "db", "stop")
        if stop.code != 0:   # never leave a server behind
            from pgshift import embedded
            embedded.stop(pgdata)
    assert stop.code == 0, stop.all
