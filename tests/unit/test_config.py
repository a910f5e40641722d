from pathlib import Path

import pytest

from pgshift import config
from pgshift.errors import ConfigError
from pgshift.project import resolve_connection


def _cfg(tmp_path: Path, text: str, name: str = "pgshift.toml"):
    (tmp_path / name).write_text(text)
    return config.load(tmp_path)


def test_defaults_without_a_file(tmp_path):
    cfg = config.load(tmp_path)
    assert cfg.source is None and cfg.ledger == "pgshift.migration_log" and cfg.migrations == "migrations"
    assert cfg.environment("dev").name == "dev"


def test_pgshift_toml_and_environments(tmp_path):
    cfg = _cfg(tmp_path, '[pgshift]\nledger = "shared.migration_log"\n[env.dev]\n'
                         '[env.production]\nurl = "${PROD}"\nprotected = true\nlock_timeout = "500ms"\n')
    assert (cfg.ledger_schema, cfg.ledger_table) == ("shared", "migration_log")
    prod = cfg.environment("production")
    assert prod.protected and prod.effective_lock_timeout == 0.5
    assert cfg.environment("dev").effective_lock_timeout is None


def test_protected_default_lock_timeout_is_2s(tmp_path):
    cfg = _cfg(tmp_path, '[env.prod]\nurl = "postgresql://x/y"\nprotected = true\n')
    assert cfg.environment("prod").effective_lock_timeout == 2.0


def test_pyproject_tool_section(tmp_path):
    cfg = _cfg(tmp_path, '[project]\nname = "x"\n[tool.pgshift]\nmigrations = "db/migrations"\n'
                         '[tool.pgshift.env.staging]\nurl = "postgresql://s/db"\n', name="pyproject.toml")
    assert cfg.migrations == "db/migrations"
    assert cfg.environment("staging").url == "postgresql://s/db"


def test_unknown_setting_names_file_and_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, '[pgshift]\n\n[env.dev]\nurll = "x"\n')
    assert "unknown setting 'urll' in [env.dev]" in err.value.message
    assert str(err.value.location).endswith("pgshift.toml:4:1")


def test_bad_toml(tmp_path):
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, "[pgshift\n")
    assert "not valid TOML" in err.value.message and err.value.exit_code == 2


def test_precedence(tmp_path):
    cfg = _cfg(tmp_path, '[env.dev]\nurl = "postgresql://from-env-url/db"\n')
    env = cfg.environment("dev")
    full = {"PGSHIFT_DATABASE_URL": "postgresql://pgshift-var/db", "DATABASE_URL": "postgresql://database-url/db",
            "PGHOST": "libpq"}
    assert resolve_connection(cfg, env, "postgresql://flag/db", full).source == "--database-url"
    assert resolve_connection(cfg, env, None, full).url == "postgresql://pgshift-var/db"
    del full["PGSHIFT_DATABASE_URL"]
    assert resolve_connection(cfg, env, None, full).url == "postgresql://database-url/db"
    del full["DATABASE_URL"]
    assert resolve_connection(cfg, env, None, full).url == "postgresql://from-env-url/db"
    bare = config.load(tmp_path / "..")  # no file: no url
    assert resolve_connection(bare, bare.environment("dev"), None, {"PGHOST": "h"}).source.startswith("libpq")
    assert resolve_connection(bare, bare.environment("dev"), None, {}).embedded


def test_protected_never_uses_embedded(tmp_path):
    cfg = _cfg(tmp_path, "[env.prod]\nprotected = true\n")
    with pytest.raises(ConfigError) as err:
        resolve_connection(cfg, cfg.environment("prod"), None, {})
    assert "never uses its embedded PostgreSQL" in err.value.message


