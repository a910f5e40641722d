"""Data classes for what ``pgshift lint`` makes at start-up, without loading :mod:`dataclasses`.

:func:`record` is ``dataclasses.dataclass`` for the classes of the lint path (files, statements,
findings, the configuration, the lint's options and report). In Python 3.11 ``import dataclasses``
loads ``inspect`` (7 ms here), and each dataclass compiles six functions one by one (0.45 ms); the
lint path has 23 of them, 17 ms of a 200 ms lint of 1,000 files. A record compiles only its
``__init__`` (0.08 ms; its other methods are shared closures) and needs nothing beyond the builtins.

A record is a dataclass to the standard library too: ``dataclasses.fields``, ``replace``,
``asdict`` and ``is_dataclass`` take it (its ``__dataclass_fields__`` are made, with
:mod:`dataclasses` loaded then, when first asked for). It has what the lint path uses: fields
with defaults or ``field(default_factory=...)``, ``repr=False``, ``compare=False``; ``frozen``;
``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` (frozen) and ``__match_args__`` as a dataclass
has them. Anything else (order, slots, kw_only, InitVar, ClassVar, ``__post_init__``) is refused
when the class is made: use :func:`dataclasses.dataclass` for it.
"""
from __future__ import annotations

from typing import Any, dataclass_transform

__all__ = ["record", "field", "FrozenInstanceError", "replace"]


class FrozenInstanceError(AttributeError):
    """A field of a frozen record was assigned or deleted (as ``dataclasses.FrozenInstanceError``)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _Field:
    __slots__ = ("name", "type", "default", "default_factory", "repr", "compare")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,  # noqa: A002
                 compare: bool = True) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare


def field(*, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,  # noqa: A002
          compare: bool = True) -> Any:
    """A field's options, as ``dataclasses.field`` takes them (only these four)."""
    return _Field(default, default_factory, repr, compare)


@dataclass_transform(field_specifiers=(field,))
def record(cls: Any = None, /, *, frozen: bool = False) -> Any:
    """``@record`` or ``@record(frozen=True)``: *cls* made a data class (see the module)."""
    def wrap(c: type) -> type:
        return _make(c, frozen)

    return wrap if cls is None else wrap(cls)


def replace(obj: Any, /, **changes: Any) -> Any:
    """A copy of the record *obj* with *changes* (``dataclasses.replace``, without loading it)."""
    for name in obj.__record_fields__:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return obj.__class__(**changes)


_UNSUPPORTED = ("__post_init__", "__slots__")


def _make(cls: Any, frozen: bool) -> Any:
    for name in _UNSUPPORTED:
        if name in cls.__dict__:
            raise TypeError(f"{cls.__qualname__}: a record has no {name}; use dataclasses.dataclass")
    fields: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(getattr(base, "__record_specs__", {}))
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if text.startswith(("ClassVar", "typing.ClassVar", "InitVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__qualname__}.{name}: a record has no ClassVar or InitVar fields")
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, _Field) else _Field(default=value)
        if isinstance(spec.default, (list, dict, set)):
            raise ValueError(f"mutable default {type(spec.default)} for field {name} is not allowed: "
                             "use default_factory")
        spec.name, spec.type = name, annotation
        fields[name] = spec
        if value is not MISSING:
            if spec.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
    specs = list(fields.values())
    seen_default = False
    for spec in specs:
        if spec.default is MISSING and spec.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {spec.name!r} follows default argument")
        else:
            seen_default = True
    init = _init(specs)
    compared = [s.name for s in specs if s.compare]
    methods: dict[str, Any] = {"__init__": init, "__repr__": _repr([s.name for s in specs if s.repr])}
    if "__eq__" not in cls.__dict__:
        eq, hash_ = _eq(compared)
        methods.update(__eq__=eq, __hash__=hash_ if frozen else None)
    if frozen:
        methods.update(__setattr__=_frozen_setattr, __delattr__=_frozen_delattr)
    for name, method in methods.items():
        own = cls.__dict__.get(name, MISSING)
        if own is not MISSING and not (name in ("__setattr__", "__delattr__") or (name == "__hash__" and own is None)):
            continue          # the class's own method wins, as with dataclasses
        if method is not None and name in ("__init__", "__repr__", "__eq__", "__hash__"):
            method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    cls.__match_args__ = tuple(s.name for s in specs)
    cls.__record_specs__ = fields
    cls.__record_fields__ = tuple(fields)
    cls.__dataclass_fields__ = _DataclassFields()
    return cls


def _init(specs: list[_Field]) -> Any:
    """``__init__``: the one method compiled (its signature names the fields); it fills the
    instance's ``__dict__`` at once, so a frozen record is made as fast as a plain one."""
    params, lines, namespace = ["self"], [], {"MISSING": MISSING}
    for i, s in enumerate(specs):
        if s.default_factory is not MISSING:
            params.append(f"{s.name}=MISSING")
            lines.append(f" if {s.name} is MISSING: {s.name} = f{i}()")
            namespace[f"f{i}"] = s.default_factory
        elif s.default is not MISSING:
            params.append(f"{s.name}=d{i}")
            namespace[f"d{i}"] = s.default
        else:
            params.append(s.name)
    fill = ", ".join(f"{s.name}={s.name}" for s in specs)
    lines.append(f" self.__dict__.update({fill})" if specs else " pass")
    exec(f"def __init__({', '.join(params)}):\n" + "\n".join(lines) + "\n", namespace)  # noqa: S102
    return namespace["__init__"]


def _repr(names: list[str]) -> Any:
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _eq(names: list[str]) -> tuple[Any, Any]:
    """``__eq__`` and ``__hash__`` over the compared fields *names*."""
    def values(obj: Any) -> tuple:
        return tuple(getattr(obj, name) for name in names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __eq__, __hash__


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


class _DataclassFields:
    """``__dataclass_fields__`` of a record, made when first read (loading :mod:`dataclasses`),
    so that the standard library's functions take records as the dataclasses they are."""

    def __get__(self, obj: Any, owner: type) -> dict:
        import dataclasses  # noqa: PLC0415

        made = {}
        for name, spec in owner.__record_specs__.items():  # type: ignore[attr-defined]
            f = dataclasses.field(
                default=dataclasses.MISSING if spec.default is MISSING else spec.default,
                default_factory=dataclasses.MISSING if spec.default_factory is MISSING else spec.default_factory,
                repr=spec.repr, compare=spec.compare)
            f.name, f.type = name, spec.type
            f._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # noqa: SLF001 - a field, not a ClassVar
            made[name] = f
        type.__setattr__(owner, "__dataclass_fields__", made)
        return made
