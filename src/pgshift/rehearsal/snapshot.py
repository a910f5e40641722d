"""Schema snapshots: a normalised, catalog-based description of a database's
schema, and an object-by-object diff that a person can read.

``pgshift test --roundtrip`` proves a rollback by taking a snapshot, applying the
migration, rolling it back and taking a second snapshot: the two must be equal.
A text diff of ``pg_dump`` output is noisy and hard to read; this module instead
reads the system catalogs and describes every user object as a key and a flat
dictionary of attributes::

    snap = take(conn, exclude=("shared.migration_log",))
    snap.objects["column shared.customers.status"]
    # {'default': "'active'::text", 'not_null': True, 'position': 3, 'type': 'text'}

    for d in diff(before, after):
        print(d.describe("before migration", "after rollback"))
    # column shared.customers.status: default is 'new'::text after rollback,
    #     'active'::text before migration

Keys are ``"<object type> <name>"``; names are schema-qualified and unquoted:

    schema shared
    table shared.customers               (plain, partitioned, unlogged)
    foreign table shared.remote
    view shared.active_customers
    materialized view shared.totals
    column shared.customers.email        (of tables, views, materialized views)
    constraint shared.customers.customers_pkey
    index shared.customers_pkey
    trigger shared.customers.set_updated_at
    policy shared.customers.tenant_isolation
    rule shared.customers.no_delete
    statistics shared.customers_stats
    sequence shared.customers_id_seq
    function shared.touch(a integer, b text)   (also procedure, aggregate)
    type shared.mood                     (enum, composite, range, base)
    domain shared.email
    domain constraint shared.email.email_check
    collation shared.nocase
    extension citext
    event trigger ddl_audit
    default privileges for role app in schema shared on tables

Attribute values are JSON scalars or lists; attributes whose value is NULL are
left out (``comment`` only appears on objects that have one). Nothing holds an
OID or a database name, lists that are sets (grants, policy roles, options) are
sorted, and expressions are deparsed with ``search_path = pg_catalog`` so every
user object is schema-qualified whatever the caller's search path. Owners are
deliberately not recorded; grants are, with a NULL ACL replaced by the built-in
default so that GRANT followed by REVOKE compares equal to never granting.

Objects that belong to an extension (``pg_depend.deptype = 'e'``) and everything
in ``pg_catalog``, ``information_schema``, ``pg_toast*`` and ``pg_temp*`` are left
out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import InputError

FORMAT_VERSION = 1

#: every object type a key can start with; longest first so that ``_split_key``
#: finds "domain constraint" before "domain".
OBJECT_TYPES: tuple[str, ...] = tuple(sorted((
    "schema", "table", "foreign table", "view", "materialized view", "column",
    "constraint", "index", "trigger", "policy", "rule", "statistics", "sequence",
    "function", "procedure", "aggregate", "type", "domain", "domain constraint",
    "collation", "extension", "event trigger", "default privileges",
), key=lambda t: (-len(t), t)))

RELATION_TYPES = frozenset({"table", "foreign table", "view", "materialized view"})
RELATION_CHILD_TYPES = frozenset({"column", "constraint", "trigger", "policy", "rule"})

# --- catalog queries --------------------------------------------------------
#
# Every query returns rows of (object type, name, owning relation or NULL,
# attributes as jsonb). The owning relation ("schema.table") is used only to
# apply ``exclude`` and is not stored.

_USER_NS = "({n}.nspname <> 'information_schema' AND {n}.nspname !~ '^pg_')"


def _user_ns(alias: str) -> str:
    return _USER_NS.format(n=alias)


def _not_extension_member(catalog: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend xd WHERE xd.classid = "
            f"'pg_catalog.{catalog}'::pg_catalog.regclass AND xd.objid = {oid} AND xd.deptype = 'e')")


def _acl(column: str, kind: str | None, owner: str | None) -> str:
    """A sorted jsonb array of aclitem texts; NULL means the built-in default."""
    source = f"coalesce({column}, pg_catalog.acldefault('{kind}', {owner}))" if kind else column
    return (f"(SELECT pg_catalog.jsonb_agg(x ORDER BY x COLLATE \"C\") FROM "
            f"(SELECT a::text AS x FROM pg_catalog.unnest({source}) AS a) AS acl_items)")


def _sorted_text_array(expr: str) -> str:
    return (f"(SELECT pg_catalog.jsonb_agg(x ORDER BY x COLLATE \"C\") FROM "
            f"pg_catalog.unnest({expr}) AS x)")


def _comment(oid: str, catalog: str, subid: str = "0") -> str:
    return (f"(SELECT d.description FROM pg_catalog.pg_description d WHERE d.objoid = {oid} "
            f"AND d.classoid = 'pg_catalog.{catalog}'::pg_catalog.regclass AND d.objsubid = {subid})")


_QUERIES: dict[str, str] = {}

_QUERIES["schemas"] = f"""
SELECT 'schema', n.nspname, NULL, jsonb_build_object(
    'comment', {_comment('n.oid', 'pg_namespace')},
    'acl', {_acl('n.nspacl', 'n', 'n.nspowner')})