def test_missing_variable_is_named(tmp_path):
    cfg = _cfg(tmp_path, '[env.staging]\nurl = "postgresql://u:${PW}@h/db"\n')
    with pytest.raises(ConfigError) as err:
        resolve_connection(cfg, cfg.environment("staging"), None, {})
    assert "environment variable PW is not set" in err.value.message
    assert str(err.value.location).endswith("pgshift.toml:2:23")
    ok = resolve_connection(cfg, cfg.environment("staging"), None, {"PW": "s3"})
    assert ok.url == "postgresql://u:s3@h/db" and "s3" not in ok.masked


@pytest.mark.parametrize("dsn, shown", [
    ("postgresql://bob:secret@db:5432/app", "postgresql://bob:********@db:5432/app"),
    ("postgres://bob:p%40ss@db/app?sslmode=require", "postgres://bob:********@db/app?sslmode=require"),
    ("postgresql://bob@db/app?password=secret", "postgresql://bob@db/app?password=********"),
    ("host=db user=bob password=secret dbname=app", "host=db user=bob password=******** dbname=app"),
    ("host=db password='a b c' dbname=app", "host=db password=******** dbname=app"),
    ("postgresql://db/app", "postgresql://db/app"),
    # unencoded characters in a password must not move the password out of the user info
    ("postgresql://postgres:Pa#ssWORDx@/db?host=/tmp/s", "postgresql://postgres:********@/db?host=/tmp/s"),
    ("postgresql://bob:Pa/ssWORDx@127.0.0.1:1/db", "postgresql://bob:********@127.0.0.1:1/db"),
    ("postgresql://bob:Pa?ss@h/db", "postgresql://bob:********@h/db"),
    ("postgresql://bob:Pa@ssWORDx@127.0.0.1:1/db", "postgresql://bob:********@127.0.0.1:1/db"),
    ("postgresql://bob:pw@[::1]:5432/db", "postgresql://bob:********@[::1]:5432/db"),
])
def test_mask_dsn(dsn, shown):
    assert config.mask_dsn(dsn) == shown


def test_scrub_removes_the_pieces_libpq_may_quote_of_a_password_it_split():
    dsn = "postgresql://bob:Pa@ssWORDx@127.0.0.1:1/db"
    text = "could not translate host name \"ssWORDx@127.0.0.1\" to address; " + dsn
    assert "ssWORDx" not in config.scrub(text, dsn)


def test_scrub_removes_the_password_anywhere():
    dsn = "postgresql://bob:hunter22@db/app"
    assert "hunter22" not in config.scrub("FATAL: password for hunter22 at postgresql://bob:hunter22@db/app", dsn)


@pytest.mark.parametrize("text, words, line", [
    ('[lint]\ndisabel = ["set-not-null"]\n', "unknown setting 'disabel' in [lint]", 2),
    ('[env.production]\nurl = "postgresql://p/db"\nprotected = "false"\n',
     "protected in [env.production] must be true or false, not 'false'", 3),
    ('[env.production]\nlock_retries = "many"\n', "lock_retries in [env.production] must be a whole number", 2),
    ('[env.dev]\nlock_timeout = true\n', 'lock_timeout in [env.dev] must be a duration like "2s"', 2),
    ('[pgshift]\ntarget_version = "15"\n', "target_version must be a whole number, not '15'", 2),
    ('[pgshift]\ntarget_version = 150\n', "target_version must be a PostgreSQL major version like 15, not 150", 2),
    ('[lint]\ndisable = "set-not-null"\n', "disable in [lint] must be a list", 2),
    ('[lint]\nseverity = { set-not-null = 1 }\n', "severity of set-not-null must be a string", 2),
])
def test_a_setting_of_the_wrong_type_or_an_unknown_one_is_an_error_at_its_line(tmp_path, text, words, line):
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, text)
    assert words in err.value.message
    assert err.value.exit_code == 2
    assert err.value.location.line == line


