"""The fast-tree switch: pglast's parse trees built several times faster, in a cage.

This is the only module that patches pglast (ARCHITECTURE.md habit 8).

pglast builds a tree by calling each node class's constructor, which validates every
attribute through ``Node.__setattr__``. The values come from PostgreSQL's own C
parser, so they are valid already. While the switch is on, each node class has a
generated ``__init__`` (:func:`_fast_init`) that stores the values as they are, through
pglast's own conversion where pglast would convert (an enum, a bool adaptor), and without a call where
the value is in final form already (an enum member, a node); ``Node.__setattr__`` is lifted
(a plain slot store); pglast's C module looks its enum members up in a dict (:class:`_FastEnums`)
instead of calling ``Enum(value)``, same members, and makes each node with a generated
function doing what that ``__init__`` does (:class:`_FastAst`) instead of calling the class;
the cyclic garbage collector is paused (a parse tree has no cycles, but its tens of thousands of new objects would start
a collection every 700 of them, each walking everything alive: more than half the time
of a tree for 1,000 files). tests/unit/sql/test_fasttree.py compares the trees with
pglast's own, value for value and type for type.

The cage:

* **Version-guarded.** pglast is patched only when its major.minor version is one of
  :data:`TESTED_PGLAST`; on any other version pglast's own constructors build the
  trees (same trees, slower). The GC pause, which does not touch pglast, still applies.
* **A kill switch.** ``PGSHIFT_NO_FAST_TREES=1`` in the environment (read each time the
  switch is turned on) turns all of it off, the GC pause too: pgshift then parses
  exactly as pglast does.
* **Thread-safe.** One process-wide depth counter behind a lock: the first
  :func:`fast_trees` to enter (from any thread) patches, the last to leave restores,
  so two threads parsing at once cannot leave pglast patched, or unpatch it under the
  other. Meanwhile every thread gets the fast constructors, and an attribute set on a
  node by any thread is stored without pglast's validation (pgshift sets only values
  of the right type).
* **Never across a fork.** A fork waits for a switch being turned on or off; the child
  starts with pglast's own constructors, ``Node.__setattr__`` and the collector as
  they were (:func:`os.register_at_fork`). A ``with fast_trees()`` entered before the
  fork does nothing when it ends in the child; the child turns the switch on again
  (cheaply: the generated constructors are inherited) when it parses.
"""
from __future__ import annotations

import gc
import os
import re
import threading
from contextlib import AbstractContextManager
from enum import Enum

import pglast
from pglast import ast, enums

__all__ = ["fast_trees", "parse_sql", "active", "supported", "pglast_version", "TESTED_PGLAST", "KILL_SWITCH"]

TESTED_PGLAST = frozenset({(8, 8)})  # (major, minor): add one only after tests/unit/sql/test_fasttree.py passes
KILL_SWITCH = "PGSHIFT_NO_FAST_TREES"


def pglast_version(text: str | None = None) -> tuple[int, int] | None:
    """(major, minor) of pglast's ``__version__`` ("v8.8" -> (8, 8)), or of *text*."""
    m = re.match(r"v?(\d+)\.(\d+)", str(getattr(pglast, "__version__", "")) if text is None else text)
    return (int(m[1]), int(m[2])) if m else None


_PGLAST = pglast_version()


def supported() -> bool:
    """Whether the installed pglast is one the fast constructors were tested with."""
    return _PGLAST in TESTED_PGLAST


def _killed() -> bool:
    return os.environ.get(KILL_SWITCH, "").strip().lower() not in ("", "0", "false", "no", "off")


# --- the generated constructors ---------------------------------------------------

_COERCERS: dict = {}
_NODE_TYPES = frozenset({"Node*", "Expr*"})  # C types whose adaptor returns a node as it is


def _identity(value):
    return value


def _coercer(cls, name):
    """What pglast's validating ``Node.__setattr__`` would do to a value of attribute
    *name* of *cls*, as one cached function: the adaptor (bool ...), the enum
    conversion, or nothing."""
    key = (cls, name)
    found = _COERCERS.get(key)
    if found is None:
        info = cls.__slots__.get(name) if isinstance(cls.__slots__, dict) else None
        found = _identity
        if info is not None:
            ctype, _ptype, adaptor = info
            if adaptor is not None:
                found = adaptor
            elif ctype != "char*" and hasattr(enums, ctype):
                enum = getattr(enums, ctype)

                def found(value, enum=enum):
                    if isinstance(value, enum):
                        return value
                    if isinstance(value, str) and len(value) > 1:
                        return enum[value]
                    return enum(value)
        _COERCERS[key] = found
    return found