FROM pg_namespace n
WHERE {_user_ns('n')} AND {_not_extension_member('pg_namespace', 'n.oid')}
"""

_QUERIES["relations"] = f"""
SELECT CASE c.relkind WHEN 'f' THEN 'foreign table' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' ELSE 'table' END,
       n.nspname || '.' || c.relname,
       n.nspname || '.' || c.relname,
       jsonb_build_object(
    'kind', CASE WHEN c.relkind = 'p' THEN 'partitioned'
                 WHEN c.relkind IN ('r', 'f') AND c.relpersistence = 'u' THEN 'unlogged'
                 WHEN c.relkind = 'r' THEN 'table' END,
    'row_security', CASE WHEN c.relkind IN ('r', 'p', 'f') THEN c.relrowsecurity END,
    'force_row_security', CASE WHEN c.relkind IN ('r', 'p', 'f') THEN c.relforcerowsecurity END,
    'replica_identity', CASE WHEN c.relkind IN ('r', 'p') THEN
        CASE c.relreplident WHEN 'd' THEN 'default' WHEN 'n' THEN 'nothing'
                            WHEN 'f' THEN 'full' WHEN 'i' THEN 'index' END END,
    'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
    'partition_of', (SELECT pn.nspname || '.' || pc.relname
                     FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                     JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                     WHERE i.inhrelid = c.oid AND c.relispartition),
    'partition_bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
    'inherits', (SELECT jsonb_agg(pn.nspname || '.' || pc.relname ORDER BY i.inhseqno)
                 FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                 JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                 WHERE i.inhrelid = c.oid AND NOT c.relispartition),
    'definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
    'options', {_sorted_text_array('c.reloptions')},
    'server', (SELECT s.srvname FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver
               WHERE ft.ftrelid = c.oid),
    'foreign_options', (SELECT {_sorted_text_array('ft.ftoptions')} FROM pg_foreign_table ft
                        WHERE ft.ftrelid = c.oid),
    'comment', {_comment('c.oid', 'pg_class')},
    'acl', {_acl('c.relacl', 'r', 'c.relowner')})
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_user_ns('n')}
  AND {_not_extension_member('pg_class', 'c.oid')}
"""

_QUERIES["columns"] = f"""
SELECT 'column', n.nspname || '.' || c.relname || '.' || a.attname,
       n.nspname || '.' || c.relname,
       jsonb_build_object(
    'position', row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
    'type', format_type(a.atttypid, a.atttypmod),
    'not_null', a.attnotnull,
    'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
    'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
    'generated', CASE a.attgenerated WHEN 's' THEN 'stored' WHEN 'v' THEN 'virtual' END,
    'generation_expression', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
    'collation', CASE WHEN a.attcollation <> t.typcollation THEN
        (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                     ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
         FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
         WHERE co.oid = a.attcollation) END,
    'comment', {_comment('c.oid', 'pg_class', 'a.attnum')},
    'acl', {_acl('a.attacl', None, None)})
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_user_ns('n')}
  AND {_not_extension_member('pg_class', 'c.oid')}
