"""Production safety: preflight checks, backups, the live monitor and the gate that
runs them in order before a protected environment is changed.

- :mod:`preflight` — small checks, each ``(conn, env) -> CheckResult``.
- :mod:`backup` — pg_dump custom format, mode 0600, SHA-256, verified; restore.
- :mod:`monitor` — a second connection reporting locks and blockers while a run works.
- :mod:`gate` — ``before_apply`` / ``before_rollback``: checks, then the backup.
- :mod:`commands` — the library side of ``pgshift check``, ``backup`` and ``restore``.

Nothing here is imported at start-up; the API imports these modules when needed.
"""
