"""Predictions vs observations (issue 13): `pgshift plan` over the example project
(examples/thorbis, 14 migrations) and the guide's templates (tests/fixtures/guide), every
statement's locks observed on the copy and reconciled with lint's predictions. The counts are
the README's agreement table; a mismatch listed here is a known difference, explained there."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from test_guide import GUIDE, _project, thorbis_db  # noqa: F401 - the guide's database fixture

from conftest import call
from pgshift import api

THORBIS = Path(__file__).resolve().parents[2] / "examples" / "thorbis"


def agreement(result) -> Counter:
    return Counter(v["verdict"] for s in result.document["statements"] for v in s["verdicts"])


def mismatches(result) -> list[tuple]:
    return sorted({(s["kind"], v["relation"], v["predicted"], v["observed"], v["verdict"])
                   for s in result.document["statements"] for v in s["verdicts"]
                   if v["verdict"] in ("mismatch", "observed only", "predicted only")})


def _unexplained(result) -> list[tuple]:
    """Verdicts that are neither agreement nor explained: a mismatch anywhere; a lock observed
    only, outside what the text cannot tell (DO, COMMENT); a lock predicted only, outside a
    statement run in autocommit (its lock can be shorter than the sampler's 3 ms)."""
    out = []
    for s in result.document["statements"]:
        for v in s["verdicts"]:
            if v["verdict"] == "mismatch" or (v["verdict"] == "observed only" and s["kind"] not in ("DoStmt", "CommentStmt")) \
                    or (v["verdict"] == "predicted only" and s["mode"] != "autocommit"
                        and v["relation"] != '"information_schema"."tables"'):
                out.append((s["file"], s["line"], s["kind"], v))
    return out


def test_the_example_project(tmp_path, pgshift_database_url):
    root = tmp_path / "thorbis"
    shutil.copytree(THORBIS, root)
    result, _ = call(api.plan, root, pgshift_database_url, api.PlanOptions())
    statements = result.document["statements"]
    assert len(result.document["versions"]) == 14 and len(statements) == 289
    assert [s for s in statements if s["error"]] == []
    counts = agreement(result)
    print("THORBIS", dict(counts))
    # a short autocommit lock may slip between the sampler's reads on a loaded machine: it is then
    # "predicted only" instead of "confirmed"; what the two add up to does not depend on the timing
    assert counts["mismatch"] == 0 and counts["confirmed"] >= 20
    assert counts["confirmed"] + counts["predicted only"] >= 50
    assert _unexplained(result) == []
    assert result.ok


def test_the_guide_templates(tmp_path, thorbis_db):  # noqa: F811
    # the index template opens BEGIN around CREATE INDEX CONCURRENTLY: refused before anything (test_guide)
    names = sorted(p.name for p in GUIDE.glob("*.sql") if "optimize_query_performance" not in p.name)
    root = _project(tmp_path, names)
    result, _ = call(api.plan, root, thorbis_db, api.PlanOptions())
    counts = agreement(result)
    print("GUIDE", dict(counts))
    assert counts["mismatch"] == 0 and counts["confirmed"] >= 2
    assert counts["confirmed"] + counts["predicted only"] >= 5   # see test_the_example_project
    assert _unexplained(result) == []
    # the data template needs legacy_customers, which nothing creates: the plan fails where up would
    assert [(s["file"].rsplit("/", 1)[-1], s["line"], s["error"]) for s in result.document["statements"]
            if s["error"]] == [("20250115150000_migrate_legacy_customer_data.sql", 22,
                                'relation "legacy_customers" does not exist')]
    assert not result.ok