"""

# NOT NULL constraints (PostgreSQL 18 records them in pg_constraint) are left
# out: the column's not_null attribute says the same thing. So are the clones of
# a foreign key that points at a partitioned table, which share the parent's
# name and table.
_QUERIES["constraints"] = f"""
SELECT 'constraint', n.nspname || '.' || c.relname || '.' || con.conname,
       n.nspname || '.' || c.relname,
       jsonb_build_object(
    'type', CASE con.contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign key'
                             WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique'
                             WHEN 't' THEN 'trigger' WHEN 'x' THEN 'exclusion'
                             ELSE con.contype::text END,
    'definition', pg_get_constraintdef(con.oid),
    'validated', con.convalidated,
    'enforced', to_jsonb(con) -> 'conenforced',
    'deferrable', con.condeferrable,
    'initially_deferred', con.condeferred,
    'comment', {_comment('con.oid', 'pg_constraint')})
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype <> 'n' AND {_user_ns('n')}
  AND {_not_extension_member('pg_class', 'c.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint pcon
                  WHERE pcon.oid = con.conparentid AND pcon.conrelid = con.conrelid)
"""

_QUERIES["indexes"] = f"""
SELECT 'index', n.nspname || '.' || ic.relname, tn.nspname || '.' || tc.relname,
       jsonb_build_object(
    'table', tn.nspname || '.' || tc.relname,
    'definition', pg_get_indexdef(i.indexrelid),
    'unique', i.indisunique,
    'primary', i.indisprimary,
    'valid', i.indisvalid,
    'comment', {_comment('i.indexrelid', 'pg_class')})
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE {_user_ns('tn')} AND {_not_extension_member('pg_class', 'tc.oid')}
"""

_QUERIES["sequences"] = f"""
SELECT 'sequence', n.nspname || '.' || c.relname, own.rel,
       jsonb_build_object(
    'type', format_type(s.seqtypid, NULL),
    'start', s.seqstart,
    'increment', s.seqincrement,
    'min', s.seqmin,
    'max', s.seqmax,
    'cache', s.seqcache,
    'cycle', s.seqcycle,
    'unlogged', CASE WHEN c.relpersistence = 'u' THEN true END,
    'owned_by', own.rel || '.' || own.col,
    'identity', CASE WHEN own.deptype = 'i' THEN true END,
    'comment', {_comment('c.oid', 'pg_class')},
    'acl', {_acl('c.relacl', 's', 'c.relowner')})
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN LATERAL (
    SELECT rn.nspname || '.' || rc.relname AS rel, ra.attname AS col, d.deptype
    FROM pg_depend d
    JOIN pg_class rc ON rc.oid = d.refobjid
    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    JOIN pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
      AND d.deptype IN ('a', 'i')
    ORDER BY d.deptype, rn.nspname, rc.relname LIMIT 1) own ON true
WHERE c.relkind = 'S' AND {_user_ns('n')} AND {_not_extension_member('pg_class', 'c.oid')}
"""

_QUERIES["functions"] = f"""
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       NULL,
       jsonb_build_object(
    'arguments', pg_get_function_arguments(p.oid),
    'result', pg_get_function_result(p.oid),
    'language', l.lanname,
    'volatility', CASE WHEN p.prokind <> 'p' THEN
        CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END END,
    'strict', p.proisstrict,
    'security_definer', p.prosecdef,
    'leakproof', CASE WHEN p.proleakproof THEN true END,
    'parallel', CASE WHEN p.prokind <> 'p' THEN
        CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END END,
    'window', CASE WHEN p.prokind = 'w' THEN true END,
    'config', {_sorted_text_array('p.proconfig')},
    'definition', CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
    'aggregate_kind', CASE ag.aggkind WHEN 'n' THEN 'normal' WHEN 'o' THEN 'ordered-set'
                                      WHEN 'h' THEN 'hypothetical-set' END,
    'transition_function', ag.aggtransfn::regprocedure::text,
    'state_type', CASE WHEN ag.aggfnoid IS NOT NULL THEN format_type(ag.aggtranstype, NULL) END,
    'final_function', CASE WHEN ag.aggfinalfn <> 0 THEN ag.aggfinalfn::regprocedure::text END,
    'combine_function', CASE WHEN ag.aggcombinefn <> 0 THEN ag.aggcombinefn::regprocedure::text END,
    'initial_condition', ag.agginitval,
    'sort_operator', CASE WHEN ag.aggsortop <> 0 THEN ag.aggsortop::regoperator::text END,
    'comment', {_comment('p.oid', 'pg_proc')},
    'acl', {_acl('p.proacl', 'f', 'p.proowner')})
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
WHERE {_user_ns('n')} AND {_not_extension_member('pg_proc', 'p.oid')}
  -- constructors that CREATE TYPE ... AS RANGE makes for itself
  AND NOT EXISTS (SELECT 1 FROM pg_depend xi WHERE xi.classid = 'pg_proc'::regclass
                  AND xi.objid = p.oid AND xi.deptype = 'i')
"""

_QUERIES["triggers"] = f"""
SELECT 'trigger', n.nspname || '.' || c.relname || '.' || t.tgname,
       n.nspname || '.' || c.relname,
       jsonb_build_object(
    'definition', pg_get_triggerdef(t.oid),
    'enabled', CASE t.tgenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                                WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END,
    'comment', {_comment('t.oid', 'pg_trigger')})
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND {_user_ns('n')} AND {_not_extension_member('pg_class', 'c.oid')}
"""

_QUERIES["policies"] = f"""
SELECT 'policy', n.nspname || '.' || c.relname || '.' || p.polname,
       n.nspname || '.' || c.relname,
       jsonb_build_object(
    'command', CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                             WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
    'permissive', p.polpermissive,
    'roles', (SELECT jsonb_agg(r ORDER BY r COLLATE "C") FROM
              (SELECT CASE WHEN x = 0 THEN 'public' ELSE pg_get_userbyid(x)::text END AS r
               FROM unnest(p.polroles) AS x) AS roles),
    'using', pg_get_expr(p.polqual, p.polrelid),
    'with_check', pg_get_expr(p.polwithcheck, p.polrelid),
    'comment', {_comment('p.oid', 'pg_policy')})
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_user_ns('n')} AND {_not_extension_member('pg_class', 'c.oid')}
"""

_QUERIES["rules"] = f"""
SELECT 'rule', n.nspname || '.' || c.relname || '.' || r.rulename,
       n.nspname || '.' || c.relname,
       jsonb_build_object(
    'definition', pg_get_ruledef(r.oid),
    'enabled', CASE r.ev_enabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                                 WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END,
    'comment', {_comment('r.oid', 'pg_rewrite')})
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND {_user_ns('n')} AND {_not_extension_member('pg_class', 'c.oid')}
"""

_QUERIES["statistics"] = f"""
SELECT 'statistics', n.nspname || '.' || s.stxname, tn.nspname || '.' || tc.relname,
       jsonb_build_object(
    'table', tn.nspname || '.' || tc.relname,
    'definition', pg_get_statisticsobjdef(s.oid),
    'comment', {_comment('s.oid', 'pg_statistic_ext')})
