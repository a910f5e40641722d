"""A plan's gate: the environment's ``plan_policy`` thresholds, each broken one a violation.

Keys (``[env.<name>] plan_policy = {...}``): ``data_truth`` (default true: no pending statement
may meet rows that make it fail), ``copy_errors`` (default true: no statement may fail on the
copy), ``max_access_exclusive`` (a duration, e.g. ``"1s"``: no ACCESS EXCLUSIVE held longer, at
the target's size; default none), ``max_rewrite_bytes`` (no table larger on the target may be
rewritten; default none)."""
from __future__ import annotations

from ..errors import ConfigError
from ..text import parse_duration

KEYS = ("data_truth", "copy_errors", "max_access_exclusive", "max_rewrite_bytes")
DEFAULTS = {"data_truth": True, "copy_errors": True, "max_access_exclusive": None, "max_rewrite_bytes": None}


def read(raw: dict | None) -> dict:
    """The policy: *raw* (the environment's ``plan_policy``) over the defaults, checked."""
    policy = dict(DEFAULTS)
    for key, value in (raw or {}).items():
        if key not in KEYS:
            raise ConfigError(f"plan_policy: unknown key {key!r}", hint="known keys: " + ", ".join(KEYS))
        if key == "max_access_exclusive" and value is not None:
            try:
                value = parse_duration(value) if isinstance(value, str) else float(value)
            except ValueError as exc:
                raise ConfigError(f"plan_policy.max_access_exclusive: {exc}") from None
        policy[key] = value
    return policy


def evaluate(policy: dict, statements: list[dict], truth: list[dict], sizes: dict[str, dict]) -> list[str]:
    """Each broken threshold, one line naming the statement; [] when the plan passes."""
    out = []
    if policy["copy_errors"]:
        out += [f"{s['file']}:{s['line']}: fails on the copy: {s['error']}" for s in statements if s.get("error")]
    if policy["data_truth"]:
        for c in truth:
            if c["status"] == "fail":
                out.append(f"{c['statement']}: {c['kind']} {c['table']} ({c['detail']}): {c['offending']} row(s) "
                           "on the target would make it fail")
    limit = policy["max_access_exclusive"]
    if limit is not None:
        for s in statements:
            for lock in s["locks"]:
                if lock["mode"] == "AccessExclusiveLock" and lock.get("relkind") in ("r", "p") \
                        and (lock.get("hold_seconds_at_size") or 0) > limit:
                    out.append(f"{s['file']}:{s['line']}: ACCESS EXCLUSIVE on {lock['relation']} held "
                               f"{lock['hold_seconds_at_size']:.3f} s at the target's size (policy: {limit:g} s)")
    max_bytes = policy["max_rewrite_bytes"]
    if max_bytes is not None:
        for s in statements:
            for table in s["rewrites"]:
                size = sizes.get(table, {}).get("target_bytes", 0)
                if size > max_bytes:
                    out.append(f"{s['file']}:{s['line']}: rewrites {table} ({size} bytes on the target; "
                               f"policy: {max_bytes})")
    return out
