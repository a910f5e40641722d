"""The caged fast-tree switch: the same trees as pglast's own, and the cage's rules
(version guard, kill switch, threads, fork)."""
from __future__ import annotations

import gc
import json
import os
import threading
from pathlib import Path

import pglast
import pytest
from pglast import ast

from pgshift.sql import fasttree
from pgshift.sql.fasttree import fast_trees, parse_sql

from .test_parser import TRICKY

ROOT = Path(__file__).resolve().parents[3]
_ORIGINAL_INIT = ast.RangeVar.__dict__["__init__"]
_ORIGINAL_SETATTR = ast.Node.__dict__["__setattr__"]


def pglast_unpatched() -> bool:
    """pglast's own constructors and validation in place."""
    return (ast.RangeVar.__dict__["__init__"] is _ORIGINAL_INIT
            and ast.Node.__dict__.get("__setattr__") is _ORIGINAL_SETATTR
            and pglast.parser.enums is pglast.enums and pglast.parser.ast is pglast.ast)


def pglast_is_as_shipped() -> bool:
    """pglast unpatched, and no fast_trees() block open."""
    return pglast_unpatched() and not fasttree.active() and fasttree._STATE.depth == 0


@pytest.fixture
def switch_allowed(monkeypatch):
    """The switch may patch whatever pglast is installed (to test the fast path itself)."""
    monkeypatch.delenv(fasttree.KILL_SWITCH, raising=False)
    monkeypatch.setattr(fasttree, "TESTED_PGLAST", frozenset({fasttree.pglast_version()}))
    assert pglast_is_as_shipped()
    yield
    assert pglast_is_as_shipped() and gc.isenabled()