FROM pg_statistic_ext s
JOIN pg_namespace n ON n.oid = s.stxnamespace
JOIN pg_class tc ON tc.oid = s.stxrelid
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
WHERE {_user_ns('n')} AND {_not_extension_member('pg_statistic_ext', 's.oid')}
  AND {_not_extension_member('pg_class', 'tc.oid')}
"""

# Types: enums, composites, ranges, domains and base types. Left out: the row
# types of tables and views, array types, multiranges (listed on their range)
# and pseudo-types.
_QUERIES["types"] = f"""
SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
       n.nspname || '.' || t.typname, NULL,
       jsonb_build_object(
    'kind', CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'c' THEN 'composite'
                           WHEN 'r' THEN 'range' WHEN 'b' THEN 'base' END,
    'labels', CASE WHEN t.typtype = 'e' THEN
        (SELECT coalesce(jsonb_agg(e.enumlabel ORDER BY e.enumsortorder), '[]'::jsonb)
         FROM pg_enum e WHERE e.enumtypid = t.oid) END,
    'attributes', CASE WHEN t.typtype = 'c' THEN
        (SELECT coalesce(jsonb_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                  || CASE WHEN a.attcollation <> at.typcollation
                          THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END
                  ORDER BY a.attnum), '[]'::jsonb)
         FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
         WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END,
    'base_type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
    'not_null', CASE WHEN t.typtype = 'd' THEN t.typnotnull END,
    'default', CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END,
    'collation', CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation
                      THEN t.typcollation::regcollation::text END,
    'subtype', CASE WHEN t.typtype = 'r' THEN format_type(rg.rngsubtype, NULL) END,
    'subtype_collation', CASE WHEN rg.rngcollation <> 0 THEN rg.rngcollation::regcollation::text END,
    'subtype_opclass', CASE WHEN t.typtype = 'r' THEN
        (SELECT ocn.nspname || '.' || oc.opcname FROM pg_opclass oc
         JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace WHERE oc.oid = rg.rngsubopc) END,
    'canonical', CASE WHEN rg.rngcanonical <> 0 THEN rg.rngcanonical::regprocedure::text END,
    'subtype_diff', CASE WHEN rg.rngsubdiff <> 0 THEN rg.rngsubdiff::regprocedure::text END,
    'multirange', CASE WHEN t.typtype = 'r'  -- PostgreSQL 14+
                       THEN format_type((to_jsonb(rg) ->> 'rngmultitypid')::oid, NULL) END,
    'input_function', CASE WHEN t.typtype = 'b' THEN t.typinput::regprocedure::text END,
    'output_function', CASE WHEN t.typtype = 'b' THEN t.typoutput::regprocedure::text END,
    'comment', {_comment('t.oid', 'pg_type')},
    'acl', {_acl('t.typacl', 'T', 't.typowner')})
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class tc ON tc.oid = t.typrelid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_range rg ON rg.rngtypid = t.oid
WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND {_user_ns('n')}
  AND (t.typrelid = 0 OR tc.relkind = 'c')
  AND NOT (t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_type el
                                       WHERE el.oid = t.typelem AND el.typarray = t.oid))
  AND {_not_extension_member('pg_type', 't.oid')}