_READY = {"List*": tuple, "bool": bool, "char": str}   # C type -> the Python type needing no adaptor


def _fast_init(cls):
    """An ``__init__`` for *cls* that stores what the C parser hands it: each attribute
    with a plain slot store, through the cached coercion where pglast's validation
    would convert it, and nothing else. Built once per class."""
    return _generated(cls, factory=False)


def _fast_new(cls):
    """A function making a node of *cls* as ``cls(...)`` does with :func:`_fast_init` as its
    ``__init__`` (the same stores), without the class call's detour through ``__init__``."""
    return _generated(cls, factory=True)


def _generated(cls, factory: bool):
    names = list(cls.__slots__)
    env: dict = {}
    params = ", ".join(f"{n}=None" for n in names)
    if factory:
        env["_new"], env["_cls"] = object.__new__, cls
        lines = [f"def make({params}):", "    self = _new(_cls)"]
    else:
        lines = [f"def __init__(self, {params}):"]
    for n in names:
        coerce = _coercer(cls, n)
        if coerce is _identity:
            lines.append(f"    self.{n} = {n}")
            continue
        env[f"_co_{n}"] = coerce
        # what the C parser already hands over in final form passes as it is, without a call:
        # a list, bool or char; an enum member (pglast's C side converts enums itself); a node
        ctype = cls.__slots__[n][0]
        ready = _READY.get(ctype)
        if ready is None and ctype != "char*" and hasattr(enums, ctype):
            ready = getattr(enums, ctype)
        if ready is not None:
            env[f"_ok_{n}"] = ready
            # a list is often empty (None); a bool, char or enum never is: its type is tested first
            test = f"{n} is None or type({n}) is _ok_{n}" if ready is tuple else f"type({n}) is _ok_{n} or {n} is None"
            lines.append(f"    self.{n} = {n} if {test} else _co_{n}({n})")
        elif ctype in _NODE_TYPES:
            env["_Node"] = ast.Node
            lines.append(f"    self.{n} = {n} if {n} is None or isinstance({n}, _Node) else _co_{n}({n})")
        else:
            lines.append(f"    self.{n} = None if {n} is None else _co_{n}({n})")
    if factory:
        lines.append("    return self")
    elif not names:
        lines.append("    pass")
    exec("\n".join(lines), env)  # noqa: S102 - generated from pglast's own slot table
    return env["make" if factory else "__init__"]


class _Members(dict):
    """An enum's members by value: looked up in C where ``Enum(value)`` runs Python code; a value
    it does not hold (a flag combination, a bad value) goes to the enum itself."""

    def __init__(self, enum) -> None:
        super().__init__(enum._value2member_map_)
        self.enum = enum

    def __missing__(self, value):
        return self.enum(value)


class _FastEnums:
    """Stands in for ``pglast.enums`` in pglast's C parser module (which converts each enum
    field with ``getattr(enums, NAME)(value)``): each enum as its members' lookup, giving the
    very members ``NAME(value)`` gives; any other name as pglast's own."""

    def __getattr__(self, name: str):
        value = getattr(enums, name)
        if isinstance(value, type) and issubclass(value, Enum):
            value = _Members(value).__getitem__
        setattr(self, name, value)
        return value


class _FastAst:
    """Stands in for ``pglast.ast`` in pglast's C parser module (which makes each node with
    ``ast.NAME(...)``, the values positional): each node class with a constructor of its own
    as its :func:`_fast_new`, generated when first asked for; any other name as pglast's own."""

    def __getattr__(self, name: str):
        value = getattr(ast, name)
        if isinstance(value, type) and value in _SLOW:
            value = _fast_new(value)
        setattr(self, name, value)
        return value


_PARSER = getattr(pglast, "parser", None)   # the C module pglast's trees are made in
_FAST_ENUMS = _FastEnums()
_FAST_AST = _FastAst()
_NODE_CLASSES: list = []
_FAST: dict = {}
_SLOW: dict = {}
_VALIDATING_SETATTR = ast.Node.__dict__.get("__setattr__")


