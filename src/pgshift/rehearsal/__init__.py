"""Rehearsal: what ``pgshift test`` proves on throwaway databases.

- :mod:`snapshot` — a catalog snapshot of a database's schema (no data), JSON-serialisable.
- :mod:`diff` — two snapshots compared object by object, in words.
- :mod:`throwaway` — a scratch database that is always dropped (unless kept).
- :mod:`roundtrip` — each version's rollback proven on a copy: rollback, compare, apply
  again, compare.
"""
