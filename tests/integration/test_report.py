"""`pgshift report`: the page renders in headless Chromium (the Debian package; CI installs it),
with the ledger timeline (one bar per event), the lint tables, the failing version's error and the
round trip in the rendered DOM; a screenshot that is not blank and shows the timeline's colours;
every text from the project escaped."""
from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import call, ledger_rows, open_project, run_cli, up, up_fails
from pgshift import api
from pgshift.cli.render import dump_json

PROJECT = {
    "20250101000001_customers.sql": """
        CREATE TABLE customers (id bigint PRIMARY KEY, name text, email varchar(200), created timestamp);
        SELECT pg_sleep(0.2);
    """,
    "rollbacks/20250101000001_rollback_customers.sql": "DROP TABLE customers;\n",
    "20250101000002_customer_index.sql": "CREATE INDEX customers_name_idx ON customers (name);\n",
    "rollbacks/20250101000002_rollback_customer_index.sql": "DROP INDEX customers_name_idx;\n",
    "20250101000003_tier.sql": "ALTER TABLE customers ADD COLUMN tier text DEFAULT 'basic';\nSELECT pg_sleep(0.1);\n",
    # leaves the column behind: the round trip finds the difference
    "rollbacks/20250101000003_rollback_tier.sql": "ALTER TABLE customers ALTER COLUMN tier DROP DEFAULT;\n",
}
FAILING = "20250101000004_gold_tier.sql"
ERROR_TEXT = "tier check failed: 3 customers have no tier"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:   # a failure, not a skip: the report's proof is that a browser renders it
        pytest.fail("chromium is not installed: `apt-get install chromium` (.ci/run installs it)")
    return found


def _browser(page: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           *args, page.as_uri()], capture_output=True, text=True, timeout=120, check=True)


def dump_dom(page: Path) -> str:
    return _browser(page, "--dump-dom").stdout


def screenshot(page: Path, png: Path, size: str = "1200,900") -> Path:
    _browser(page, f"--screenshot={png}", f"--window-size={size}")
    return png


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, decoded with zlib."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a, b, c = (line[i - bpp] if i >= bpp else 0), prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r) for r in rows] if bpp == 3 else [
        b"".join(r[i:i + 3] for i in range(0, len(r), 4)) for r in rows]


def colours(path: Path) -> dict[tuple[int, int, int], int]:
    """How many pixels of each RGB colour the screenshot has."""
    _, _, rows = png_pixels(path)
    counts: dict[tuple[int, int, int], int] = {}
    for row in rows:
        for i in range(0, len(row), 3):
            key = (row[i], row[i + 1], row[i + 2])
            counts[key] = counts.get(key, 0) + 1
    return counts


def _near(counts: dict, hex_colour: str, at_least: int = 40, slack: int = 6) -> int:
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(n for c, n in counts.items() if all(abs(a - b) <= slack for a, b in zip(c, want, strict=True))) \
        >= at_least


@pytest.fixture
def history(project, pgshift_database_url, tmp_path):
    """A project with a history: a run, a rollback, a run that applies it again, a failed version; the round
    trip of the first three versions saved as `pgshift --json test --roundtrip` writes it."""
    root, url = project(PROJECT), pgshift_database_url
    proof = run_cli("--json", "test", "--roundtrip", "--project", str(root), "--database-url", url)
    assert proof.code == 1, proof.all        # 003's rollback leaves its column behind
    (tmp_path / "roundtrip.json").write_text(proof.out)
    up(root, url, target="20250101000002")
    call(api.rollback, root, url, "20250101000002", api.RollbackOptions(yes=True))
    up(root, url)
    (root / "migrations" / FAILING).write_text(
        f"UPDATE customers SET tier = 'gold';\nDO $$ BEGIN RAISE EXCEPTION '{ERROR_TEXT}'; END $$;\n")
    up_fails(1, root, url)
    return root, url, tmp_path / "roundtrip.json"


