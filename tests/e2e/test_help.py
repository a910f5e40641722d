"""`pgshift --help` lists every command from a table without importing one; a command
imports only its own module."""
from __future__ import annotations

import subprocess
import sys
from importlib import import_module

import click

from conftest import run_cli
from pgshift.cli import COMMANDS, cli
from pgshift.errors import ExitCode


def test_the_table_says_what_each_command_says_of_itself():
    for name, (module, line) in COMMANDS.items():
        command = getattr(import_module(f"pgshift.cli.{module}"), name)
        assert isinstance(command, click.Command) and command.name == name
        assert command.help.split("\n\n")[0].strip() == line, name


def test_help_lists_every_command_with_its_line():
    result = run_cli("--help")
    assert result.code == ExitCode.OK
    listed = result.out.split("Commands:\n", 1)[1].splitlines()
    assert [row.split()[0] for row in listed] == sorted(COMMANDS)
    assert "  up        Apply pending migrations in version order." in listed


def test_help_of_a_command_and_of_the_db_group():
    up = run_cli("up", "--help")
    assert up.code == ExitCode.OK and up.out.startswith("Usage: pgshift up [OPTIONS]")
    options = [line.split()[0] for line in up.out.split("Options:\n")[1].splitlines() if line.startswith("  -")]
    assert options[-8:] == ["--project", "--env", "--database-url", "--json", "--no-color", "-v,", "-q,", "-h,"]
    db = run_cli("db", "--help")
    assert [line.split()[0] for line in db.out.split("Commands:\n")[1].splitlines()] == ["list", "start", "status",
                                                                                       "stop", "url"]


def test_a_command_loads_its_own_module_only(tmp_path):
    code = ("import sys; from pgshift.cli import main; code = main(['status', '--project', sys.argv[1]]); "
            "print(sorted(m for m in sys.modules if m.startswith('pgshift.cli.')))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nowhere")], capture_output=True, text=True)
    loaded = eval(proc.stdout.strip().splitlines()[-1])  # noqa: S307 - our own printed list
    assert set(loaded) <= {"pgshift.cli.options", "pgshift.cli.session", "pgshift.cli.render",
                           "pgshift.cli.reporters", "pgshift.cli.status"}, loaded
    assert "pgshift.cli.status" in loaded


def test_version():
    result = run_cli("--version")
    assert result.code == ExitCode.OK and result.out.startswith("pgshift, version ")
    assert cli.name == "cli"
