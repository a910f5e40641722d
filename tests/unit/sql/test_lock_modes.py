"""What a statement locks, from its text alone (sql.classify.lock_modes), and which lock modes
conflict: what the look before an attempt asks pg_locks about."""
from __future__ import annotations

import pytest

from pgshift.sql import parse_one
from pgshift.sql.classify import LOCK_MODES, conflicting_modes, is_strong, lock_modes

AS, RS, RX, SUX, S, SRX, X, AX = LOCK_MODES


def modes(sql: str) -> dict[str, str]:
    return lock_modes(parse_one(sql))


@pytest.mark.parametrize("sql, expected", [
    ("ALTER TABLE t ADD COLUMN note text", {'"t"': AX}),
    ("ALTER TABLE s.t ALTER COLUMN a TYPE bigint", {'"s"."t"': AX}),
    ("ALTER TABLE t ADD COLUMN u_id int REFERENCES u (id)", {'"t"': AX, '"u"': SRX}),
    ("ALTER TABLE t ADD CONSTRAINT t_u FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID", {'"t"': SRX, '"u"': SRX}),
    ("ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) NOT VALID", {'"t"': AX}),
    ("ALTER TABLE t VALIDATE CONSTRAINT t_pos", {'"t"': SUX}),
    ("ALTER TABLE t VALIDATE CONSTRAINT c, ADD COLUMN x int", {'"t"': AX}),     # the strongest subcommand
    ("ALTER TABLE t ALTER COLUMN a SET STATISTICS 500", {'"t"': SUX}),
    ("ALTER TABLE t SET (fillfactor = 70, autovacuum_enabled = false)", {'"t"': SUX}),
    ("ALTER TABLE t SET (toast.autovacuum_enabled = false)", {'"t"': SUX}),
    ("ALTER TABLE t SET (parallel_workers = 2, oids = false)", {'"t"': AX}),
    ("ALTER TABLE t DISABLE TRIGGER ALL", {'"t"': SRX}),
    ("ALTER TABLE p ATTACH PARTITION p1 FOR VALUES IN (1)", {'"p"': SUX, '"p1"': AX}),
    ("ALTER TABLE p DETACH PARTITION p1", {'"p"': AX, '"p1"': AX}),
    ("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", {'"p"': SUX, '"p1"': SUX}),
    ("ALTER TABLE t ENABLE ROW LEVEL SECURITY", {'"t"': AX}),
    ("ALTER TABLE t RENAME COLUMN a TO b", {'"t"': AX}),
    ("ALTER TABLE t RENAME TO t2", {'"t"': AX}),
    ("ALTER INDEX i RENAME TO j", {'"i"': SUX}),
    ("ALTER TABLE t SET SCHEMA s", {'"t"': AX}),
    ("CREATE INDEX t_a ON t (a)", {'"t"': S}),
    ("CREATE INDEX CONCURRENTLY t_a ON t (a)", {'"t"': SUX}),
    ("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", {'"t"': SRX}),
    ("CREATE POLICY p ON t USING (true)", {'"t"': AX}),
    ("DROP TABLE t, s.u", {'"t"': AX, '"s"."u"': AX}),
    ("DROP INDEX i", {'"i"': AX}),
    ("DROP INDEX CONCURRENTLY s.i", {'"s"."i"': SUX}),
    ("DROP TRIGGER tr ON s.t", {'"s"."t"': AX}),
    ("DROP POLICY p ON t", {'"t"': AX}),
    ("TRUNCATE t, u", {'"t"': AX, '"u"': AX}),
    ("LOCK TABLE t IN SHARE MODE", {'"t"': S}),
    ("LOCK TABLE t", {'"t"': AX}),
    ("LOCK TABLE t IN ROW EXCLUSIVE MODE", {'"t"': RX}),
    ("VACUUM FULL t", {'"t"': AX}),
    ("VACUUM (FULL false) t", {'"t"': SUX}),
    ("VACUUM ANALYZE t", {'"t"': SUX}),
    ("CLUSTER t USING t_pkey", {'"t"': AX}),
    ("REFRESH MATERIALIZED VIEW m", {'"m"': AX}),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY m", {'"m"': X}),
    ("REINDEX TABLE t", {'"t"': S}),
    ("REINDEX INDEX CONCURRENTLY i", {'"i"': SUX}),
    ("CREATE TABLE c PARTITION OF p FOR VALUES IN (1)", {'"p"': AX}),
    ("CREATE TABLE c (id int REFERENCES u, v int, FOREIGN KEY (v) REFERENCES w (id))", {'"u"': SRX, '"w"': SRX}),
    ("CREATE TABLE c (id int)", {}),                                          # the new table: nobody holds it
    ("CREATE TABLE c AS SELECT * FROM t", {'"t"': AS}),
    ("CREATE OR REPLACE VIEW v AS SELECT * FROM t", {'"v"': AX, '"t"': AS}),
    ("UPDATE t SET a = u.a FROM u WHERE u.id = t.id", {'"t"': RX, '"u"': AS}),
    ("INSERT INTO t SELECT * FROM u", {'"t"': RX, '"u"': AS}),
    ("DELETE FROM t WHERE id IN (SELECT id FROM u)", {'"t"': RX, '"u"': AS}),
    ("SELECT * FROM t JOIN u USING (id)", {'"t"': AS, '"u"': AS}),
    ('ALTER TABLE "Odd""Name" ADD COLUMN x int', {'"Odd""Name"': AX}),
    ("DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD COLUMN x int'; END $$", {}),     # cannot tell: no look
    ("SET lock_timeout = '1s'", {}),
])
def test_lock_modes(sql, expected):
    assert modes(sql) == expected


def test_names_are_those_referenced_relations_gives():
    from pgshift.sql import referenced_relations

    node = parse_one("UPDATE s.t SET a = 1 FROM u WHERE u.id = t.id")
    assert set(lock_modes(node)) == set(referenced_relations(node))


def test_conflicts_are_symmetric_and_as_documented():
    for a in LOCK_MODES:
        for b in LOCK_MODES:
            assert (b in conflicting_modes(a)) == (a in conflicting_modes(b)), (a, b)
    assert conflicting_modes(AS) == (AX,)
    assert set(conflicting_modes(AX)) == set(LOCK_MODES)
    assert S not in conflicting_modes(S) and SUX in conflicting_modes(SUX)


def test_strong_locks_are_those_that_stall_writes_while_they_wait():
    assert [m for m in LOCK_MODES if is_strong(m)] == [S, SRX, X, AX]