def test_settings_of_the_right_types_are_read(tmp_path):
    cfg = _cfg(tmp_path, '[pgshift]\ntarget_version = 14\n[lint]\ndisable = ["prefer-text"]\n'
                         'severity = { set-not-null = "warning" }\ntarget_version = 13\n'
                         '[env.prod]\nurl = "postgresql://p/db"\nprotected = true\nlock_timeout = 1\n'
                         'lock_retries = 3\ntarget_version = 15\n')
    assert (cfg.target_version, cfg.lint.target_version, cfg.environment("prod").target_version) == (14, 13, 15)
    assert cfg.lint.disable == ("prefer-text",) and cfg.environment("prod").effective_lock_timeout == 1


@pytest.mark.parametrize("name, text, words", [
    ("pgshift.toml", "pgshift = 5\n", "[pgshift] must be a table of settings, not 5"),
    ("pgshift.toml", "env = 5\n", "[env.NAME] must be a table of settings, not 5"),
    ("pgshift.toml", "env = [1]\n", "[env.NAME] must be a table of settings, not [1]"),
    ("pgshift.toml", "[env]\ndev = 3\n", "[env.dev] must be a table"),
    ("pyproject.toml", "tool = 5\n", "[tool] must be a table of settings, not 5"),
    ("pyproject.toml", "[tool]\npgshift = 5\n", "[tool.pgshift] must be a table of settings, not 5"),
    ("pyproject.toml", "[tool.pgshift]\nenv = 5\n", "[env.NAME] must be tables of settings, not 5"),
])
def test_a_section_that_is_not_a_table_is_an_error(tmp_path, name, text, words):
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, text, name=name)
    assert words in err.value.message and err.value.exit_code == 2 and err.value.location is not None


def test_a_toml_syntax_error_is_located_at_its_line_and_column(tmp_path):
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, '[pgshift]\nmigrations = "m"\n\n\n[env.dev]\nurl = "x" y\n')
    assert (err.value.location.line, err.value.location.col) == (6, 11)


@pytest.mark.parametrize("checks, words", [
    ('{ active_connections = "x" }', "checks.active_connections must be a number"),
    ("{ nosuch = 3 }", "checks: unknown key 'nosuch'"),
    ("{ invalid_indexes = 3 }", "checks.invalid_indexes must be false"),
])
def test_bad_checks_are_errors_when_the_configuration_is_read(tmp_path, checks, words):
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, f"[env.dev]\nchecks = {checks}\n")
    assert words in err.value.message and err.value.location.line == 2


def test_the_check_keys_the_configuration_knows_are_the_preflight_checks(tmp_path):
    from pgshift.safety import preflight

    assert set(config.CHECK_THRESHOLDS) == set(preflight.DEFAULTS)
    assert set(config.CHECK_NAMES) == set(preflight.CHECKS)
    cfg = _cfg(tmp_path, "[env.prod]\nchecks = { active_connections = 20, invalid_indexes = false, disk_usage = true }\n")
    assert cfg.environment("prod").checks["active_connections"] == 20


def test_a_timeout_setting_out_of_postgresqls_range_is_an_error_at_its_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        _cfg(tmp_path, '[env.dev]\nstatement_timeout = "3000000s"\n')
    assert "more than PostgreSQL accepts" in err.value.message and err.value.location.line == 2


@pytest.mark.parametrize("line, says", [
    ("lock_timeout = -5", "not a duration: -5 (a duration cannot be negative)"),
    ("lock_retry_max_delay = -1", "not a duration: -1 (a duration cannot be negative)"),
    ("statement_timeout = -0.5", "not a duration: -0.5 (a duration cannot be negative)"),
    ("lock_retries = 0", "lock_retries in [env.dev] must be 1 or more, not 0"),
    ("backup_retention = -2", "backup_retention in [env.dev] must be 0 or more, not -2"),
])
def test_numbers_in_the_configuration_are_checked_as_the_flags_are(tmp_path, line, says):
    (tmp_path / "pgshift.toml").write_text(f"[pgshift]\n[env.dev]\n{line}\n")
    with pytest.raises(ConfigError) as err:
        config.load(tmp_path)
    assert says in err.value.message
    assert err.value.location is not None and err.value.location.line == 3
