"""A plan as Markdown (for a pull-request comment) or plain text."""
from __future__ import annotations

from ..text import format_duration

_SHORT = {"AccessShareLock": "ACCESS SHARE", "RowShareLock": "ROW SHARE", "RowExclusiveLock": "ROW EXCLUSIVE",
          "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE", "ShareLock": "SHARE",
          "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE", "ExclusiveLock": "EXCLUSIVE",
          "AccessExclusiveLock": "ACCESS EXCLUSIVE"}


def _mode(mode: str | None) -> str:
    return _SHORT.get(mode or "", mode or "-")


def _locks(s: dict) -> str:
    parts = [f"{_mode(v['observed'] or v['predicted'])} {v['relation']} ({v['verdict']})" for v in s["verdicts"]]
    return "; ".join(parts) or "-"


def _blocks(s: dict) -> str:
    parts = []
    for table, ops in s["probes"].items():
        blocked = [op for op, b in ops.items() if b]
        parts.append(f"{table}: {', '.join(blocked) if blocked else 'nothing'}")
    return "; ".join(parts) or "-"


def _sql(s: dict) -> str:
    one = " ".join(s["sql"].split())
    return one if len(one) <= 70 else one[:67] + "..."


def _ae_hold(s: dict) -> str:
    holds = [lock.get("hold_seconds_at_size") or 0 for lock in s["locks"]
             if lock["mode"] == "AccessExclusiveLock" and lock.get("relkind") in ("r", "p")]
    return f"{max(holds):.3f} s" if holds else "-"


def rows(doc: dict) -> list[list[str]]:
    """One row per statement: where, SQL, locks (verdict), rewrites, blocks, time, time at size, AE hold."""
    out = []
    for s in doc["statements"]:
        out.append([f"{s['file']}:{s['line']}", _sql(s), _locks(s), ", ".join(s["rewrites"]) or "-", _blocks(s),
                    "error: " + s["error"] if s["error"] else f"{s['seconds']:.3f} s",
                    f"{s['seconds_at_size']:.3f} s (x{s['scale'].get('factor', 1):g})", _ae_hold(s)])
    return out


HEADERS = ["statement", "sql", "locks (verdict)", "rewrites", "blocks (transaction so far)", "copy", "at size",
           "AE hold at size"]


def markdown(doc: dict) -> str:
    """The plan as a pull-request comment."""
    verdict = "passes" if not doc["violations"] else "**fails**"
    lines = [f"### pgshift plan: {verdict} the policy", "",
             f"{len(doc['versions'])} pending version(s) on `{doc['database']}` (PostgreSQL {doc['server_version']}); "
             f"fingerprint `{doc['fingerprint']['sha256'][:16]}`", ""]
    if doc["violations"]:
        lines += [f"- {v}" for v in doc["violations"]] + [""]
    lines += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in rows(doc):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    for s in doc["statements"]:
        for m in s["masked"]:
            lines.append(f"\n`{s['file']}:{s['line']}` needs {_mode(m['needs'])} on {m['relation']}: masked, "
                         f"{_mode(m['held'])} already held since line {m['since']}")
        if s["phases"]:
            lines.append(f"\n`{s['file']}:{s['line']}` phases: "
                         + " → ".join(f"{p['phase']} ({p['at_seconds']:.3f} s)" for p in s["phases"]))
    if doc["truth"]:
        lines += ["", "#### Data truth (read-only, on the target)", "",
                  "| statement | check | table | result | first keys |", "|---|---|---|---|---|"]
        for c in doc["truth"]:
            result = c["status"] + (f": {c['offending']} row(s)" if c["status"] == "fail" else "")
            first = "; ".join(", ".join(f"{k}={v}" for k, v in key.items()) for key in c["first"]) or "-"
            lines.append(f"| {c['statement']} | {c['kind']} {c['detail']} | {c['table']} | {result} | {first} |")
    lines += ["", f"Time at size: {doc['scaling']['method']}."]
    return "\n".join(lines) + "\n"


def text(doc: dict) -> str:
    """The plan for a terminal."""
    lines = []
    for r in rows(doc):
        lines.append(f"{r[0]}  {r[1]}")
        lines.append(f"    locks: {r[2]}")
        lines.append(f"    rewrites: {r[3]}   blocks: {r[4]}")
        lines.append(f"    time: {r[5]} on the copy, {r[6]} at size; ACCESS EXCLUSIVE held {r[7]} at size")
    for s in doc["statements"]:
        for m in s["masked"]:
            lines.append(f"{s['file']}:{s['line']}: needs {_mode(m['needs'])} on {m['relation']}, masked: "
                         f"{_mode(m['held'])} held since line {m['since']}")
        if s["phases"]:
            lines.append(f"{s['file']}:{s['line']}: phases: " + " -> ".join(p["phase"] for p in s["phases"]))
    for c in doc["truth"]:
        line = f"data truth {c['statement']}: {c['kind']} {c['table']} ({c['detail']}): {c['status']}"
        if c["status"] == "fail":
            line += f", {c['offending']} row(s); first: " + "; ".join(
                ", ".join(f"{k}={v}" for k, v in key.items()) for key in c["first"])
        elif c["note"]:
            line += f" ({c['note']})"
        lines.append(line)
    lines += [f"violation: {v}" for v in doc["violations"]]
    lines.append(f"plan {'passes' if not doc['violations'] else 'fails'} the policy "
                 f"(fingerprint {doc['fingerprint']['sha256'][:16]}, {format_duration(doc['seconds'])})")
    return "\n".join(lines)
