"""SQL text with the real PostgreSQL parser (pglast): the only importer of pglast.

* :mod:`~pgshift.sql.parser`: a file -> :class:`~pgshift.model.ParsedFile`, or the
  :class:`ParseProblem` that stops it; directives, psql meta-commands.
* :mod:`~pgshift.sql.split`: the text -> statement spans, meta-command lines set aside.
* :mod:`~pgshift.sql.classify`: what a statement is (refused in a transaction, the
  tables it names, the primary key it creates).
* :mod:`~pgshift.sql.rewrite`: batched data changes rewritten; nodes printed as SQL.
* :mod:`~pgshift.sql.fasttree`: the caged switch that builds pglast's trees faster.

Lint rules read the parse trees through :data:`ast` and :data:`enums`, re-exported here
so that pglast stays behind this one door.
"""
from __future__ import annotations

from pglast import ast, enums

from .classify import created_primary_key, non_transactional_reason, referenced_relations, same_index
from .fasttree import fast_trees
from .parser import KNOWN_DIRECTIVES, ParseProblem, parse_file, parse_one, parse_or_problem, parse_plpgsql_body
from .rewrite import BatchShape, batch_shape, deparse
from .split import blank, concurrently_span

__all__ = [
    "ast", "enums", "KNOWN_DIRECTIVES", "ParseProblem", "parse_file", "parse_or_problem", "parse_one",
    "parse_plpgsql_body", "non_transactional_reason", "referenced_relations", "created_primary_key",
    "same_index",
    "BatchShape", "batch_shape", "deparse", "fast_trees", "blank", "concurrently_span",
]
