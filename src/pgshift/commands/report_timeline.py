"""The report's ledger timeline: one SVG bar per ledger event, on a time axis whose idle gaps
are folded.

Events a few milliseconds long and runs days apart cannot share a linear axis, so a gap between
events longer than ``max(1 s, the longest event)`` is drawn as a fixed-width fold, labelled with
the time it skips ("+2 d 3 h"); inside a stretch of activity the axis is linear. Each event has a
row: its version and name on the left, its bar where it ran, its duration on the right, and a
``<title>`` (the tooltip) with its type, status, start time and error. Pure: values in, SVG text
out; every text escaped.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from html import escape

from ..runs import LedgerEvent
from ..text import format_duration

MAX_EVENTS = 300          # the newest events drawn; older ones are counted in a note
WIDTH = 980               # the viewBox's width; the SVG itself scales to the page
LABEL_W = 320             # the version-and-name column
DURATION_W = 110          # the duration column, right of the axis
ROW_H = 24
TOP = 46                  # the axis labels above the first row: times, then folds on two lines
FOLD_W = 30               # a folded gap's width
MIN_BAR = 3

# event status -> bar colour class (the CSS is report_html's)
STATUS_CLASS = {"completed": "ok", "failed": "bad", "running": "run", "rolled_back": "back", "baselined": "base"}


@dataclass(frozen=True)
class _Span:
    event: LedgerEvent
    start: _dt.datetime
    end: _dt.datetime
    seconds: float            # end - start


def utc(moment: _dt.datetime | None) -> str:
    """A timestamp as the report writes it: UTC, to the second."""
    if moment is None:
        return ""
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(event: LedgerEvent, now: _dt.datetime) -> _Span | None:
    if event.started_at is None:
        return None
    start = event.started_at if event.started_at.tzinfo else event.started_at.astimezone()
    end = event.completed_at or event.rolled_back_at
    if end is None and event.execution_ms is not None:
        end = start + _dt.timedelta(milliseconds=event.execution_ms)
    if end is None:
        end = now if event.status == "running" else start
    end = max(end if end.tzinfo else end.astimezone(), start)
    # the bar's own length, so that the text beside it agrees with it (a failed event records
    # execution_ms 0, its timestamps how long it really took)
    return _Span(event, start, end, (end - start).total_seconds())


def _gap_text(seconds: float) -> str:
    """A folded gap: +40s, +12.5min, +3.1h; past a day, +2 d 4 h."""
    if seconds < 86400:
        return "+" + format_duration(seconds)
    return f"+{int(seconds / 86400)} d {int(seconds / 3600 % 24)} h"


def _axis(spans: list[_Span], width: float):
    """The folded axis: (x of a moment, [(x, skipped seconds)] of each fold)."""
    ordered = sorted(spans, key=lambda s: s.start)
    longest = max((s.end - s.start).total_seconds() for s in ordered)
    threshold = max(1.0, longest)
    # stretches of activity: [start, end], split where the gap exceeds the threshold
    stretches: list[list[_dt.datetime]] = []
    for s in ordered:
        if stretches and (s.start - stretches[-1][1]).total_seconds() <= threshold:
            stretches[-1][1] = max(stretches[-1][1], s.end)
        else:
            stretches.append([s.start, s.end])
    active = sum((b - a).total_seconds() for a, b in stretches)
    drawable = width - FOLD_W * (len(stretches) - 1)
    scale = drawable / active if active > 0 else 0.0
    # each stretch's x and width (an instant stretch shares the width left over)
    instant_w = drawable / len(stretches) if active == 0 else 0.0
    starts, folds, x = [], [], 0.0
    for number, (a, b) in enumerate(stretches):
        if number:
            folds.append((x, (a - stretches[number - 1][1]).total_seconds()))
            x += FOLD_W
        starts.append((a, b, x))
        x += (b - a).total_seconds() * scale or instant_w

    def at(moment: _dt.datetime) -> float:
        for a, b, x0 in reversed(starts):
            if moment >= a:
                return x0 + min((moment - a).total_seconds(), (b - a).total_seconds()) * scale
        return 0.0

    return at, folds, [(x0, a) for a, _, x0 in starts]


def _label(event: LedgerEvent, limit: int = 40) -> str:
    kind = event.migration_type or "migrate"
    text = f"{event.version} {event.name or ''}".strip()
    if kind != "migrate":
        text = f"{kind}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tooltip(span: _Span) -> str:
    e = span.event
    lines = [f"{e.version} {e.name or ''}".strip(),
             f"{e.migration_type or 'migrate'}, {e.status or 'unknown'}",
             f"started {utc(span.start)}"]
    lines.append(f"took {format_duration(span.seconds)}")
    if e.error:
        lines.append(e.error.strip().splitlines()[0][:300])
    return "\n".join(lines)


def render(events: list[LedgerEvent] | tuple[LedgerEvent, ...], now: _dt.datetime) -> str:
    """The timeline as an ``<svg>`` element (with a note when events were left out), or a
    paragraph when there is nothing to draw."""
    undated = sum(1 for e in events if e.started_at is None)
    spans = [s for s in (_span(e, now) for e in events) if s is not None]
    older = max(0, len(spans) - MAX_EVENTS)
    spans = spans[older:]
    if not spans:
        return '<p class="empty">The ledger holds no events yet: nothing has been applied.</p>'
    axis_w = WIDTH - LABEL_W - DURATION_W
    at, folds, stretch_starts = _axis(spans, axis_w)
    height = TOP + ROW_H * len(spans) + 8
    out = [f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
           f'aria-label="ledger timeline: {len(spans)} events" xmlns="http://www.w3.org/2000/svg">']
    for number in range(len(spans)):         # zebra rows
        if number % 2 == 0:
            out.append(f'<rect class="zebra" x="0" y="{TOP + number * ROW_H}" width="{WIDTH}" height="{ROW_H}"/>')
    last_label_end = -1e9
    for x0, moment in stretch_starts:        # when each stretch of activity began, where it fits
        x = LABEL_W + x0
        if x >= last_label_end:
            out.append(f'<text class="axis" x="{x:.1f}" y="14">{escape(utc(moment)[:-4])}</text>')
            last_label_end = x + 130
        out.append(f'<line class="tick" x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 4}"/>')
    label_ends = [-1e9, -1e9]               # where the last fold label of each line ends
    for x0, skipped in folds:                # folded gaps: a dashed band and what it skips
        x, text = LABEL_W + x0, _gap_text(skipped)
        out.append(f'<rect class="fold" x="{x + 4:.1f}" y="{TOP - 4}" width="{FOLD_W - 8}" '
                   f'height="{height - TOP}"><title>{escape(text[1:])} without events</title></rect>')
        half = len(text) * 3.3               # about half the label's width at 10.5px
        line = next((n for n in (0, 1) if x + FOLD_W / 2 - half > label_ends[n] + 4), None)
        if line is not None:                 # no room on either line: the band's tooltip says it
            label_ends[line] = x + FOLD_W / 2 + half
            out.append(f'<text class="fold-label" x="{x + FOLD_W / 2:.1f}" y="{TOP - 19 + 11 * line}" '
                       f'text-anchor="middle">{escape(text)}</text>')
    for number, span in enumerate(spans):
        e = span.event
        y = TOP + number * ROW_H
        x1 = LABEL_W + at(span.start)
        width = max(MIN_BAR, at(span.end) - at(span.start))
        colour = STATUS_CLASS.get(e.status or "", "other")
        kind = escape(e.migration_type or "migrate")
        out.append(f'<text class="label" x="8" y="{y + 16}">{escape(_label(e))}</text>')
        out.append(f'<rect class="bar bar-{colour} kind-{kind}" data-event="{e.id}" data-version="{escape(e.version)}" '
                   f'x="{x1:.1f}" y="{y + 5}" width="{width:.1f}" height="{ROW_H - 10}" rx="3">'
                   f'<title>{escape(_tooltip(span))}</title></rect>')
        took = format_duration(span.seconds)
        if e.status == "running":
            took = f"running {took}"
        elif e.status == "failed":
            took = f"failed {took}"
        out.append(f'<text class="took took-{colour}" x="{WIDTH - 8}" y="{y + 16}" text-anchor="end">'
                   f'{escape(took)}</text>')
    out.append("</svg>")
    notes = []
    if older:
        notes.append(f"the {older} oldest event(s) are left out; the newest {MAX_EVENTS} are drawn")
    if undated:
        notes.append(f"{undated} event(s) without a start time are not drawn")
    if folds:
        notes.append("a dashed band folds a stretch of idle time (its length above it)")
    if notes:
        text = "; ".join(notes)
        out.append(f'<p class="note">{escape(text[:1].upper() + text[1:])}.</p>')
    return "\n".join(out)
