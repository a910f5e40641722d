"""The report's page: one self-contained HTML document from a :class:`ReportData`.

No script, no network: the CSS is inline, the charts are inline SVG (the timeline is
``report_timeline``'s), and a Content-Security-Policy forbids anything else, so that even a
mistake in escaping could run nothing. Every text that comes from the project (names, files,
messages, errors) goes through ``html.escape``. Pure: values in, text out; standard library only.
"""
from __future__ import annotations

import datetime as _dt
from collections import Counter
from dataclasses import dataclass
from html import escape
from string import Template
from typing import TYPE_CHECKING

from ..rehearsal.roundtrip import VersionCheck
from ..runs import LedgerEvent, VersionState
from ..text import format_duration
from . import report_timeline
from .report_timeline import utc

if TYPE_CHECKING:
    from ..lint.engine import LintReport


@dataclass(frozen=True)
class ReportData:
    """What the page shows. ``lint`` is a lint report (findings, counts, files, statements) or
    None with ``lint_error`` saying why; ``roundtrip`` the checks, or None when not given."""
    project: str
    database: str
    ledger: str
    ledger_exists: bool
    generated_at: _dt.datetime
    tool_version: str
    states: tuple[VersionState, ...]
    events: tuple[LedgerEvent, ...]
    lint: LintReport | None = None
    lint_error: str | None = None
    roundtrip: tuple[VersionCheck, ...] | None = None
    roundtrip_source: str | None = None
    roundtrip_error: str | None = None
    drift: dict | None = None          # ``DriftResult.to_dict()`` (issue 14); None without a ledger
    drift_error: str | None = None
    plan: dict | None = None           # a plan document (``pgshift plan --format json``), when given
    plan_source: str | None = None


# the order states are counted and drawn in; a state not named here is drawn after them, grey
STATE_ORDER = ("applied", "pending", "running", "failed", "rolled_back", "changed", "missing", "out_of_order")
SEVERITY_ORDER = ("error", "warning", "info")
CHECK_ORDER = ("passed", "failed", "error", "no-rollback")

