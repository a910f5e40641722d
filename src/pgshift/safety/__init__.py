"""Production safety: preflight checks, backups, the live monitor and the gate that
runs them in order before a protected environment is changed.

- :mod:`preflight` — small checks, each ``(conn, env) -> CheckResult``.
- :mod:`backup` — pg_dump custom format, mode 0600, SHA-256, verified; restore.
- :mod:`monitor` — a second connection reporting locks and blockers while a run works.
- :mod:`gate` — ``before_apply`` / ``before_rollback``: checks, then the backup.
- :mod:`confirm` — the confirmation policy: ``--yes`` or the word typed, else a refusal.
- :mod:`promotion` — ``require_applied_in``: what another environment must have applied first.

Nothing here is imported at start-up; the commands import these modules when needed
(``commands.safety`` holds ``check``, ``backup`` and ``restore``).
"""
