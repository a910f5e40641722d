"""temporary: removed when the last importer moves to pgshift.sql.

Everything this module held lives in :mod:`pgshift.sql` now; these are the names it
exported, re-exported for the modules that still import ``pgshift.statements``.
"""
from __future__ import annotations

from .sql import (
    KNOWN_DIRECTIVES, BatchShape, ast, batch_shape, created_primary_key, deparse, enums, fast_trees,
    non_transactional_reason, parse_file, parse_one, parse_plpgsql_body, referenced_relations,
)

__all__ = ["parse_file", "ast", "enums", "KNOWN_DIRECTIVES", "parse_plpgsql_body", "deparse", "parse_one",
           "non_transactional_reason", "fast_trees", "referenced_relations", "BatchShape",
           "created_primary_key", "batch_shape"]