def test_the_report_renders_in_chromium(history, tmp_path):
    root, url, roundtrip_file = history
    page = tmp_path / "out" / "report.html"
    planned, _ = call(api.plan, root, url, api.PlanOptions())       # the failed version, planned again
    (tmp_path / "plan.json").write_text(dump_json(planned.to_dict()))
    result, _ = call(api.report, root, url, page, roundtrip_from=roundtrip_file, plan_from=tmp_path / "plan.json")
    assert result.path == str(page) and page.is_file()
    events = len(ledger_rows(url))
    assert (result.versions, result.events) == (4, events) and events == 6
    assert result.states == {"applied": 3, "failed": 1}
    assert result.findings and result.findings >= 3
    assert (result.roundtrip, result.roundtrip_failed) == (3, 1)

    dom = dump_dom(page)
    # the ledger timeline: one bar per event, the failed one red, the rollback drawn as one
    timeline = re.search(r'<svg class="timeline".*?</svg>', dom, re.S).group(0)
    bars = re.findall(r'<rect class="bar bar-(\w+) kind-(\w+)"', timeline)
    assert len(bars) == events
    assert bars.count(("ok", "migrate")) == 4 and ("back", "rollback") in bars and bars[-1] == ("bad", "migrate")
    assert "20250101000003 tier" in timeline and ERROR_TEXT in timeline   # the failed bar's tooltip
    # each version's state, the failing version's error under it
    failed_row = re.search(r'<tr class="version failed" data-version="20250101000004">.*?</tr>', dom, re.S).group(0)
    assert ERROR_TEXT in failed_row and 'class="pill s-failed"' in failed_row
    # lint: by rule, by file, and every finding's row
    assert re.search(r'<tr class="finding error"><td><span class="pill sev-error">error</span></td>'
                     r'<td class="mono key">require-concurrent-index</td><td class="mono">migrations/<wbr>'
                     r'20250101000002_customer_index\.sql:1:1</td>', dom)
    assert "<h3 class=\"sub\">By rule</h3>" in dom and "<h3 class=\"sub\">By file</h3>" in dom
    # the round trip, read from the earlier run's JSON
    assert re.search(r'<tr class="check failed"><td class="mono key">20250101000003</td>', dom)
    assert dom.count('<tr class="check passed">') == 2
    # the plan given: its verdict and a row per statement with its locks; drift: the schema against what
    # the last completed version left
    plans = re.search(r'<section id="plans">.*?</section>', dom, re.S).group(0)
    assert "1 pending version(s) on " in plans and "the plan fails its policy" in plans, plans
    statements = re.findall(r'<tr class="statement"><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>', plans)
    assert [s[0] for s in statements] == [f"migrations/{FAILING}:1", f"migrations/{FAILING}:2"], statements
    assert statements[0][1] == "UPDATE customers SET tier = 'gold'" and "ROW EXCLUSIVE customers" in statements[0][2]
    assert "Read from plan.json" in plans
    assert re.search(r'<section id="drift">.*?No drift: the schema is what 20250101000003 left', dom, re.S)

    png = screenshot(page, tmp_path / "report.png")
    counts = colours(png)
    assert len(counts) > 50, "the screenshot is (nearly) blank"
    assert _near(counts, "#1f2933", at_least=20_000), "the header band is not visible"
    assert _near(counts, "#2f9e44"), "no green bar or state is visible"
    assert _near(counts, "#e03131"), "the failed version's red is not visible"


def test_every_text_from_the_project_is_escaped(project, pgshift_database_url, tmp_path):
    hostile = "<script>alert(1)</script>"
    root = project({"20250101000001_x.sql": f"DO $$ BEGIN RAISE EXCEPTION '{hostile} & \"quotes\"'; END $$;\n"})
    up_fails(1, root, pgshift_database_url)
    page = tmp_path / "report.html"
    project_, _ = open_project(root, pgshift_database_url)
    # the round trip cannot run (the migration fails on the throwaway database too): its section says why
    result = api.report(project_, page, roundtrip=True)
    assert hostile in result.roundtrip_error and result.roundtrip is None
    html = result.html
    assert hostile not in html and "<script" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;") == 3   # state, bar, trip
    dom = dump_dom(page)
    assert "<script" not in dom                              # no element was made of it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom    # it shows as text


def test_the_cli_writes_the_page_and_runs_the_round_trip(project, pgshift_database_url, tmp_path):
    root = project({k: v for k, v in PROJECT.items() if "0003" not in k})
    out = run_cli("--json", "report", "--roundtrip", "--out", str(tmp_path / "r.html"),
                  "--project", str(root), "--database-url", pgshift_database_url, cwd=tmp_path)
    assert out.code == 0, out.all
    result = json.loads(out.out)
    assert result["path"] == str(tmp_path / "r.html") and result["bytes"] > 5000
    assert (result["versions"], result["states"], result["events"]) == (2, {"pending": 2}, 0)
    assert (result["roundtrip"], result["roundtrip_failed"], result["roundtrip_error"]) == (2, 0, None)
    html = (tmp_path / "r.html").read_text()
    assert "No ledger table" in html and html.count('<tr class="check passed">') == 2
    plain = run_cli("report", "--project", str(root), "--database-url", pgshift_database_url, cwd=tmp_path)
    assert plain.code == 0 and (tmp_path / "pgshift-report.html").is_file(), plain.all
    assert plain.out.startswith(f"wrote {tmp_path / 'pgshift-report.html'} (2 version(s), 0 ledger event(s)")
    both = run_cli("report", "--roundtrip", "--roundtrip-from", "x.json", "--project", str(root), cwd=tmp_path)
    assert both.code == 2 and "exclude each other" in both.err
    missing = run_cli("report", "--roundtrip-from", "nope.json", "--project", str(root),
                      "--database-url", pgshift_database_url, cwd=tmp_path)
    assert missing.code == 2 and "nope.json" in missing.err


def test_a_plan_that_is_not_one_is_refused_with_the_way_to_write_it(project, pgshift_database_url, tmp_path):
    root = project(PROJECT)
    (tmp_path / "notes.json").write_text('{"versions": []}')
    for given, said in (("missing.json", "cannot read the plan"), ("notes.json", "notes.json holds no plan")):
        result = run_cli("report", "--plan", str(tmp_path / given), "--out", str(tmp_path / "r.html"),
                         "--project", str(root), "--database-url", pgshift_database_url)
        assert result.code == 2 and said in result.err, result.all
    assert not (tmp_path / "r.html").exists()
