"""Small truths (issue 17, point 7), each shown: sizes labelled by the unit they are in, and
passwords scrubbed by parsing the connection string, never as substrings of other words."""
from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from pgshift import config
from pgshift.text import format_size

# --- sizes: 1024 is a KiB, never a "kB" -------------------------------------------------------


@pytest.mark.parametrize("size, shown", [
    (0, "0 bytes"), (1, "1 byte"), (1023, "1023 bytes"),
    (1024, "1.0 KiB"), (1536, "1.5 KiB"), (1024 ** 2 * 20, "20.0 MiB"),
    (int(1024 ** 3 * 3.25), "3.2 GiB"), (1024 ** 4, "1.0 TiB"), (1024 ** 6, "1024.0 PiB"),
])
def test_sizes_are_in_binary_units_labelled_as_such(size, shown):
    assert format_size(size) == shown


def test_backup_and_preflight_say_sizes_through_the_one_helper():
    from pgshift.safety import backup, preflight

    for module in (backup, preflight):
        assert module.format_size is format_size
        assert not hasattr(module, "_size")


# --- passwords: parsed from the connection string, scrubbed only where they stand whole ----------

DSNS = [
    "postgresql://bob:ro@db/app",
    "postgresql://bob:p%40ss@db/app",
    "postgres://bob@db/app?password=s%26cret&sslmode=disable",
    "host=db password='a b\\'c' dbname=x",
    "host=db password = secret user=u",
    "password=x",
]


@pytest.mark.parametrize("dsn", DSNS)
def test_the_password_read_is_the_one_libpq_reads(dsn):
    """pgshift's config layer has no psycopg (docs/architecture.md); its reading of a connection
    string is checked here against psycopg's conninfo_to_dict, which asks libpq itself."""
    assert conninfo_to_dict(dsn)["password"] in config.passwords_in(dsn)


def test_a_short_password_does_not_garble_other_words():
    dsn = "postgresql://reader:ro@db.example/app"
    text = ("pg_dump: error: query failed: ERROR:  permission denied for table orders (role reader); "
            "no error from rows: " + dsn)
    shown = config.scrub(text, dsn)
    assert "error" in shown and "er********r" not in shown and "********ws" not in shown
    assert "permission denied for table orders" in shown
    assert "postgresql://reader:********@db.example/app" in shown
    assert ":ro@" not in shown


def test_whole_occurrences_and_password_fields_are_scrubbed():
    dsn = "postgresql://bob:ro@db/app"
    shown = config.scrub("FATAL: password ro rejected; PGPASSWORD=ro and password='ro'; conn: password=other x", dsn)
    # a field's value runs to the next space, as in a conninfo string (a ; may be part of a password)
    assert shown == ("FATAL: password ******** rejected; PGPASSWORD=******** and password=********; "
                     "conn: password=******** x")


def test_a_keyword_dsn_password_with_spaces_and_quotes_is_scrubbed():
    dsn = "host=db user=bob password='s3 cr\\'et' dbname=app"
    shown = config.scrub("could not connect (s3 cr'et) with " + dsn, dsn)
    assert "s3 cr'et" not in shown and "s3 cr\\'et" not in shown
    assert "host=db user=bob password=******** dbname=app" in shown


def test_a_password_of_punctuation_is_still_found():
    dsn = "postgresql://bob:%21%40%23@db/app"   # the password is !@#
    assert "!@#" not in config.scrub("auth failed for '!@#'", dsn)
