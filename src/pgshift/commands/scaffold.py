"""``init`` and ``new``: a project's folders and configuration; a timestamped migration and its rollback stub."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from .. import config as config_mod
from .. import discovery
from ..errors import ConfigError, InputError
from ..project import Project


@dataclass(frozen=True)
class CreatedFiles:
    """What ``init`` or ``new`` created.

    Attributes:
        paths: The files and folders created (folders end with ``/``), as absolute paths.
    """
    paths: tuple[str, ...]

    def to_dict(self) -> dict:
        """``--json``: the paths created."""
        return {"created": list(self.paths)}


def init(project_dir: str | Path | None = None) -> CreatedFiles:
    """Create a project: ``pgshift.toml``, ``migrations/`` and ``migrations/rollbacks/``.

    What exists is kept as it is; ``.pgshift/`` is added to ``.gitignore``.

    Args:
        project_dir: The project folder (created if missing); default the current folder.

    Returns:
        :class:`CreatedFiles` naming what was created (empty when everything existed).

    Raises:
        OSError: A file or folder cannot be created.
    """
    from . import templates  # noqa: PLC0415

    root = Path(project_dir or ".").resolve()
    root.mkdir(parents=True, exist_ok=True)
    created = []
    cfg = root / config_mod.CONFIG_FILE
    if not cfg.exists():
        cfg.write_text(templates.CONFIG, encoding="utf-8")
        created.append(str(cfg))
    for folder in (root / "migrations", root / "migrations" / discovery.ROLLBACK_DIR):
        if not folder.exists():
            folder.mkdir(parents=True)
            created.append(str(folder) + "/")
    gitignore = root / ".gitignore"
    line = ".pgshift/"
    if not gitignore.exists() or line not in gitignore.read_text(encoding="utf-8").split():
        with gitignore.open("a", encoding="utf-8") as fh:
            fh.write(f"{line}\n")
    return CreatedFiles(tuple(created))


def new(project: Project, name: str, template: str = "blank", rollback: bool = True,
        now: _dt.datetime | None = None, description: str | None = None) -> CreatedFiles:
    """Create a timestamped migration from *template* and its rollback stub: both files or neither.

    The version is the time (UTC) as ``YYYYMMDDHHMMSS``, one second later when taken. The
    rollback stub holds only comments until it is written: ``down`` and ``test --roundtrip``
    refuse it, and lint flags it.

    Args:
        project: An opened project.
        name: The migration's name: lowercase letters, digits and ``_``.
        template: ``blank``, ``schema``, ``data`` (a batched change) or ``index`` (a concurrent build).
        rollback: Also create the rollback stub.
        now: The time that makes the version; default now.
        description: The header's description; default the name, capitalised.

    Returns:
        :class:`CreatedFiles`: the migration and, with *rollback*, its stub.

    Raises:
        InputError: A bad or too long name, an unknown template, or a file that cannot be
            created (exit 2); nothing was created.
        ConfigError: The migrations folder does not exist (exit 2).
    """
    from . import templates  # noqa: PLC0415

    if not name or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in name):
        raise InputError(f"bad migration name {name!r}: use lowercase letters, digits and _",
                         hint="e.g. pgshift new add_customer_preferences")
    if template not in templates.BODIES:
        raise InputError(f"unknown template {template!r}", hint="templates: " + ", ".join(templates.BODIES))
    folder = project.config.migrations_dir
    if not folder.is_dir():
        raise ConfigError(f"migrations folder {folder} does not exist", hint="run `pgshift init`")
    _check_name_length(folder, name)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    version = now.strftime("%Y%m%d%H%M%S")
    existing = {p.name[:14] for p in folder.glob("*.sql")}
    while version in existing:  # two `new` in the same second
        now += _dt.timedelta(seconds=1)
        version = now.strftime("%Y%m%d%H%M%S")
    from .. import db  # noqa: PLC0415

    author, _ = db.whoami()
    fields = {"version": version, "name": name, "description": description or name.replace("_", " ").capitalize(),
              "author": author, "date": now.date().isoformat()}
    pair = [(folder / f"{version}_{name}.sql", templates.HEADER.format(**fields) + templates.BODIES[template])]
    if rollback:
        pair.append((folder / discovery.ROLLBACK_DIR / f"{version}_rollback_{name}.sql",
                     templates.ROLLBACK_HEADER.format(**fields) + templates.ROLLBACK_BODIES[template]))
    return CreatedFiles(tuple(_create_all(pair)))


def _check_name_length(folder: Path, name: str) -> None:
    """The longer of the two new files, ``<version>_rollback_<name>.sql``, must fit the file
    system's limit on a file name (checked even with --no-rollback: a rollback may come later)."""
    import os  # noqa: PLC0415

    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    longest = len(f"{'0' * discovery.VERSION_DIGITS}_rollback_{name}.sql".encode())
    if longest > limit:
        most = limit - (longest - len(name.encode()))
        raise InputError(f"migration name too long: {len(name)} characters, at most {most}",
                         hint=f"its rollback file <version>_rollback_<name>.sql must fit the file system's limit "
                              f"of {limit} bytes for a file name: shorten the name")


def _create_all(files: list[tuple[Path, str]]) -> list[str]:
    """Create every file (none may exist yet), or none: on a failure the files already made are removed."""
    made: list[Path] = []
    try:
        for path, text in files:
            path.parent.mkdir(exist_ok=True)
            with path.open("x", encoding="utf-8") as fh:
                made.append(path)
                fh.write(text)
    except OSError as exc:
        for path in made:
            path.unlink(missing_ok=True)
        raise InputError(f"cannot create {exc.filename or path}: {exc.strerror or exc}",
                         hint="nothing was created: fix the cause and run `pgshift new` again") from None
    return [str(path) for path, _ in files]

