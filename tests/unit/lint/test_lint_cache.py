"""The lint cache: a file unchanged since the last lint of the same settings is not linted
again, and what the command prints is the same, byte for byte, as without the cache."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

MIGRATION = ("CREATE TABLE t{i} (id int PRIMARY KEY, note varchar(20));\nCREATE INDEX t{i}_idx ON orders (note);\n"
             "ALTER TABLE orders ADD CONSTRAINT orders_{i}_fk FOREIGN KEY (c) REFERENCES c (id);\n"
             "-- pgshift:ignore prefer-text\nUPDATE orders SET note = 'x' WHERE note IS NULL;\n")
OLD = time.time() - 60     # older than the cache's racy window: such files are kept


def _project(root, files=3, *, old=True):
    (root / "migrations").mkdir(parents=True)
    for i in range(files):
        path = root / "migrations" / f"2025010100{i:04d}_m{i}.sql"
        path.write_text(MIGRATION.format(i=i))
        if old:
            os.utime(path, (OLD, OLD))
    return root


def _lint(root, *args, env=None):
    """(exit code, stdout, stderr, whether pglast was loaded) of `pgshift lint ARGS` in *root*."""
    code = ("import sys\nfrom pgshift.cli import main\ncode = main(sys.argv[1:])\n"
            "sys.stderr.write('PGLAST=%s' % ('pglast' in sys.modules))\nsys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", code, "lint", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    err, _, loaded = proc.stderr.rpartition("PGLAST=")
    return proc.returncode, proc.stdout, err, loaded == "True"


@pytest.mark.parametrize("fmt", ["json", "text", "sarif", "github"])
def test_a_second_lint_reads_the_cache_and_prints_the_same(tmp_path, fmt):
    root = _project(tmp_path)
    fresh = _lint(root, "--no-cache", "--format", fmt)
    assert not (root / ".pgshift_cache").exists()        # --no-cache writes nothing
    first = _lint(root, "--format", fmt)
    assert (root / ".pgshift_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    second = _lint(root, "--format", fmt)
    assert fresh[0] == first[0] == second[0] == 1
    assert fresh[1] == first[1] == second[1] and "require-concurrent-index" in second[1]
    assert fresh[2] == first[2] == second[2]
    assert first[3]
    if fmt in ("json", "text"):     # the second lint never loaded the parser (SARIF documents the rules)
        assert not second[3]


def test_an_edited_file_is_linted_again(tmp_path):
    root = _project(tmp_path)
    _lint(root)
    path = root / "migrations" / "20250101000001_m1.sql"
    path.write_text("CREATE INDEX CONCURRENTLY t1_idx ON orders (note);\n")
    code, out, _, parsed = _lint(root)

    def flagged(name):
        return any(name in line and "require-concurrent-index" in line for line in out.splitlines())
    assert parsed and not flagged("_m1.sql") and flagged("_m0.sql")


def test_an_edit_that_keeps_size_and_time_is_seen_while_the_file_is_new(tmp_path):
    """A write in the same tick of a coarse clock leaves size and time as they were: a file
    changed that recently is not kept, so its next lint reads it."""
    root = _project(tmp_path, 1, old=False)
    path = root / "migrations" / "20250101000000_m0.sql"
    before = path.stat()
    assert "require-concurrent-index" in _lint(root)[1]
    path.write_text(MIGRATION.format(i=0).replace("CREATE INDEX t0_idx", "CREATE TABLE t0_idx"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert "require-concurrent-index" not in _lint(root)[1]


def test_a_new_checkout_of_the_same_text_reads_the_cache(tmp_path):
    """A checkout gives every file a new time: the text, compared by digest, is what counts."""
    root = _project(tmp_path)
    first = _lint(root, "--format", "json")
    for path in (root / "migrations").iterdir():
        os.utime(path, (OLD + 30, OLD + 30))
    again = _lint(root, "--format", "json")
    assert again[:3] == first[:3] and not again[3]
    assert not _lint(root, "--format", "json")[3]     # and the new times are kept


def test_settings_and_rollbacks_are_part_of_the_key(tmp_path):
    root = _project(tmp_path, 1)
    assert "missing-rollback" in _lint(root)[1]
    (root / "pgshift.toml").write_text('[pgshift]\n[lint]\ndisable = ["fk-not-valid"]\n')
    out = _lint(root)[1]
    assert "fk-not-valid" not in out and "require-concurrent-index" in out
    (root / "migrations" / "rollbacks").mkdir()
    (root / "migrations" / "rollbacks" / "20250101000000_rollback_m0.sql").write_text("DROP TABLE t0;\n")
    assert "missing-rollback" not in _lint(root, "migrations")[1]
    assert _lint(root, "--target-version", "10")[1] != _lint(root)[1]


def test_a_damaged_or_unwritable_cache_is_no_cache(tmp_path):
    root = _project(tmp_path)
    expected = _lint(root, "--no-cache", "--format", "json")
    _lint(root, "--format", "json")
    (cache,) = (root / ".pgshift_cache").glob("lint-*.marshal")
    cache.write_bytes(b"\x00garbage")
    again = _lint(root, "--format", "json")
    assert again[:3] == expected[:3] and again[3]
    assert _lint(root, "--format", "json")[:3] == expected[:3]      # written anew, and read
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache's folder would be")
    other = _lint(root, "--format", "json", env={"PGSHIFT_CACHE_DIR": str(blocked / "cache")})
    assert other[:3] == expected[:3]


def test_findings_are_encoded_as_json_dumps_would():
    import json

    from pgshift.lint.cache import encode_findings, findings_of
    from pgshift.model import Finding, Location

    findings = [Finding("set-not-null", "error", Location('mig/"quoted"\\name ü.sql', 3, 14),
                        "line\nbreak\ttab \x01 control, emoji \U0001F600, \u2028 separator", None),
                Finding("prefer-text", "info", Location("a.sql", 1), "plain", 'hint with "quotes" and ü')]
    expected = json.dumps([f.to_dict() for f in findings], separators=(",", ":"), ensure_ascii=False)[1:-1]
    assert encode_findings(findings) == expected
    assert findings_of(encode_findings(findings)) == findings
    assert encode_findings([]) == ""
