"""The difference between two catalog snapshots, object by object, in words a person reads."""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Iterable

from .snapshot import RELATION_CHILD_TYPES, RELATION_TYPES, Snapshot, split_key


@dataclass(frozen=True)
class Difference:
    """One way two snapshots differ.

    ``kind`` is "missing" (in *before*, not in *after*; ``before`` holds its
    attributes), "extra" (in *after* only; ``after`` holds its attributes) or
    "changed" (in both, ``attribute`` differs; ``before``/``after`` hold the two
    values, None where the attribute is not set).
    """

    kind: str
    object_type: str
    name: str
    attribute: str | None = None
    before: Any = None
    after: Any = None

    @property
    def key(self) -> str:
        return f"{self.object_type} {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "object_type": self.object_type, "name": self.name,
                "attribute": self.attribute, "before": self.before, "after": self.after}

    def describe(self, before_label: str = "before", after_label: str = "after") -> str:
        what = self.key
        if self.kind == "missing":
            return f"{what} exists {before_label} but is missing {after_label}"
        if self.kind == "extra":
            return f"{what} exists {after_label} but not {before_label}"
        attr = self.attribute or "?"
        label = attr.replace("_", " ")
        b, a = self.before, self.after
        if attr in _SET_ATTRIBUTES and isinstance(b, (list, type(None))) and isinstance(a, (list, type(None))):
            singular, plural = _SET_ATTRIBUTES[attr]
            bset, aset = [str(x) for x in b or []], [str(x) for x in a or []]
            added = [x for x in aset if x not in bset]
            removed = [x for x in bset if x not in aset]
            parts = []
            if added:
                noun, verb = (singular, "exists") if len(added) == 1 else (plural, "exist")
                parts.append(f"{noun} {', '.join(added)} {verb} {after_label} but not {before_label}")
            if removed:
                noun, verb = (singular, "exists") if len(removed) == 1 else (plural, "exist")
                parts.append(f"{noun} {', '.join(removed)} {verb} {before_label} but not {after_label}")
            if parts:
                return f"{what}: " + "; ".join(parts)
            # same items in another order: fall through to the plain wording
        if _is_long(b) or _is_long(a):
            lines = difflib.unified_diff(
                _text(b).splitlines(), _text(a).splitlines(),
                fromfile=before_label, tofile=after_label, lineterm="", n=2)
            body = "\n".join("    " + line for line in lines)
            return f"{what}: {label} differs between {before_label} and {after_label}:\n{body}"
        verb = "are" if attr in _PLURAL_ATTRIBUTES else "is"
        return f"{what}: {label} {verb} {_render(a)} {after_label}, {_render(b)} {before_label}"


#: list attributes that are sets: described as items added and removed
_SET_ATTRIBUTES = {
    "acl": ("grant", "grants"),
    "roles": ("role", "roles"),
    "options": ("option", "options"),
    "foreign_options": ("option", "options"),
    "config": ("setting", "settings"),
    "tags": ("tag", "tags"),
}
_PLURAL_ATTRIBUTES = frozenset({"labels", "attributes", "inherits"})


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value.strip() or len(value) > 100)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _render(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _children_of_gone(keys: Iterable[str], objects: dict[str, dict]) -> set[str]:
    """Keys among *keys* whose parent (table, domain) is also among *keys*.

    A dropped table takes its columns, constraints, indexes and so on with it;
    the diff reports the table alone.
    """
    keys = list(keys)
    relations, domains = set(), set()
    for key in keys:
        t, name = split_key(key)
        if t in RELATION_TYPES:
            relations.add(name)
        elif t == "domain":
            domains.add(name)

    def under(name: str | None, parents: set[str]) -> bool:
        if not name or not parents:
            return False
        return any(name.startswith(p + ".") for p in parents)

    children = set()
    for key in keys:
        t, name = split_key(key)
        attrs = objects.get(key, {})
        if t in RELATION_CHILD_TYPES and under(name, relations):
            children.add(key)
        elif t in ("index", "statistics") and attrs.get("table") in relations:
            children.add(key)
        elif t == "sequence" and under(attrs.get("owned_by"), relations):
            children.add(key)
        elif t == "domain constraint" and under(name, domains):
            children.add(key)
    return children


def diff(before: Snapshot, after: Snapshot) -> list[Difference]:
    """Every difference between two snapshots, sorted by object key.

    An object that is missing or extra is reported once; its attributes and the
    objects that belong to it (a table's columns, indexes, constraints, triggers,
    policies, rules, statistics and owned sequences; a domain's constraints) are
    not reported separately.
    """
    b, a = before.objects, after.objects
    missing = set(b) - set(a)
    extra = set(a) - set(b)
    missing -= _children_of_gone(missing, b)
    extra -= _children_of_gone(extra, a)

    out: list[Difference] = []
    for key in missing:
        t, name = split_key(key)
        out.append(Difference("missing", t, name, before=b[key]))
    for key in extra:
        t, name = split_key(key)
        out.append(Difference("extra", t, name, after=a[key]))
    for key in set(b) & set(a):
        battrs, aattrs = b[key], a[key]
        if battrs == aattrs:
            continue
        t, name = split_key(key)
        for attr in sorted(set(battrs) | set(aattrs)):
            bv, av = battrs.get(attr), aattrs.get(attr)
            if bv != av:
                out.append(Difference("changed", t, name, attr, bv, av))
    out.sort(key=lambda d: (d.key, d.attribute or ""))
    return out
