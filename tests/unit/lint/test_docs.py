"""The rules' documentation: docs/rules.md generated from docstrings, --explain, --list, the module CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pgshift.errors import InputError
from pgshift.lint import docs
from pgshift.lint.registry import RULES, all_rules, explain, get_rule, list_rules

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "tests" / "fixtures" / "guide" / "migrations"


def test_docs_rules_md_is_up_to_date():
    current = (ROOT / "docs" / "rules.md").read_text()
    assert current == docs.generate(), "docs/rules.md is stale: run `python -m pgshift.lint.docs > docs/rules.md`"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_is_documented(rule):
    assert rule.summary and rule.summary.endswith(".")
    assert "**Problem.**" in rule.doc
    assert "**Safe alternative.**" in rule.doc
    assert "**Example.**" in rule.doc
    assert rule.id == rule.id.lower() and " " not in rule.id and "_" not in rule.id


def test_one_line_registration():
    assert len(RULES) == len(set(RULES)) == len(all_rules())
    for name, rule in zip(RULES, all_rules(), strict=True):
        assert rule.module == f"pgshift.lint.rules.{name}"


def test_explain_and_aliases():
    text = explain("rls-without-policy")
    assert text.startswith("enable-rls-without-policy  (error; PostgreSQL versions: all)")
    assert "**Safe alternative.**" in text
    assert get_rule("RLS-without-policy").id == "enable-rls-without-policy"
    with pytest.raises(KeyError, match="did you mean require-concurrent-index"):
        explain("concurrent-index")
    with pytest.raises(InputError) as info:
        explain("nonsense")
    assert info.value.exit_code == 2 and "--list" in info.value.hint


def test_list_rules():
    rows = list_rules()
    assert {"id", "severity", "versions", "summary"} <= set(rows[0])
    by_id = {r["id"]: r for r in rows}
    assert by_id["detach-partition"]["versions"] == "14+"
    assert by_id["require-lock-timeout"]["severity"] == "info"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "pgshift.lint", *args], capture_output=True, text=True, cwd=ROOT)


def test_module_cli_exit_codes(tmp_path):
    guide = _run(str(GUIDE))
    assert guide.returncode == 1
    assert "20250115155000_optimize_query_performance.sql:26:1  error  concurrently-in-transaction" in guide.stdout
    assert "rollbacks/20250115143000_rollback_inventory_management.sql:61:1  error  syntax-error" in guide.stdout
    clean = tmp_path / "20250101000000_ok.sql"
    clean.write_text("CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);\n")
    assert _run(str(clean)).returncode == 0
    assert _run(str(tmp_path / "missing.sql")).returncode == 2
    assert _run("--explain", "truncate").stdout.startswith("truncate  (warning")
    assert _run("--list").stdout.count("\n") == len(all_rules())