def same(a, b, path="") -> None:
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, ast.Node):
        for name in a.__slots__:
            same(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_the_fast_parse_tree_equals_pglasts_own_value_for_value_and_type(switch_allowed):
    files = sorted((ROOT / "examples" / "thorbis" / "migrations").rglob("*.sql"))
    files += sorted((ROOT / "tests" / "fixtures" / "guide" / "migrations").glob("2025011515*.sql"))
    assert len(files) > 25
    checked = 0
    for path in files + [None]:
        text = TRICKY if path is None else path.read_text()
        try:
            reference = pglast.parse_sql(text)
        except pglast.parser.ParseError:
            continue
        with fast_trees():
            assert fasttree.active()
            fast = parse_sql(text)
        same(fast, reference, path.name if path else "TRICKY")
        checked += 1
    assert checked > 25
    # and pglast's validation is back in place afterwards
    with pytest.raises(ValueError):
        ast.Constraint(contype="no such constraint type")
    with pytest.raises(ValueError):
        ast.RangeVar().relname = 12


def test_the_installed_pglast_is_one_the_switch_was_tested_with():
    version = fasttree.pglast_version()
    assert fasttree.supported(), (
        f"pglast {pglast.__version__} is not in fasttree.TESTED_PGLAST, so trees are built the slow way: run "
        f"tests/unit/sql/test_fasttree.py (it forces the switch) and, when it passes, add {version} to it")


def test_versions_are_read_as_major_and_minor():
    assert fasttree.pglast_version("v8.8") == (8, 8)
    assert fasttree.pglast_version("7.22") == (7, 22)
    assert fasttree.pglast_version("v9.0.dev0") == (9, 0)
    assert fasttree.pglast_version("unknown") is None


def test_an_untested_pglast_version_keeps_pglasts_own_constructors(monkeypatch):
    monkeypatch.delenv(fasttree.KILL_SWITCH, raising=False)
    monkeypatch.setattr(fasttree, "TESTED_PGLAST", frozenset({(1, 0)}))
    with fast_trees():
        assert not fasttree.active() and pglast_unpatched()
        tree = parse_sql("SELECT a FROM t")
        assert not gc.isenabled()  # the GC pause does not touch pglast: it stays
        with pytest.raises(ValueError):
            ast.RangeVar().relname = 12
    same(tree, pglast.parse_sql("SELECT a FROM t"))
    assert pglast_is_as_shipped() and gc.isenabled()


@pytest.mark.parametrize("value, on", [("1", False), ("yes", False), ("0", True), ("", True)])
def test_the_kill_switch_turns_it_all_off(switch_allowed, monkeypatch, value, on):
    monkeypatch.setenv(fasttree.KILL_SWITCH, value)
    with fast_trees():
        assert fasttree.active() is on
        assert gc.isenabled() is not on
        assert pglast_unpatched() is not on
        tree = parse_sql("SELECT a FROM t")
    same(tree, pglast.parse_sql("SELECT a FROM t"))


def test_the_switch_is_on_while_any_thread_is_inside_and_off_after_the_last(switch_allowed):
    a_in, b_in, a_out, b_may_leave = (threading.Event() for _ in range(4))
    seen = {}

    def a():
        with fast_trees():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with fast_trees():
            b_in.set()
            a_out.wait(5)
            seen["after a left"] = fasttree.active()   # a left first: still on for b
            b_may_leave.wait(5)                         # the depth is counted while b only sits inside
            seen["tree"] = parse_sql(TRICKY)            # (parse_sql opens a nested block of its own)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    try:
        a_out.wait(5)
        b_in.wait(5)
        assert fasttree.active() and fasttree._STATE.depth == 1
    finally:   # whatever happened, neither thread outlives the test
        b_may_leave.set()
        for t in threads:
            t.join(5)
    assert seen["after a left"] is True
    same(seen["tree"], pglast.parse_sql(TRICKY))
    # and the fixture checks that pglast is back as shipped


def test_many_threads_parsing_at_once_leave_pglast_as_shipped(switch_allowed):
    reference = pglast.parse_sql(TRICKY)
    errors = []
    start = threading.Barrier(8)

    def work():
        try:
            start.wait(5)
            for i in range(40):
                if i % 3:
                    with fast_trees():
                        tree = parse_sql(TRICKY)
                else:
                    tree = parse_sql(TRICKY)
                same(tree, reference)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors


def _in_child(check) -> dict:
    """Fork; run *check* in the child and bring its JSON-able result back."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            os.close(read_fd)
            with os.fdopen(write_fd, "w") as out:
                out.write(json.dumps(check()))
        except BaseException:  # noqa: BLE001 - the parent sees no result
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and data, "the child failed"
    return json.loads(data)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_never_inherits_a_patched_pglast(switch_allowed):
    def child():
        inherited = {"patched": not pglast_unpatched(), "active": fasttree.active(),
                     "gc": gc.isenabled(), "depth": fasttree._STATE.depth}
        with fast_trees():   # the child turns the switch on and off again by itself
            on_again = fasttree.active()
            tree = parse_sql("SELECT a FROM t")
        same(tree, pglast.parse_sql("SELECT a FROM t"))
        return {**inherited, "on_again": on_again, "as_shipped_after": pglast_is_as_shipped()}

    outer = fast_trees()
    outer.__enter__()
    try:
        assert fasttree.active()
        seen = _in_child(child)
        assert fasttree.active() and not gc.isenabled()   # the parent's switch is untouched
    finally:
        outer.__exit__(None, None, None)
    assert seen == {"patched": False, "active": False, "gc": True, "depth": 0, "on_again": True,
                    "as_shipped_after": True}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_block_entered_before_the_fork_ends_as_a_no_op_in_the_child(switch_allowed):
    def child():
        inner = fast_trees()
        inner.__enter__()                          # entered in the child
        outer.__exit__(None, None, None)           # the parent's block ends in the child: nothing happens
        still_on = fasttree.active()
        inner.__exit__(None, None, None)
        return {"still_on": still_on, "as_shipped": pglast_is_as_shipped(), "gc": gc.isenabled()}

    outer = fast_trees()
    outer.__enter__()
    try:
        seen = _in_child(child)
    finally:
        outer.__exit__(None, None, None)
    assert seen == {"still_on": True, "as_shipped": True, "gc": True}
