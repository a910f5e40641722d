"""What a plan was made from, so that ``up --plan`` applies exactly that: the pending files
(version -> checksum), the target's schema (a catalog snapshot, without the ledger's own tables)
and the server's version. :func:`differences` names what changed since."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from ..rehearsal import snapshot as snapshot_mod
from ..rehearsal.diff import diff


def schema_of(conn, ledger) -> snapshot_mod.Snapshot:
    """The target's schema, the ledger and its environment table left out."""
    from ..ledger import ENVIRONMENT_TABLE  # noqa: PLC0415

    return snapshot_mod.take(conn, exclude=(ledger.name, f"{ledger.schema}.{ENVIRONMENT_TABLE}"))


def make(files: dict[str, str], schema: snapshot_mod.Snapshot, server_version: int) -> dict[str, Any]:
    """The fingerprint: files, the schema's SHA-256 and objects, the server version, and one hash of all."""
    schema_sha = hashlib.sha256(schema.to_json().encode()).hexdigest()
    whole = hashlib.sha256(json.dumps([files, schema_sha, server_version], sort_keys=True).encode()).hexdigest()
    return {"sha256": whole, "files": dict(files), "schema_sha256": schema_sha, "server_version": server_version,
            "schema": schema.objects}


def differences(planned: dict[str, Any], files: dict[str, str], schema: snapshot_mod.Snapshot,
                server_version: int) -> list[str]:
    """What differs between *planned* (a fingerprint) and now, one line each; [] when nothing."""
    out = []
    for version in sorted(set(planned["files"]) | set(files)):
        old, new = planned["files"].get(version), files.get(version)
        if old is None:
            out.append(f"file {version}: pending now, not in the plan")
        elif new is None:
            out.append(f"file {version}: in the plan, no longer pending (applied, or removed)")
        elif old != new:
            out.append(f"file {version}: edited since the plan (checksum {old[:12]} -> {new[:12]})")
    if planned["server_version"] != server_version:
        out.append(f"server version: {planned['server_version']} in the plan, {server_version} now")
    now_sha = hashlib.sha256(schema.to_json().encode()).hexdigest()
    if planned["schema_sha256"] != now_sha:
        before = snapshot_mod.Snapshot(planned.get("schema") or {})
        changes = diff(before, schema)
        out += [f"schema: {d.describe('the plan', 'the target')}" for d in changes[:20]] or \
            ["schema: the target's schema differs from the plan's"]
    return out
