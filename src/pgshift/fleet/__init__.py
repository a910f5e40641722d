"""Fleets: one rollout of the project's migrations over many databases or tenant schemas.

``inventory`` reads the targets (a file, TOML, a SQL query, a command), ``control`` keeps the
rollout's state in a PostgreSQL control database (claims with ``FOR UPDATE SKIP LOCKED``, leases
with a heartbeat), ``fingerprint`` is the one-query no-op check, and ``rollout`` runs the worker
loop: stages, per-host caps, the failure budget. Each target's own migration is a plain ``up``,
passed in as a function by ``commands/fleet.py`` (this room sits below the verbs).
"""
