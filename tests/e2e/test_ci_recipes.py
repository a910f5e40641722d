"""CI recipes that work (issue 17, point 6): docs/ci.md's GitHub Actions workflow and pre-commit
hook run as written (their `run:` lines and `entry`, read from the page, executed by bash against
a copy of the example project), `status --exit-code`, shell completion, `new --edit`, and the
LICENSE and install wording they rely on."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_environ, run_cli, write_project

ROOT = Path(__file__).resolve().parents[2]
CI_MD = ROOT / "docs" / "ci.md"
EXAMPLE = ROOT / "examples" / "thorbis"


def _yaml_block(starting: str) -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", CI_MD.read_text(), re.S)
    found = [b for b in blocks if b.startswith(starting)]
    assert len(found) == 1, f"docs/ci.md has no single yaml block starting {starting!r}"
    return found[0]


def _field(block: str, name: str) -> str:
    values = re.findall(rf"^\s*-?\s*{name}:\s*(.+?)\s*$", block, re.M)
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


@pytest.fixture
def workspace(tmp_path):
    """A copy of this repository's example project where the recipes run, and a PATH on which
    `pgshift` is this checkout's (the interpreter running the tests)."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "examples" / "thorbis", ignore=shutil.ignore_patterns(".pgshift", "tests"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "pgshift"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m pgshift "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return repo, bin_dir


def _bash(line: str, cwd: Path, bin_dir: Path, env: dict) -> subprocess.CompletedProcess:
    full = clean_environ({**env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CI": "true"})
    return subprocess.run(["bash", "-eo", "pipefail", "-c", line], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=600)


def test_the_workflow_runs_as_written(workspace, pgshift_database_url):
    repo, bin_dir = workspace
    workflow = _yaml_block("# .github/workflows/migrations.yml")
    assert _field(workflow, "DATABASE_URL").startswith("postgresql://")   # the service the steps use
    runs = re.findall(r"^\s*- run: (.+)$", workflow, re.M)
    assert runs[0] == "pip install ." and (ROOT / "pyproject.toml").is_file()   # this repository, installed
    assert runs[1:] and all(line.startswith("pgshift ") for line in runs[1:])
    # the service's database is the test's own, fresh and empty, as a service's is on each run
    for line in runs[1:]:
        done = _bash(line, repo, bin_dir, {"DATABASE_URL": pgshift_database_url})
        assert done.returncode == 0, f"`{line}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        if "lint --format github" in line:
            assert done.stdout.startswith("::"), done.stdout[:500]   # annotations
    assert "status --exit-code" in runs[-1]


def test_status_exit_code_says_whether_migrations_are_pending(tmp_path, pgshift_database_url):
    root = write_project(tmp_path / "proj", {"20250101000001_a.sql": "CREATE TABLE a (id int);\n"})
    args = ("--project", str(root), "--database-url", pgshift_database_url)
    pending = run_cli("status", "--exit-code", *args)
    assert pending.code == 1 and "pending" in pending.out, pending.all
    assert run_cli("status", *args).code == 0                      # without the flag: 0, as before
    as_json = run_cli("status", "--exit-code", "--json", *args)
    assert as_json.code == 1 and json.loads(as_json.out)["up_to_date"] is False
    assert run_cli("up", *args).code == 0
    done = run_cli("status", "--exit-code", "--json", *args)
    assert done.code == 0 and json.loads(done.out)["up_to_date"] is True, done.all


def test_the_pre_commit_hook_runs_as_written(workspace):
    repo, bin_dir = workspace
    hook = _yaml_block("# .pre-commit-config.yaml")
    assert _field(hook, "repo") == "local" and _field(hook, "language") == "system"
    assert _field(hook, "pass_filenames") == "true"
    entry, files = _field(hook, "entry"), re.compile(_field(hook, "files"))
    tracked = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file())
    staged = [f for f in tracked if files.search(f)]           # as `pre-commit run --all-files` passes them
    assert len(staged) > 10 and any("/rollbacks/" in f for f in staged)
    clean = _bash(f"{entry} {shlex.join(staged)}", repo, bin_dir, {})
    assert clean.returncode == 0, clean.stdout + clean.stderr

    # a commit that adds a migration with the rollback stub `pgshift new` wrote, never filled in
    made = _bash("pgshift --project examples/thorbis new add_widgets", repo, bin_dir, {})
    assert made.returncode == 0, made.stderr
    new_files = [str(Path(p).relative_to(repo)) for p in made.stdout.replace("created ", "").split()]
    assert all(files.search(f) for f in new_files)
    blocked = _bash(f"{entry} {shlex.join(new_files)}", repo, bin_dir, {})
    assert blocked.returncode == 1 and "empty-rollback" in blocked.stdout, blocked.stdout + blocked.stderr


def test_shell_completion_prints_a_script_and_completes(tmp_path):
    for shell, marker in (("bash", "_pgshift_completion()"), ("zsh", "#compdef pgshift"), ("fish", "complete")):
        script = subprocess.run([sys.executable, "-m", "pgshift"], capture_output=True, text=True,
                                env={**os.environ, "_PGSHIFT_COMPLETE": f"{shell}_source"})
        assert script.returncode == 0 and marker in script.stdout, (shell, script.stdout[:300], script.stderr)
    assert "_PGSHIFT_COMPLETE=bash_source pgshift" in CI_MD.read_text()
    words = subprocess.run([sys.executable, "-m", "pgshift"], capture_output=True, text=True,
                           env={**os.environ, "_PGSHIFT_COMPLETE": "bash_complete", "COMP_WORDS": "pgshift db ",
                                "COMP_CWORD": "2"})
    assert [line.split(",")[1] for line in words.stdout.split()] == ["list", "start", "status", "stop", "url"]


def test_new_edit_opens_the_files_in_the_editor(tmp_path):
    root = write_project(tmp_path / "proj", {})
    record = tmp_path / "edited.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {shlex.quote(str(record))}\n')
    editor.chmod(0o755)
    made = run_cli("new", "add_things", "--edit", "--project", str(root), env={"EDITOR": str(editor), "VISUAL": ""})
    assert made.code == 0, made.all
    opened = record.read_text().split()
    assert [Path(p).name for p in opened] == [Path(p).name for p in made.out.replace("created ", "").split()]
    assert len(opened) == 2 and opened[1].endswith("_rollback_add_things.sql")
    # $VISUAL wins over $EDITOR, and an editor with arguments runs through the shell
    record.unlink()
    made = run_cli("new", "more", "--edit", "--project", str(root),
                   env={"VISUAL": f"{editor} --wait", "EDITOR": "/bin/false"})
    assert made.code == 0 and record.read_text().split()[0] == "--wait", made.all
    # no editor at all: refused before anything is created
    before = sorted((root / "migrations").rglob("*.sql"))
    refused = run_cli("new", "third", "--edit", "--project", str(root), env={"EDITOR": "", "VISUAL": ""})
    assert refused.code == 2 and "VISUAL nor EDITOR" in refused.err
    assert sorted((root / "migrations").rglob("*.sql")) == before


def test_license_and_install_wording_are_true():
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "the pgshift authors" in license_text
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "pip install pgshift" not in readme          # not published: it cannot work
    assert "<this repository's URL>" not in readme and "repo: local" in readme
    assert "docs/ci.md" in readme