CSS = """
:root { --bg:#f4f6f8; --card:#fff; --ink:#1f2933; --muted:#66707a; --line:#e3e7eb; --zebra:#f7f9fa;
  --ok:#2f9e44; --bad:#e03131; --run:#1c7ed6; --back:#f08c00; --base:#91a7b8; --other:#868e96;
  --warn:#f08c00; --info:#1c7ed6; --pend:#a5b1bc; --changed:#ae3ec9; --order:#e8590c; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
header { background:#1f2933; color:#fff; padding:26px 0 22px; }
header .wrap, main { max-width:1120px; margin:0 auto; padding:0 24px; }
header h1 { margin:0; font-size:26px; font-weight:650; letter-spacing:.2px; }
header h1 span { color:#8bd3a0; }
header .meta { margin-top:6px; color:#c5ccd3; font-size:13.5px; }
header .meta b { color:#fff; font-weight:600; }
main { padding-top:22px; padding-bottom:40px; }
.cards { display:grid; grid-template-columns:repeat(4,1fr); gap:14px; margin-bottom:20px; }
.card, section { background:var(--card); border:1px solid var(--line); border-radius:10px;
  box-shadow:0 1px 2px rgba(16,24,40,.05); }
.card { padding:14px 16px; }
.card h3 { margin:0 0 4px; font-size:12px; text-transform:uppercase; letter-spacing:.7px; color:var(--muted); }
.card .big { font-size:30px; font-weight:700; line-height:1.15; }
.card .sub { color:var(--muted); font-size:13px; }
.card.alert { border-color:#f5b5b5; background:#fff6f6; }
section { padding:18px 20px 20px; margin-bottom:20px; }
section h2 { margin:0 0 12px; font-size:19px; }
section h2 small { font-weight:400; color:var(--muted); font-size:13.5px; margin-left:8px; }
h3.sub { font-size:14px; margin:18px 0 8px; color:var(--muted); text-transform:uppercase; letter-spacing:.6px; }
.stack { display:flex; height:12px; border-radius:6px; overflow:hidden; background:var(--line); margin:8px 0 6px; }
.stack i { display:block; height:100%; }
.legend { display:flex; flex-wrap:wrap; gap:4px 12px; font-size:12.5px; color:var(--muted); }
.legend i { display:inline-block; width:9px; height:9px; border-radius:2px; margin-right:4px; }
table { width:100%; border-collapse:collapse; font-size:14px; }
th { text-align:left; font-weight:600; color:var(--muted); font-size:12.5px; text-transform:uppercase;
  letter-spacing:.5px; border-bottom:2px solid var(--line); padding:6px 8px; }
td { border-bottom:1px solid var(--line); padding:7px 8px; vertical-align:top; }
tr:nth-child(even) td { background:var(--zebra); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:13px; }
.pill { display:inline-block; padding:1px 9px; border-radius:10px; font-size:12.5px; font-weight:600;
  color:#fff; white-space:nowrap; }
.s-applied,.s-completed,.s-passed,.s-ok { background:var(--ok); }
.s-failed,.s-error,.s-bad,.sev-error { background:var(--bad); }
.s-running,.s-run,.sev-info { background:var(--run); }
.s-rolled_back,.s-back,.sev-warning { background:var(--warn); }
.s-pending,.s-no-rollback { background:var(--pend); }
.s-changed { background:var(--changed); } .s-missing { background:#c2255c; }
.s-out_of_order { background:var(--order); }
.s-other { background:var(--other); } .s-base { background:var(--base); }
tr.failed td { background:#fff3f3; }
pre.error { margin:6px 0 0; padding:8px 10px; background:#fff0f0; border-left:3px solid var(--bad); color:#8a1c1c;
  white-space:pre-wrap; word-break:break-word; max-height:220px; overflow:auto; font-size:12.5px; border-radius:4px; }
ul.diffs { margin:6px 0 0 18px; padding:0; font-size:13px; }
.hint { color:var(--muted); font-size:13px; }
.barcell { width:30%; min-width:60px; }
.hbars { display:flex; gap:2px; width:100%; margin-top:5px; }
.hbar { height:10px; border-radius:5px; background:var(--run); min-width:4px; }
td.mono { overflow-wrap:break-word; }
table.findings { table-layout:fixed; } table.findings td { overflow-wrap:break-word; }
.findings .c-sev { width:96px; } .findings .c-rule { width:250px; } .findings .c-where { width:30%; }
td.key, td.when { white-space:nowrap; }
.hbar.error { background:var(--bad); } .hbar.warning { background:var(--warn); } .hbar.info { background:var(--info); }
.split { display:grid; grid-template-columns:minmax(0,1fr) minmax(0,1fr); gap:22px; }
.split > div { min-width:0; }
.empty, .note { color:var(--muted); }
.note { font-size:13px; margin:8px 0 0; }
.empty { padding:10px 14px; background:var(--zebra); border-radius:8px; margin:0; }
.soon { border-style:dashed; background:transparent; box-shadow:none; }
.soon p { margin:0; color:var(--muted); }
svg.timeline { display:block; font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
svg .zebra { fill:var(--zebra); } svg .label { font-size:12.5px; fill:var(--ink); }
svg .axis { font-size:11px; fill:var(--muted); } svg .tick { stroke:var(--line); stroke-width:1; }
svg .fold { fill:#eef1f4; stroke:#b6c0c9; stroke-dasharray:4 3; }
svg .fold-label { font-size:10.5px; fill:var(--muted); }
svg .took { font-size:12px; fill:var(--muted); } svg .took-bad { fill:var(--bad); font-weight:700; }
svg .bar-ok { fill:var(--ok); } svg .bar-bad { fill:var(--bad); } svg .bar-run { fill:var(--run); }
svg .bar-back { fill:var(--back); } svg .bar-base { fill:var(--base); } svg .bar-other { fill:var(--other); }
footer { color:var(--muted); font-size:12.5px; text-align:center; padding:4px 0 30px; }
@media (max-width: 820px) { .cards { grid-template-columns:1fr 1fr; } .split { grid-template-columns:1fr; } }
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pgshift $version">
<title>pgshift report: $project</title>
<style>$css</style>
</head>
<body>
<header><div class="wrap">
<h1><span>pgshift</span> report: $project</h1>
<div class="meta">database <b>$database</b> · ledger <b>$ledger</b> · generated $generated</div>
</div></header>
<main>
$body
</main>
<footer>pgshift $version · a static page: no script, nothing fetched from the network</footer>
</body>
</html>
""")


def esc(value) -> str:
    """Any value as HTML text (None as nothing)."""
    return "" if value is None else escape(str(value), quote=True)


def _pill(state: str) -> str:
    known = set(STATE_ORDER) | set(CHECK_ORDER) | {"completed"}
    return f'<span class="pill s-{esc(state) if state in known else "other"}">{esc(state.replace("_", " "))}</span>'


