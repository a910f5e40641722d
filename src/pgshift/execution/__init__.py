"""Execution: a Plan run against the database, file by file, each with its ledger event.

- :mod:`runner` — the transaction modes (transaction, no-transaction, own BEGIN/COMMIT,
  batched), resumption, durability of the last commit.
- :mod:`retry` — lock-timeout and deadlock retries: budget, backoff, waiting out a blocker.
- :mod:`indexes` — concurrent index builds: INVALID leftovers, interrupted builds.
- :mod:`batching` (+ :mod:`batch_walk`) — batched data changes, progress in each batch's transaction.
- :mod:`failure` — a failed statement as ``file:line:col`` with a caret, and what stays applied.
"""
from .runner import ExecOptions, Executor

__all__ = ["Executor", "ExecOptions"]
