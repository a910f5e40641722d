"""pgshift.records: the lint path's data classes behave as the dataclasses they replace, for
pgshift and for the standard library's functions."""
from __future__ import annotations

import dataclasses
import pickle

import pytest

from pgshift.model import Finding, Location, MigrationFile
from pgshift.records import FrozenInstanceError, field, record, replace


@record(frozen=True)
class Frozen:
    name: str
    count: int = 0
    tags: list = field(default_factory=list, compare=False)
    note: str | None = field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class Twin:
    name: str
    count: int = 0
    tags: list = dataclasses.field(default_factory=list, compare=False)
    note: str | None = dataclasses.field(default=None, repr=False)


@record
class Plain:
    items: list = field(default_factory=list)
    done: bool = False


def test_a_record_is_made_read_and_compared_as_the_same_dataclass_would_be():
    a, b = Frozen("x", 2, ["t"], "n"), Twin("x", 2, ["t"], "n")
    assert repr(a) == repr(b).replace("Twin", "Frozen") == "Frozen(name='x', count=2, tags=['t'])"
    assert a == Frozen("x", 2, ["other tags"], "n")          # tags are not compared
    assert a != Frozen("x", 3) and a != b                    # another class is never equal
    assert hash(a) == hash(Frozen("x", 2, [], "n"))
    assert Frozen("y").tags == [] and Frozen("y").tags is not Frozen("y").tags
    assert Frozen.__match_args__ == Twin.__match_args__
    with pytest.raises(TypeError):
        Frozen()  # type: ignore[call-arg]


def test_a_frozen_record_refuses_assignment_as_a_frozen_dataclass_does():
    a = Frozen("x")
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'name'"):
        a.name = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del a.count  # type: ignore[misc]
    p = Plain()
    p.done = True
    assert p == Plain([], True) and Plain.__hash__ is None     # a mutable record is not hashable


def test_the_standard_library_takes_records_as_dataclasses():
    a = Frozen("x", 2, ["t"])
    assert dataclasses.is_dataclass(a) and dataclasses.is_dataclass(Frozen)
    assert [f.name for f in dataclasses.fields(a)] == ["name", "count", "tags", "note"]
    assert dataclasses.asdict(a) == {"name": "x", "count": 2, "tags": ["t"], "note": None}
    assert dataclasses.replace(a, count=5) == replace(a, count=5) == Frozen("x", 5, ["t"])
    loc = Location("m.sql", 3, 4)
    finding = Finding("set-not-null", "error", loc, "scans")
    assert dataclasses.asdict(finding)["location"] == {"file": "m.sql", "line": 3, "col": 4}
    assert pickle.loads(pickle.dumps(finding)) == finding


def test_a_records_own_methods_and_properties_are_kept():
    m = MigrationFile("20250101000000", "init", "/p/m.sql", "m.sql", "abc")
    assert str(m.path) == "/p/m.sql" and m.path is m.path          # a cached_property still caches
    assert str(Location("a.sql", 1, 2)) == "a.sql:1:2"             # Location's own __str__


def test_what_a_record_does_not_do_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @record
        class Bad:
            a: int = 0
            b: int
    with pytest.raises(ValueError, match="mutable default"):
        @record
        class Mutable:
            a: list = []  # noqa: RUF012
    with pytest.raises(TypeError, match="__post_init__"):
        @record
        class Post:
            a: int

            def __post_init__(self) -> None:
                pass