def _ordered(counts: Counter, order: tuple[str, ...]) -> list[tuple[str, int]]:
    return [(k, counts[k]) for k in order if counts[k]] + sorted((k, n) for k, n in counts.items()
                                                                    if k not in order and n)


def _stack(counts: Counter, order: tuple[str, ...], colour) -> str:
    """A horizontal stacked bar and its legend."""
    parts = _ordered(counts, order)
    total = sum(n for _, n in parts) or 1
    bar = "".join(f'<i class="{colour(k)}" style="width:{100 * n / total:.2f}%" title="{esc(k)}: {n}"></i>'
                  for k, n in parts)
    legend = "".join(f'<span><i class="{colour(k)}"></i>{esc(k.replace("_", " "))} {n}</span>' for k, n in parts)
    return f'<div class="stack">{bar}</div><div class="legend">{legend}</div>'


def _state_class(state: str) -> str:
    return f"s-{state}" if state in STATE_ORDER or state in CHECK_ORDER else "s-other"


def _cards(data: ReportData) -> str:
    states = Counter(s.state for s in data.states)
    cards = [f'<div class="card"><h3>Versions</h3><div class="big">{len(data.states)}</div>'
             f'{_stack(states, STATE_ORDER, _state_class)}</div>']
    timed = [e.execution_ms for e in data.events if e.execution_ms is not None]
    last = max((e.started_at for e in data.events if e.started_at), default=None)
    cards.append(f'<div class="card"><h3>Ledger events</h3><div class="big">{len(data.events)}</div>'
                 f'<div class="sub">{esc(format_duration(sum(timed) / 1000)) + " in all" if timed else "none timed"}'
                 f'{"<br>last " + esc(utc(last)) if last else ""}</div></div>')
    if data.lint is None:
        cards.append('<div class="card"><h3>Lint</h3><div class="big">–</div><div class="sub">'
                     f'{"could not run" if data.lint_error else "left out"}</div></div>')
    else:
        counts = data.lint.counts()
        alert = " alert" if counts.get("error") else ""
        cards.append(f'<div class="card{alert}"><h3>Lint findings</h3><div class="big">{sum(counts.values())}</div>'
                     f'<div class="sub">{counts.get("error", 0)} error(s) · {counts.get("warning", 0)} warning(s) · '
                     f'{counts.get("info", 0)} info</div></div>')
    if data.roundtrip is None:
        cards.append('<div class="card"><h3>Round trip</h3><div class="big">–</div><div class="sub">'
                     f'{"could not run" if data.roundtrip_error else "not run"}</div></div>')
    else:
        checks = Counter(c.status for c in data.roundtrip)
        bad = checks["failed"] + checks["error"]
        cards.append(f'<div class="card{" alert" if bad else ""}"><h3>Round trip</h3>'
                     f'<div class="big">{checks["passed"]}/{len(data.roundtrip)}</div>'
                     f'{_stack(checks, CHECK_ORDER, _state_class)}</div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _timeline(data: ReportData) -> str:
    if not data.ledger_exists:
        body = f'<p class="empty">No ledger table {esc(data.ledger)} yet: nothing has been applied.</p>'
    else:
        body = report_timeline.render(data.events, data.generated_at)
        if data.events:
            body += ('<div class="legend">' + "".join(
                f'<span><i class="s-{cls}"></i>{what}</span>' for cls, what in
                (("ok", "completed"), ("bad", "failed"), ("back", "rolled back"), ("run", "running"),
                 ("base", "baselined"))) + "</div>")
    return (f'<section id="timeline"><h2>Ledger timeline<small>every event, oldest first; a bar is how long '
            f'it ran</small></h2>{body}</section>')


def _duration_ms(ms: int | None) -> str:
    return "" if ms is None else format_duration(ms / 1000)


def _versions(data: ReportData) -> str:
    if not data.states:
        return ('<section id="versions"><h2>Versions</h2><p class="empty">No migration files and no ledger '
                'events.</p></section>')
    rows = []
    for s in data.states:
        error = f'<pre class="error">{esc(s.error.strip())}</pre>' if s.error else ""
        rows.append(f'<tr class="version {esc(s.state)}" data-version="{esc(s.version)}">'
                    f'<td class="mono key">{esc(s.version)}</td><td>{esc(s.name)}{error}</td>'
                    f'<td>{_pill(s.state)}</td><td class="when">{esc(utc(s.applied_at))}</td>'
                    f'<td class="num">{esc(_duration_ms(s.execution_ms))}</td>'
                    f'<td>{"yes" if s.has_rollback else "<span class=hint>no</span>"}</td></tr>')
    return ('<section id="versions"><h2>Versions<small>each version\'s state: its file and its latest ledger '
            'event together</small></h2><table><thead><tr><th>version</th><th>name</th><th>state</th>'
            '<th>applied</th><th class="num">took</th><th>rollback</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></section>")


def _count_rows(groups: dict[str, Counter], first: str, with_severity: dict | None = None) -> str:
    most = max((sum(c.values()) for c in groups.values()), default=1)
    rows = []
    for key, counts in sorted(groups.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        total = sum(counts.values())
        bars = "".join(f'<div class="hbar {sev}" style="width:{100 * counts[sev] / most:.1f}%"></div>'
                       for sev in SEVERITY_ORDER if counts[sev])
        sev = f"<td>{_severity(with_severity[key])}</td>" if with_severity else ""
        shown = esc(key) if with_severity else _path(key)
        rows.append(f'<tr><td class="mono{" key" if with_severity else ""}">{shown}</td>{sev}'
                    f'<td class="num">{total}</td><td class="barcell"><div class="hbars">{bars}</div></td></tr>')
    head = f'<th>{first}</th>' + ("<th>severity</th>" if with_severity else "")
    return (f'<table><thead><tr>{head}<th class="num">findings</th><th></th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _path(path: str) -> str:
    """A file's path, escaped, that may break after each slash (and nowhere else, if it fits)."""
    return "/<wbr>".join(esc(part) for part in path.split("/"))


def _severity(severity: str) -> str:
    known = severity if severity in SEVERITY_ORDER else "info"
    return f'<span class="pill sev-{known}">{esc(severity)}</span>'


def _lint(data: ReportData) -> str:
    head = '<section id="lint"><h2>Lint<small>what would block or break production, by rule and by file</small></h2>'
    if data.lint is None:
        said = f"Lint could not run: {data.lint_error}" if data.lint_error else "Lint was left out of this report."
        return f'{head}<p class="empty">{esc(said)}</p></section>'
    report = data.lint
    findings = report.all_findings()
    summary = (f'<p class="note">{report.files} file(s), {report.statements} statement(s), for PostgreSQL '
               f'{esc(report.target_version)}.</p>')
    if not findings:
        return f'{head}<p class="empty">No findings: every file passes every rule.</p>{summary}</section>'
    by_rule: dict[str, Counter] = {}
    by_file: dict[str, Counter] = {}
    rule_severity: dict[str, str] = {}
    for f in findings:
        by_rule.setdefault(f.rule, Counter())[f.severity] += 1
        by_file.setdefault(f.location.file or "?", Counter())[f.severity] += 1
        rule_severity.setdefault(f.rule, f.severity)
    rows = []
    for f in findings:
        where = f"{f.location.file}:{f.location.line}:{f.location.col}"
        hint = f'<div class="hint">{esc(f.hint)}</div>' if f.hint else ""
        rows.append(f'<tr class="finding {esc(f.severity)}"><td>{_severity(f.severity)}</td>'
                    f'<td class="mono key">{esc(f.rule)}</td><td class="mono">{_path(where)}</td>'
                    f'<td>{esc(f.message)}{hint}</td></tr>')
    return (f'{head}<div class="split"><div><h3 class="sub">By rule</h3>'
            f'{_count_rows(by_rule, "rule", rule_severity)}</div>'
            f'<div><h3 class="sub">By file</h3>{_count_rows(by_file, "file")}</div></div>'
            '<h3 class="sub">Every finding</h3><table class="findings"><thead><tr><th class="c-sev">severity</th>'
            '<th class="c-rule">rule</th><th class="c-where">where</th><th>message</th></tr></thead><tbody>'
            + "".join(rows) + f"</tbody></table>{summary}</section>")


def _roundtrip(data: ReportData) -> str:
    head = ('<section id="roundtrip"><h2>Round trip<small>each rollback proven on a throwaway database: up, '
            'rollback, up</small></h2>')
    if data.roundtrip_error:
        return f'{head}<p class="empty">The round trip could not run:</p>' \
               f'<pre class="error">{esc(data.roundtrip_error)}</pre></section>'
    if data.roundtrip is None:
        return (f'{head}<p class="empty">Not run. <code>pgshift report --roundtrip</code> runs it (as '
                '<code>pgshift test --roundtrip</code> does); <code>--roundtrip-from FILE</code> reads the output of '
                'an earlier <code>pgshift --json test --roundtrip</code>.</p></section>')
    source = f'<p class="note">{esc(data.roundtrip_source)}</p>' if data.roundtrip_source else ""
    if not data.roundtrip:
        return (f'{head}<p class="empty">No versions were proven (nothing was pending on the copy).</p>'
                f'{source}</section>')
    rows = []
    for c in data.roundtrip:
        diffs = "".join(f"<li>{esc(d)}</li>" for d in c.differences)
        detail = (f'<ul class="diffs">{diffs}</ul>' if diffs else "") + \
                 (f'<pre class="error">{esc(c.error)}</pre>' if c.error else "")
        rows.append(f'<tr class="check {esc(c.status)}"><td class="mono key">{esc(c.version)}</td>'
                    f'<td>{esc(c.name)}{detail}</td><td>{_pill(c.status)}</td></tr>')
    return (f'{head}<table><thead><tr><th>version</th><th>name</th><th>rollback</th></tr></thead><tbody>'
            + "".join(rows) + f"</tbody></table>{source}</section>")


def _plans(data: ReportData) -> str:
    """A plan's evidence (``report --plan FILE``): its verdict, each statement's locks, what it
    blocks, its time at size, and the data truth's failures."""
    from ..proof.report import HEADERS, rows  # noqa: PLC0415

    head = '<section id="plans"><h2>Plans<small>what the pending versions will do to the target</small></h2>'
    doc = data.plan
    if doc is None:
        return (f'{head}<p class="empty">No plan given: <code>pgshift plan --format json --out plan.json</code>, '
                'then <code>pgshift report --plan plan.json</code>.</p></section>')
    verdict = "passes its policy" if not doc["violations"] else "fails its policy"
    intro = (f'<p class="plan {"passed" if not doc["violations"] else "failed"}">{len(doc["versions"])} pending '
             f'version(s) on {esc(doc["database"])} (PostgreSQL {esc(doc["server_version"])}): the plan '
             f'{verdict}.</p>')
    violations = "".join(f"<li>{esc(v)}</li>" for v in doc["violations"])
    table = ("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in HEADERS) + "</tr></thead><tbody>"
             + "".join('<tr class="statement">' + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>"
                       for r in rows(doc)) + "</tbody></table>")
    failures = [c for c in doc["truth"] if c["status"] == "fail"]
    truth = "".join(f'<li class="truth fail">{esc(c["statement"])}: {esc(c["kind"])} {esc(c["detail"])} on '
                    f'{esc(c["table"])}: {c["offending"]} row(s) would make it fail</li>' for c in failures)
    source = f'<p class="note">{esc(data.plan_source)}</p>' if data.plan_source else ""
    return (f"{head}{intro}" + (f'<ul class="diffs">{violations}</ul>' if violations else "") + table
            + (f'<ul class="diffs">{truth}</ul>' if truth else "") + f"{source}</section>")


def _drift(data: ReportData) -> str:
    """The live schema against what the last version left (``pgshift drift``)."""
    head = '<section id="drift"><h2>Drift<small>the schema against what the last version left</small></h2>'
    if data.drift_error:
        return f'{head}<p class="empty">Drift could not be read: {esc(data.drift_error)}</p></section>'
    d = data.drift
    if d is None:
        return f'{head}<p class="empty">No ledger yet: nothing to compare with.</p></section>'
    if d["status"] == "clean":
        text = f"No drift: the schema is what {esc(d['expected_version'])} left."
    elif d["status"] == "drifted":
        text = (f"Drift: the schema differs from what {esc(d['expected_version'])} left; it last matched after "
                f"{esc(d['last_matched_version'])}.")
    else:
        text = "Unknown: no fingerprint of the schema to compare with."
    items = "".join(f"<li>{esc(x['text'])}</li>" for x in d["differences"])
    notes = "".join(f"<p>{esc(n)}</p>" for n in d["notes"])
    return (f'{head}<p class="drift {esc(d["status"])}">{text}</p>'
            + (f'<ul class="diffs">{items}</ul>' if items else "") + f"{notes}</section>")


def render(data: ReportData) -> str:
    """The page, whole."""
    body = "\n".join((_cards(data), _timeline(data), _versions(data), _lint(data), _roundtrip(data), _plans(data),
                      _drift(data)))
    return PAGE.substitute(version=esc(data.tool_version), project=esc(data.project), css=CSS,
                           database=esc(data.database), ledger=esc(data.ledger),
                           generated=esc(utc(data.generated_at)), body=body)
