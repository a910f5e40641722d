"""The targets of a rollout: where each one is, and its labels.

One target a line (``--targets FILE``, or what ``--targets-command`` prints)::

    postgresql://app@db1/tenant_a   tier=canary host=db1
    postgresql://app@db2/shared     schema=tenant_b region=eu

``schema=`` makes it a schema-per-tenant target; ``name=`` names it (default: host/database, and
``#schema``); every other ``key=value`` is a label (``host=`` is the one per-host caps count by;
default: the URL's host and port). A ``.toml`` file holds ``[[target]]`` tables (``url``,
``schema``, ``name``, ``labels``). A SQL query (``--targets-sql``, run against a directory
database) returns rows of ``url`` and optionally ``schema`` and ``labels`` (jsonb or
``k=v k=v`` text).
"""
from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

# the words of a key=value DSN on a targets line (every other key=value is a label)
LIBPQ_KEYS = frozenset({"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "options", "sslmode",
                        "sslrootcert", "sslcert", "sslkey", "service", "connect_timeout", "application_name",
                        "target_session_attrs", "gssencmode", "channel_binding", "require_auth"})


@dataclass(frozen=True)
class Target:
    """One database (or one tenant schema in a database) of a fleet."""
    name: str
    url: str
    schema: str | None = None
    labels: dict = field(default_factory=dict)

    @property
    def host(self) -> str:
        """What per-host caps count by: the ``host`` label, else the URL's host and port."""
        return str(self.labels.get("host") or _host_of(self.url))


def _conninfo(url: str) -> dict:
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        return conninfo_to_dict(url)
    except Exception as exc:  # noqa: BLE001 - psycopg's ProgrammingError: a bad DSN
        raise InputError(f"not a database URL: {exc}") from None


def _host_of(url: str) -> str:
    info = _conninfo(url)
    return f"{info.get('host') or 'local'}:{info.get('port') or 5432}"


def default_name(url: str, schema: str | None) -> str:
    """host:port/database, and ``#schema`` for a tenant schema."""
    info = _conninfo(url)
    return f"{_host_of(url)}/{info.get('dbname') or ''}" + (f"#{schema}" if schema else "")


def make(url: str, schema: str | None = None, labels: dict | None = None, name: str | None = None) -> Target:
    """A target, its name defaulted."""
    labels = {str(k): str(v) for k, v in (labels or {}).items()}
    return Target(name or labels.pop("name", None) or default_name(url, schema), url, schema or None, labels)


def parse_line(line: str, where: str) -> Target | None:
    """One line of a targets file: ``URL [schema=S] [name=N] [label=value ...]``; None for a blank
    line or a comment."""
    text = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
    if not text:
        return None
    words = shlex.split(text)
    if "://" in words[0]:
        url, rest = words[0], words[1:]
    else:   # a key=value DSN: its libpq words, then the labels
        dsn = [w for w in words if w.partition("=")[0] in LIBPQ_KEYS]
        url, rest = " ".join(dsn), [w for w in words if w.partition("=")[0] not in LIBPQ_KEYS]
    labels = {}
    for word in rest:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise InputError(f"{where}: {word!r} is not key=value", hint="a line is: URL [schema=S] [label=value ...]")
        labels[key] = value
    schema = labels.pop("schema", None)
    return make(url, schema, labels)


def parse_lines(text: str, where: str) -> list[Target]:
    """Every target of a one-a-line text."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        target = parse_line(line, f"{where}:{n}")
        if target is not None:
            out.append(target)
    return out


def from_file(path: str | Path) -> list[Target]:
    """The targets of a file: one a line, or ``[[target]]`` tables in a ``.toml`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the targets file {path}: {exc.strerror}") from None
    if path.suffix == ".toml":
        import tomllib  # noqa: PLC0415

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: {exc}") from None
        return [make(t["url"], t.get("schema"), t.get("labels"), t.get("name")) for t in data.get("target", [])]
    return parse_lines(text, str(path))


def from_command(command: str) -> list[Target]:
    """The targets a command prints, one a line."""
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)  # noqa: S602
    if done.returncode != 0:
        raise InputError(f"the targets command exited {done.returncode}: {done.stderr.strip()[:500]}")
    return parse_lines(done.stdout, "the targets command's output")


def from_query(directory_url: str, query: str) -> list[Target]:
    """The targets a SQL query returns (columns ``url``, and optionally ``schema``, ``labels``)."""
    from .. import db  # noqa: PLC0415

    with db.connect(directory_url) as conn:
        cur = conn.execute(query)
        columns = [c.name for c in cur.description or ()]
        if "url" not in columns:
            raise InputError("the targets query returns no url column", details={"columns": columns})
        out = []
        for row in cur.fetchall():
            record = dict(zip(columns, row, strict=True))
            labels = record.get("labels") or {}
            if isinstance(labels, str):
                labels = json.loads(labels) if labels.lstrip().startswith("{") else dict(
                    w.split("=", 1) for w in labels.split() if "=" in w)
            out.append(make(record["url"], record.get("schema"), labels, record.get("name")))
    return out


def check_unique(targets: list[Target]) -> list[Target]:
    """*targets*, refused when two have the same name."""
    seen: dict[str, Target] = {}
    for t in targets:
        if t.name in seen:
            raise InputError(f"two targets are named {t.name!r}", hint="give one of them name=...")
        seen[t.name] = t
    if not targets:
        raise InputError("the inventory has no targets")
    return targets


def stage_of(target: Target, stages: list[tuple[str, str]]) -> int:
    """The stage a target runs in: the first ``label=value`` of *stages* it carries (a value may be
    a comma-separated list; the label ``name`` is the target's name, so a stage can list targets);
    the last stage (after all of them) for the rest."""
    for i, (key, value) in enumerate(stages):
        if (target.name if key == "name" else target.labels.get(key)) in value.split(","):
            return i
    return len(stages)


def tenant_url(url: str, schema: str) -> str:
    """*url* with *schema* first in ``search_path`` for the whole session: set at connection start
    (libpq's ``options``), so it is the session's default, and ``RESET ALL`` after a file's own
    ``SET`` comes back to it."""
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    info = _conninfo(url)
    from ..db import quote_ident  # noqa: PLC0415

    path = f"-c search_path={quote_ident(schema)},public".replace(" ", "\\ ").replace("-c\\ ", "-c ", 1)
    info["options"] = (str(info.get("options") or "") + " " + path).strip()
    return make_conninfo(**info)