def _node_classes() -> list:
    if not _NODE_CLASSES:
        for cls in vars(ast).values():
            if isinstance(cls, type) and issubclass(cls, ast.Node) and "__init__" in cls.__dict__ \
                    and isinstance(cls.__dict__.get("__slots__"), dict):
                _NODE_CLASSES.append(cls)
                _SLOW[cls] = cls.__dict__["__init__"]
                _FAST[cls] = _first_init(cls)
    return _NODE_CLASSES


def _first_init(cls):
    """Stands in for the fast ``__init__`` of *cls* until a node of it is first made: a
    file uses a few dozen of pglast's 260 node types, so only those get generated."""
    def __init__(self, *args, **kwargs):
        fast = _FAST[cls]
        if fast is __init__:
            fast = _fast_init(cls)
        with _STATE.lock:  # not while the switch is being turned off
            _FAST[cls] = fast
            if cls.__dict__.get("__init__") is __init__:
                cls.__init__ = fast
        fast(self, *args, **kwargs)
    return __init__


# --- the cage -----------------------------------------------------------------------

class _State:
    """The switch's one process-wide state (pglast's classes are process-wide too)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0          # open fast_trees() blocks, in every thread
        self.generation = 0     # +1 in a forked child: blocks entered before the fork end as no-ops
        self.patched = False    # pglast's constructors and Node.__setattr__ replaced
        self.gc_paused = False  # the collector disabled by the switch


_STATE = _State()


def active() -> bool:
    """Whether pglast is patched right now (by some thread)."""
    return _STATE.patched


def _turn_on(state: _State) -> None:
    if _killed():
        return
    if supported():
        for cls in _node_classes():
            cls.__init__ = _FAST[cls]
        if _VALIDATING_SETATTR is not None:
            del ast.Node.__setattr__
        if _PARSER is not None and getattr(_PARSER, "enums", None) is enums:
            _PARSER.enums = _FAST_ENUMS
        if _PARSER is not None and getattr(_PARSER, "ast", None) is ast:
            _PARSER.ast = _FAST_AST
        state.patched = True
    if gc.isenabled():
        gc.disable()
        state.gc_paused = True


def _turn_off(state: _State) -> None:
    if state.patched:
        for cls in _NODE_CLASSES:
            cls.__init__ = _SLOW[cls]
        if _VALIDATING_SETATTR is not None:
            ast.Node.__setattr__ = _VALIDATING_SETATTR
        if _PARSER is not None and getattr(_PARSER, "enums", None) is _FAST_ENUMS:
            _PARSER.enums = enums
        if _PARSER is not None and getattr(_PARSER, "ast", None) is _FAST_AST:
            _PARSER.ast = ast
        state.patched = False
    if state.gc_paused:
        gc.enable()
        state.gc_paused = False


def _enter() -> int:
    """Count one more block open, patching if it is the first; the generation it opened in."""
    state = _STATE
    with state.lock:
        if state.depth == 0:
            _turn_on(state)
        state.depth += 1
        return state.generation


def _leave(generation: int) -> None:
    """Count a block opened in *generation* closed, restoring if it was the last."""
    state = _STATE
    with state.lock:
        if generation == state.generation:
            state.depth -= 1
            if state.depth == 0:
                _turn_off(state)


class _Block:
    """One ``with fast_trees():`` block (a class, not a generator: a file's parse enters one)."""

    __slots__ = ("generation",)

    def __enter__(self) -> None:
        self.generation = _enter()

    def __exit__(self, *_exc) -> None:
        _leave(self.generation)


def fast_trees() -> AbstractContextManager[None]:
    """Parse trees built fast while the block runs (see the module's docstring). Wrap a
    loop over many files in it to pay the switch once; nesting, and other threads'
    blocks, only count."""
    return _Block()


def parse_sql(sql: str):
    """pglast's ``parse_sql``, with the switch on while it runs."""
    generation = _enter()   # a block, without making one
    try:
        return pglast.parse_sql(sql)
    finally:
        _leave(generation)


def _before_fork() -> None:
    _STATE.lock.acquire()  # no switch half turned when the process is copied


def _after_fork_in_parent() -> None:
    _STATE.lock.release()


def _after_fork_in_child() -> None:
    state = _STATE
    state.lock = threading.RLock()
    _turn_off(state)
    state.depth = 0
    state.generation += 1


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork_in_child)