"""

_QUERIES["domain_constraints"] = f"""
SELECT 'domain constraint', n.nspname || '.' || t.typname || '.' || con.conname, NULL,
       jsonb_build_object(
    'definition', pg_get_constraintdef(con.oid),
    'validated', con.convalidated,
    'comment', {_comment('con.oid', 'pg_constraint')})
FROM pg_constraint con
JOIN pg_type t ON t.oid = con.contypid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE con.contype <> 'n' AND {_user_ns('n')} AND {_not_extension_member('pg_type', 't.oid')}
"""

_QUERIES["collations"] = f"""
SELECT 'collation', n.nspname || '.' || co.collname, NULL,
       (to_jsonb(co) - ARRAY['oid', 'collname', 'collnamespace', 'collowner', 'collversion'])
       || jsonb_build_object('comment', {_comment('co.oid', 'pg_collation')})
FROM pg_collation co
JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE {_user_ns('n')} AND {_not_extension_member('pg_collation', 'co.oid')}
"""

_QUERIES["extensions"] = f"""
SELECT 'extension', e.extname, NULL, jsonb_build_object(
    'schema', n.nspname,
    'version', e.extversion,
    'comment', {_comment('e.oid', 'pg_extension')})
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
"""

_QUERIES["event_triggers"] = f"""
SELECT 'event trigger', et.evtname, NULL, jsonb_build_object(
    'event', et.evtevent,
    'tags', {_sorted_text_array('et.evttags')},
    'function', et.evtfoid::regprocedure::text,
    'enabled', CASE et.evtenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                                  WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END,
    'comment', {_comment('et.oid', 'pg_event_trigger')})
FROM pg_event_trigger et
WHERE {_not_extension_member('pg_event_trigger', 'et.oid')}
"""

_QUERIES["default_privileges"] = f"""
SELECT 'default privileges',
       'for role ' || pg_get_userbyid(da.defaclrole)
       || coalesce(' in schema ' || n.nspname, '')
       || ' on ' || CASE da.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
                                         WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types'
                                         WHEN 'n' THEN 'schemas' WHEN 'L' THEN 'large objects'
                                         ELSE da.defaclobjtype::text END,
       NULL,
       jsonb_build_object('acl', {_acl('da.defaclacl', None, None)})
FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
"""

# Settings that change how expressions and constants are printed. They are set
# with SET LOCAL inside a transaction (or savepoint) that is always rolled back,
# so the caller's session is left as it was.
_SESSION_SETTINGS = (
    ("search_path", "pg_catalog"),
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "postgres"),
    ("TimeZone", "UTC"),
    ("extra_float_digits", "1"),
    ("bytea_output", "hex"),
    ("quote_all_identifiers", "off"),
)


#: the settings in one statement, and every query in one (each returns the same four columns)
_SETTINGS_SQL = "SELECT " + ", ".join(f"pg_catalog.set_config('{name}', '{value}', true)"
                                      for name, value in _SESSION_SETTINGS)
_ALL_QUERIES = "\nUNION ALL\n".join(f"({sql.strip()})" for sql in _QUERIES.values())


# --- the snapshot -------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A database's schema: ``objects`` maps ``"<type> <name>"`` to attributes."""

    objects: dict[str, dict[str, Any]]

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT_VERSION, "objects": self.objects},
                          sort_keys=True, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, s: str | bytes) -> "Snapshot":
        try:
            data = json.loads(s)
        except ValueError as exc:
            raise InputError(f"the snapshot is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("objects"), dict):
            raise InputError("the snapshot JSON has no \"objects\" mapping",
                             hint="pass the text that Snapshot.to_json() produced")
        if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
            raise InputError(f"snapshot format {data.get('format')!r} is not supported "
                             f"(this pgshift reads format {FORMAT_VERSION})")
        objects = {}
        for key, attrs in data["objects"].items():
            if not isinstance(attrs, dict):
                raise InputError(f"snapshot object {key!r} has no attribute mapping")
            objects[key] = _normalise(attrs)
        return cls(dict(sorted(objects.items())))

    def types(self) -> dict[str, int]:
        """How many objects of each type the snapshot holds."""
        counts: dict[str, int] = {}
        for key in self.objects:
            t, _ = split_key(key)
            counts[t] = counts.get(t, 0) + 1
        return dict(sorted(counts.items()))


def _normalise(value: Any) -> Any:
    """Sorted dict keys, lists instead of tuples, recursively."""
    if isinstance(value, dict):
        return {k: _normalise(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def _qualified(name: str) -> str:
    name = name.strip()
    return name if "." in name else f"public.{name}"


def take(conn: Any, exclude: Iterable[str] = ()) -> Snapshot:
    """Describe the schema of the database *conn* (a psycopg 3 connection) is on.

    *exclude* holds qualified table names ("schema.table", unquoted; a name with
    no schema means ``public``) to leave out together with everything that
    belongs to them: columns, constraints, indexes, triggers, policies, rules,
    statistics and the sequences they own. Used for the migration ledger.

    The catalog is read in a transaction (a savepoint if the connection is
    already in one) that is rolled back, so the session is left unchanged.
    """
    excluded = {_qualified(x) for x in ([exclude] if isinstance(exclude, str) else exclude)}
    rows: list[tuple[str, str, str | None, dict]] = []
    with conn.transaction(force_rollback=True):
        with conn.cursor() as cur:   # two round trips: the settings, then every query as one
            cur.execute(_SETTINGS_SQL)
            cur.execute(_ALL_QUERIES)
            rows.extend(cur.fetchall())

    rows.sort(key=lambda r: (r[0], r[1]))
    if any(a[:2] == b[:2] for a, b in zip(rows, rows[1:], strict=False)):   # one name, two objects: a stable order
        rows.sort(key=lambda r: (r[0], r[1], json.dumps(r[3], sort_keys=True)))
    objects: dict[str, dict[str, Any]] = {}
    for object_type, name, rel, attrs in rows:
        if rel is not None and rel in excluded:
            continue
        if object_type in RELATION_TYPES and name in excluded:
            continue
        key = f"{object_type} {name}"
        if key in objects:  # two objects with one name; keep both, deterministically
            n = 2
            while f"{key} #{n}" in objects:
                n += 1
            key = f"{key} #{n}"
        objects[key] = _normalise({k: v for k, v in (attrs or {}).items() if v is not None})
    return Snapshot(dict(sorted(objects.items())))


def split_key(key: str) -> tuple[str, str]:
    """``"<object type> <name>"`` -> (object type, name)."""
    for t in OBJECT_TYPES:
        if key.startswith(t + " "):
            return t, key[len(t) + 1:]
    t, _, name = key.partition(" ")
    return t, name
