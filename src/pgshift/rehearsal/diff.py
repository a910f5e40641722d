"""The difference between two catalog snapshots, object by object, in words a person reads."""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from ..text import skip_blanks
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


# --- what a difference means ----------------------------------------------------------------

#: the kinds a round trip sorts each difference into
COLUMN_ORDER = "column_order"    # a column at another position, nothing else about it changed
PRINTING = "printing"            # a view's or function's text, the same once PostgreSQL's printing is set aside
OTHER = "other"                  # everything else: the schema really differs
KINDS = (COLUMN_ORDER, PRINTING, OTHER)

_PRINTED = frozenset({"view", "materialized view", "function", "procedure"})
_CODE_LANGUAGES = frozenset({"sql", "plpgsql"})


def classify(d: Difference, before: Snapshot | None = None) -> str:
    """The kind of *d*: :data:`COLUMN_ORDER`, :data:`PRINTING` or :data:`OTHER`.

    Column order: a column's ``position`` changed and nothing else about it (a rollback that
    adds a dropped column back lands at the end of the table; the columns after it move up).
    Printing: a view's or function's ``definition`` whose two texts are the same token for
    token once comments, white space, the case of keywords and needless identifier quotes are
    set aside (for a function in SQL or PL/pgSQL, inside its body too; any other language's body
    must match exactly). Anything else is :data:`OTHER`.
    """
    if d.kind != "changed":
        return OTHER
    if d.object_type == "column" and d.attribute == "position":
        return COLUMN_ORDER
    if d.object_type in _PRINTED and d.attribute == "definition" and isinstance(d.before, str) \
            and isinstance(d.after, str):
        language = None
        if before is not None and d.object_type in ("function", "procedure"):
            language = (before.objects.get(d.key) or {}).get("language")
        code = d.object_type not in ("function", "procedure") or language in _CODE_LANGUAGES
        if tokens(d.before, code) == tokens(d.after, code):
            return PRINTING
    return OTHER


def tokens(text: str, code_bodies: bool = True) -> list[str]:
    """*text*'s SQL tokens, without comments or white space; unquoted words in lower case, a
    quoted identifier that needs no quotes unquoted. A dollar-quoted string is split into tokens
    too when *code_bodies* (a function body in SQL or PL/pgSQL), else kept whole."""
    out: list[str] = []
    i, n = 0, len(text)
    while True:
        i = skip_blanks(text, i)
        if i >= n:
            break
        c = text[i]
        if c == "'" or (c in "eE" and text.startswith("'", i + 1)):
            j = i + (2 if c != "'" else 1)
            while j < n:
                if text[j] == "\\" and c != "'":
                    j += 2
                    continue
                if text[j] == "'":
                    if text.startswith("''", j):
                        j += 2
                        continue
                    break
                j += 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == '"':
            j = text.find('"', i + 1)
            while 0 <= j < n - 1 and text[j + 1] == '"':
                j = text.find('"', j + 2)
            j = n - 1 if j < 0 else j
            name = text[i + 1:j].replace('""', '"')
            out.append(name if _plain_identifier(name) else text[i:j + 1])
            i = j + 1
        elif c == "$" and _DOLLAR.match(text, i):
            tag = _DOLLAR.match(text, i).group(0)  # type: ignore[union-attr]
            j = text.find(tag, i + len(tag))
            j = n if j < 0 else j
            body = text[i + len(tag):j]
            if code_bodies:
                out += ["$body$", *tokens(body), "$body$"]
            else:
                out.append("$body$" + body + "$body$")
            i = j + len(tag)
        elif c.isalnum() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            out.append(text[i:j].lower())
            i = j
        else:
            out.append(c)
            i += 1
    while out and out[-1] == ";":
        out.pop()
    return out


def _plain_identifier(name: str) -> bool:
    return bool(name) and (name[0].isalpha() or name[0] == "_") and name == name.lower() \
        and all(ch.isalnum() or ch in "_$" for ch in name) and name.isascii()


_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
