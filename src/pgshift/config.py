"""Configuration: ``pgshift.toml`` or ``[tool.pgshift]`` in ``pyproject.toml``.

Environments, ``${VAR}`` expansion (a missing variable is an error naming it),
the connection precedence of PRODUCT.md section 4, and :func:`mask_dsn`, which
every DSN shown anywhere goes through.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

from .errors import ConfigError
from .model import Location
from .records import field, record
from .text import parse_duration, parse_timeout

DEFAULT_LEDGER = "pgshift.migration_log"
DEFAULT_ENV = "dev"
DEFAULT_PROTECTED_BLOCKER_WAIT = 300.0   # seconds: the preflight's long-transaction threshold
CONFIG_FILE = "pgshift.toml"

# what each setting holds: a TOML type, or "duration" (a string like "2s", or a number of seconds)
_TOP_TYPES = {"migrations": str, "ledger": str, "target_version": int, "dump_schema": str, "store_snapshots": bool,
              "fingerprint": str}
FINGERPRINT_MODES = ("run", "each", "off")   # when up and rollback record the schema they left (issue 14)
_ENV_TYPES = {
    "url": str, "protected": bool, "backup_dir": str, "backup_retention": int, "require_applied_in": str,
    "lock_timeout": "duration", "statement_timeout": "duration", "lock_retries": int,
    "lock_retry_max_delay": "duration", "blocker_wait": "duration", "stall_timeout": "duration", "database": str,
    "checks": dict, "monitor": bool, "target_version": int, "allow_drift": bool,
    "require_plan": bool, "plan_policy": dict,
}
_LINT_TYPES = {"disable": list, "severity": dict, "target_version": int}
# whole numbers with a floor (the flags check the same); durations may not be negative (text.parse_duration)
_AT_LEAST = {"lock_retries": 1, "backup_retention": 0}
_AT_LEAST_WHY = {"lock_retries": "lock_retries counts the attempts, the first included: 1 means no retry",
                 "backup_retention": "the number of newest backups kept; 0 keeps them all"}
_ENV_KEYS = set(_ENV_TYPES)
_TYPE_WORDS = {str: "a string", bool: "true or false", int: "a whole number", dict: "a table", list: "a list",
               "duration": 'a duration like "2s" or "500ms"'}


@record(frozen=True)
class Environment:
    name: str
    url: str | None = None            # as written, ${VAR} not yet expanded
    protected: bool = False
    backup_dir: str = "backups"
    backup_retention: int = 10
    require_applied_in: str | None = None
    lock_timeout: float | None = None  # seconds; None: the default for the kind of environment
    statement_timeout: float | None = None
    lock_retries: int = 8
    lock_retry_max_delay: float = 30.0
    blocker_wait: float | None = None  # seconds; None: the default for the kind of environment
    stall_timeout: float | None = None  # seconds a stalled connection may keep a run waiting; None: 60 s
    database: str | None = None        # the embedded server's database
    checks: dict = field(default_factory=dict)
    monitor: bool | None = None
    target_version: int | None = None
    allow_drift: bool = False          # a protected up goes on although the schema drifted (issue 14)
    require_plan: bool = False         # up needs --plan FILE (issue 13)
    plan_policy: dict = field(default_factory=dict)   # pgshift plan's thresholds (proof.policy, issue 13)

    @property
    def effective_lock_timeout(self) -> float | None:
        if self.lock_timeout is not None:
            return self.lock_timeout or None
        return 2.0 if self.protected else None

    @property
    def effective_blocker_wait(self) -> float:
        """How long a statement may wait for a visible session blocking its strong lock before
        attempting it (0: no look, attempt at once): 5 minutes in protected environments, where
        the lock queue would stall the application, none elsewhere unless set."""
        if self.blocker_wait is not None:
            return self.blocker_wait
        return DEFAULT_PROTECTED_BLOCKER_WAIT if self.protected else 0.0

    @property
    def effective_stall_timeout(self) -> float:
        """How long a stalled connection (no reply, no close) may keep a run waiting before
        pgshift gives up on it, ends its server session and says what was applied: 60 s unless set."""
        return self.stall_timeout if self.stall_timeout else 60.0


@record(frozen=True)
class LintConfig:
    disable: tuple[str, ...] = ()
    severity: dict = field(default_factory=dict)
    target_version: int | None = None


@record(frozen=True)
class Config:
    root: Path
    source: Path | None               # the file read, None when there was none
    migrations: str = "migrations"
    ledger: str = DEFAULT_LEDGER
    environments: dict = field(default_factory=dict)
    lint: LintConfig = field(default_factory=LintConfig)
    target_version: int | None = None
    dump_schema: str | None = None     # a schema file `up` and `down` keep current (issue 14)
    store_snapshots: bool = False      # keep each version's schema snapshot beside the ledger (issue 14)
    fingerprint: str = "run"           # record the schema after a run's last version, each version, or off

    @property
    def migrations_dir(self) -> Path:
        return (self.root / self.migrations).resolve()

    @property
    def ledger_schema(self) -> str:
        return self.ledger.split(".", 1)[0] if "." in self.ledger else "public"

    @property
    def ledger_table(self) -> str:
        return self.ledger.split(".", 1)[1] if "." in self.ledger else self.ledger

    def environment(self, name: str) -> Environment:
        if name in self.environments:
            return self.environments[name]
        if name == DEFAULT_ENV:
            return Environment(DEFAULT_ENV)
        known = ", ".join(sorted(self.environments)) or "none"
        raise ConfigError(
            f"environment {name!r} is not configured (known: {known})",
            location=Location(str(self.source), 1, 1) if self.source else None,
            hint=f"add an [env.{name}] section to {self.source.name if self.source else CONFIG_FILE}",
        )


# --- loading ---------------------------------------------------------------

def _load_toml(path: Path) -> dict:
    import tomllib  # noqa: PLC0415 - only when there is a file to read: a lint starts quicker

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        if line is None:  # before Python 3.14 the position is only in the message
            found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            line, col = (int(found[1]), int(found[2])) if found else (1, 1)
        raise ConfigError(f"{path.name} is not valid TOML: {exc.msg if hasattr(exc, 'msg') else exc}",
                          location=Location(str(path), line, col)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def locate(config: Config, needle: str) -> Location | None:
    """Where *needle* first appears in the configuration file (for errors found after loading)."""
    return _where(config.source, needle) if config.source else None


def _where(path: Path, needle: str) -> Location:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            col = line.find(needle)
            if col >= 0:
                return Location(str(path), number, col + 1)
    except OSError:
        pass
    return Location(str(path), 1, 1)


def load(project: str | Path | None = None) -> Config:
    """Read the configuration of the project in *project* (default: the current folder)."""
    root = Path(project or ".").resolve()
    if not root.is_dir():
        raise ConfigError(f"project folder {root} does not exist", hint="pass --project DIR")
    data: dict = {}
    source: Path | None = None
    candidate = root / CONFIG_FILE
    if candidate.is_file():
        source = candidate
        raw = _load_toml(candidate)
        unknown = set(raw) - {"pgshift", "env", "lint"}
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(f"unknown section [{name}] in {CONFIG_FILE}", location=_where(candidate, f"[{name}"),
                              hint="sections are [pgshift], [env.NAME] and [lint]")
        data = dict(_table(candidate, raw, "pgshift", "[pgshift]"))
        data["env"] = _table(candidate, raw, "env", "[env.NAME]")
        data["lint"] = raw.get("lint", data.get("lint", {}))
    elif (root / "pyproject.toml").is_file():
        pyproject = root / "pyproject.toml"
        raw = _load_toml(pyproject)
        section = _table(pyproject, _table(pyproject, raw, "tool", "[tool]"), "pgshift", "[tool.pgshift]", None)
        if section is not None:
            source = pyproject
            data = dict(section)
            data.setdefault("env", {})
    return _build(root, source, data)


def _table(source: Path, raw: dict, key: str, shown: str, default: object = ...) -> dict | None:
    """``raw[key]``, which must be a TOML table (``{}`` or *default* when absent)."""
    if key not in raw:
        return {} if default is ... else default
    value = raw[key]
    if not isinstance(value, dict):
        raise ConfigError(f"{shown} must be a table of settings, not {value!r}", location=_where(source, key),
                          hint=f"write it as a section: {shown}")
    return value


def _check_types(source: Path | None, section: str, values: dict, types: dict) -> None:
    """Unknown settings and values of the wrong type are errors at their line: a quoted
    ``protected = "false"`` must not quietly mean true, nor a typo quietly mean nothing."""
    where = f" in {section}" if section else ""
    for key, value in values.items():
        expected = types.get(key)
        if expected is None:
            raise ConfigError(f"unknown setting {key!r}{where}", location=_where(source, key) if source else None,
                              hint="settings are: " + ", ".join(sorted(types)))
        if expected == "duration":
            ok = isinstance(value, str | int | float) and not isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, expected)
        if not ok:
            raise ConfigError(f"{key}{where} must be {_TYPE_WORDS[expected]}, not {value!r}",
                              location=_where(source, key) if source else None)
        if key == "target_version" and not 9 <= value <= 99:
            raise ConfigError(f"target_version{where} must be a PostgreSQL major version like 15, not {value}",
                              location=_where(source, key) if source else None)
        low = _AT_LEAST.get(key)
        if low is not None and value < low:
            raise ConfigError(f"{key}{where} must be {low} or more, not {value}",
                              location=_where(source, key) if source else None, hint=_AT_LEAST_WHY[key])


def _build(root: Path, source: Path | None, data: dict) -> Config:
    envs_raw = data.pop("env", {}) or {}
    lint_raw = data.pop("lint", {}) or {}
    if not isinstance(envs_raw, dict):
        raise ConfigError(f"[env.NAME] must be tables of settings, not {envs_raw!r}",
                          location=_where(source, "env") if source else None, hint="write [env.dev], [env.production]")
    _check_types(source, "", data, _TOP_TYPES)
    if not isinstance(lint_raw, dict):
        raise ConfigError("[lint] must be a table", location=_where(source, "lint") if source else None)
    _check_types(source, "[lint]", lint_raw, _LINT_TYPES)
    for name in lint_raw.get("disable", ()):
        if not isinstance(name, str):
            raise ConfigError(f"[lint] disable must list rule ids as strings, not {name!r}",
                              location=_where(source, "disable") if source else None)
    for name, level in lint_raw.get("severity", {}).items():
        if not isinstance(level, str):
            raise ConfigError(f"[lint] severity of {name} must be a string (error, warning, info or off), "
                              f"not {level!r}", location=_where(source, name) if source else None)
    ledger = str(data.get("ledger", DEFAULT_LEDGER))
    if ledger.count(".") > 1 or not all(part.replace("_", "a").isalnum() for part in ledger.split(".")):
        raise ConfigError(f"ledger must be `schema.table` of plain lowercase names, not {ledger!r}",
                          location=_where(source, "ledger") if source else None)
    environments = {}
    for name, values in envs_raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"[env.{name}] must be a table", location=_where(source, name) if source else None)
        environments[name] = _environment(source, name, values)
    for env in environments.values():
        if env.require_applied_in and env.require_applied_in not in environments:
            raise ConfigError(
                f"[env.{env.name}] require_applied_in names {env.require_applied_in!r}, which is not configured",
                location=_where(source, "require_applied_in") if source else None)
    lint = LintConfig(
        disable=tuple(lint_raw.get("disable", ())),
        severity=dict(lint_raw.get("severity", {})),
        target_version=lint_raw.get("target_version"),
    )
    return Config(root=root, source=source, migrations=str(data.get("migrations", "migrations")),
                  ledger=ledger, environments=environments, lint=lint,
                  target_version=data.get("target_version"), dump_schema=data.get("dump_schema"),
                  store_snapshots=bool(data.get("store_snapshots", False)),
                  fingerprint=_fingerprint_mode(source, data.get("fingerprint", "run")))


def _fingerprint_mode(source: Path | None, mode: str) -> str:
    if mode not in FINGERPRINT_MODES:
        raise ConfigError(f"fingerprint must be one of {', '.join(FINGERPRINT_MODES)}, not {mode!r}",
                          location=_where(source, "fingerprint") if source else None,
                          hint="run: after the last version of each run (the default); each: after every "
                               "version; off: never (drift then knows nothing)")
    return mode


#: ``checks`` keys: the thresholds (numbers) and the checks that can be switched off with false;
#: safety.preflight holds their defaults and meaning (a test keeps the two lists the same)
CHECK_THRESHOLDS = ("active_connections", "disk_usage_percent", "long_transaction_seconds", "replica_lag_seconds")
CHECK_NAMES = ("connection", "active_connections", "disk_usage", "long_transactions", "invalid_indexes",
               "prepared_transactions", "replica_lag", "backup_tool")


def _check_checks(source: Path | None, name: str, checks: dict) -> None:
    for key, value in checks.items():
        where = _where(source, key) if source else None
        if key not in CHECK_THRESHOLDS and key not in CHECK_NAMES:
            raise ConfigError(f"[env.{name}] checks: unknown key {key!r}", location=where,
                              hint="known keys: " + ", ".join(sorted(set(CHECK_THRESHOLDS) | set(CHECK_NAMES))))
        if value is False or (value is True and key in CHECK_NAMES):
            continue
        if key not in CHECK_THRESHOLDS or isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"[env.{name}] checks.{key} must be "
                              + ("a number (or false to skip the check)" if key in CHECK_THRESHOLDS else "false")
                              + f", not {value!r}", location=where)


def _environment(source: Path | None, name: str, values: dict) -> Environment:
    _check_types(source, f"[env.{name}]", values, _ENV_TYPES)
    _check_checks(source, name, values.get("checks") or {})
    kwargs = dict(values)
    try:
        for key in ("lock_timeout", "statement_timeout", "lock_retry_max_delay", "blocker_wait", "stall_timeout"):
            if key in kwargs:
                kwargs[key] = (parse_timeout if key.endswith("_timeout") else parse_duration)(kwargs[key])
    except ValueError as exc:
        raise ConfigError(f"[env.{name}] {exc}", location=_where(source, key) if source else None) from None
    return Environment(name=name, **kwargs)


# --- ${VAR} and the connection --------------------------------------------

def expand(value: str, *, environ: dict | None = None, where: str = "", source: Path | None = None) -> str:
    """Expand ``${VAR}`` from the environment; a missing variable is an error."""
    environ = os.environ if environ is None else environ
    import string  # noqa: PLC0415

    template = string.Template(value)
    missing = [m for m in template.get_identifiers() if m not in environ]
    if missing:
        var = missing[0]
        raise ConfigError(
            f"environment variable {var} is not set ({where or 'configuration'} uses ${{{var}}})",
            location=_where(source, "${" + var) if source else None,
            hint=f"export {var}=... or pass --database-url",
        )
    try:
        return template.substitute(environ)
    except ValueError as exc:
        raise ConfigError(f"bad ${{...}} in {where or 'configuration'}: {exc}",
                          location=_where(source, "$") if source else None) from None


# --- masking -----------------------------------------------------------------

MASK = "********"


def _split_userinfo(url: str) -> tuple[str, str | None, str | None, str]:
    """(``scheme://``, user, password, the rest) of a URL-form DSN, split the cautious way.

    The user info ends at the last ``@`` (a password may hold an unencoded ``#``, ``/``,
    ``?`` or even ``@``, which a URL parser would take for the fragment, the path, the
    query or the host); without an ``@`` there is none. At worst this masks too much."""
    head, _, body = url.partition("://")
    head += "://"
    at = body.rfind("@")
    if at < 0:
        return head, None, None, body
    userinfo, rest = body[:at], body[at:]
    user, colon, password = userinfo.partition(":")
    return head, user, (password if colon else None), rest


def mask_dsn(dsn: str | None) -> str:
    """A DSN with its password replaced, in URL or key=value form."""
    if not dsn:
        return dsn or ""
    if "://" in dsn:
        head, user, password, rest = _split_userinfo(dsn)
        if user is not None:
            rest = f"{user}:{MASK}{rest}" if password else f"{user}{rest}"
        shown = head + rest
        path, qmark, query = shown.partition("?")
        if qmark:
            try:
                pairs = [(k, MASK if k.lower() == "password" else v)
                         for k, v in parse_qsl(query, keep_blank_values=True)]
            except ValueError:
                return path + "?" + MASK
            query = urlencode(pairs, safe="/*", quote_via=quote)
            shown = f"{path}?{query}"
        return shown
    return _mask_keyword_dsn(dsn)


def _mask_keyword_dsn(dsn: str) -> str:
    out, i, n = [], 0, len(dsn)
    while i < n:
        if dsn[i].isspace():
            out.append(dsn[i])
            i += 1
            continue
        eq = dsn.find("=", i)
        if eq < 0:
            out.append(dsn[i:])
            break
        key = dsn[i:eq].strip()
        j = eq + 1
        while j < n and dsn[j] == " ":
            j += 1
        if j < n and dsn[j] == "'":
            k = j + 1
            while k < n and dsn[k] != "'":
                k += 2 if dsn[k] == "\\" else 1
            end = min(k + 1, n)
        else:
            end = j
            while end < n and not dsn[end].isspace():
                end += 1
        value = dsn[j:end]
        out.append(f"{dsn[i:eq]}={MASK if key.lower() == 'password' else value}")
        i = end
    return "".join(out)


# (patterns, not compiled ones: re compiles and keeps them when first used, and a lint never uses them)
_CONNINFO_PASSWORD = r"(?i)(?:^|\s)password\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']\S*))"


def passwords_in(dsn: str | None) -> list[str]:
    """The password(s) a DSN carries, read as libpq reads a connection string (a URL's user info
    and its ``password`` parameter, or a ``password=`` pair, quoted or not), so that they can be
    scrubbed from any text. The tests check it against psycopg's ``conninfo_to_dict`` (libpq's
    own parser); it is not called here because psycopg stays out of this layer."""
    if not dsn:
        return []
    found = []
    if "://" in dsn:
        from urllib.parse import unquote  # noqa: PLC0415

        _head, _user, password, rest = _split_userinfo(dsn)
        if password:
            found += [password, unquote(password)]
            # libpq splits such a password at its own first '@' or '/': an error message may then
            # quote a piece of it (as a host name, say), so each piece is scrubbed too
            found += [piece for piece in re.split(r"[@/#?:]", password) if len(piece) >= 4]
        try:
            found += [v for k, v in parse_qsl(rest.partition("?")[2]) if k.lower() == "password" and v]
        except ValueError:
            pass
    else:
        # key=value form, by libpq's rules: a value is a word, or '...' with backslash escapes
        for quoted, word in re.findall(_CONNINFO_PASSWORD, dsn):
            found.append(re.sub(r"\\(.)", r"\1", quoted) if quoted else word)
    return [p for p in found if p]


# a password field in any text: password=VALUE in a conninfo string, a URL's query, PGPASSWORD=VALUE
_PASSWORD_FIELD = r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&'\"]+)"


def _whole(word: str) -> re.Pattern:
    """*word* where it stands whole: not a piece of a longer word (a password ``ro`` is not
    the middle of ``error``). A word that starts or ends with punctuation is bounded there already."""
    before = r"(?<!\w)" if re.match(r"\w", word[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", word[-1]) else ""
    return re.compile(before + re.escape(word) + after)


def scrub(text: str, dsn: str | None) -> str:
    """Remove a DSN's password from arbitrary text (error messages, logs).

    The connection string is parsed for its password (:func:`passwords_in`), never guessed at;
    the text then loses the DSN itself wherever it is quoted, the value of every password
    field (``password=...``), and every whole occurrence of the password. A password is
    never replaced inside a longer word: that would garble the message (``er********r`` for
    ``error`` with the password ``ro``) and, worse, tell a reader the password."""
    if not text:
        return text
    if dsn:
        text = text.replace(dsn, mask_dsn(dsn))
    text = re.sub(_PASSWORD_FIELD, lambda m: m.group(1) + MASK, text)
    for password in sorted(set(passwords_in(dsn)), key=len, reverse=True):
        text = _whole(password).sub(MASK, text)
    return text
