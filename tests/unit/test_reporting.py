"""The reporters as a person sees them: rich on a terminal, plain lines otherwise."""
import io

from rich.console import Console

from pgshift.cli.render import render_status
from pgshift.cli.reporters import PlainReporter, RichReporter
from pgshift.events import Event

RUN = [
    Event("plan", "2 migration(s) to apply", data={"steps": ["1", "2"], "dry_run": False}),
    Event("file_started", "migrate a.sql", data={"file": "a.sql", "action": "migrate"}),
    Event("statement", "a.sql:1:1: CREATE TABLE a", level="debug"),
    Event("batch_progress", "a.sql:3:1: batch 4: 4,000 rows", data={"rows": 4000, "batches": 4, "share": 0.4}),
    Event("index_progress", "building", data={"percent": 55.0, "phase": "building index"}),
    Event("retry", "a.sql:2:1: lock timeout; retry 1 of 7", level="warning"),
    Event("file_completed", "migrate a.sql done in 5ms", data={"file": "a.sql"}),
    Event("file_started", "migrate b.sql", data={"file": "b.sql", "action": "migrate"}),
    Event("file_failed", "migrate b.sql failed", level="error"),
]


def test_rich_reporter_shows_lines_and_closes_its_live_display():
    out = io.StringIO()
    reporter = RichReporter(Console(file=out, force_terminal=True, width=120), verbose=False)
    for event in RUN:
        reporter.emit(event)
    assert reporter.progress is not None          # a live display while the run goes on
    reporter.close()
    assert reporter.progress is None
    text = out.getvalue()
    for shown in ("2 migration(s) to apply", "migrate a.sql done in 5ms", "retry 1 of 7", "migrate b.sql failed"):
        assert shown in text
    assert "CREATE TABLE a" not in text           # statements only with -v


def test_plain_reporter_levels():
    out = io.StringIO()
    quiet = PlainReporter(out, quiet=True)
    for event in RUN:
        quiet.emit(event)
    lines = out.getvalue().splitlines()
    assert any("WARNING" in line and "retry 1 of 7" in line for line in lines)
    assert any("ERROR" in line and "b.sql failed" in line for line in lines)
    assert not any("done in 5ms" in line for line in lines)
    verbose_out = io.StringIO()
    verbose = PlainReporter(verbose_out, verbose=True)
    for event in RUN:
        verbose.emit(event)
    assert "CREATE TABLE a" in verbose_out.getvalue()


def test_status_table_plain():
    from pgshift.api import StatusResult
    from pgshift.runs import VersionState

    result = StatusResult((VersionState("20250101000001", "a", "applied", "migrations/x.sql", True, None, 5),
                           VersionState("20250101000002", "b", "pending", "migrations/y.sql")), "db", "l", True)
    text = render_status(result, color=False)
    assert text.splitlines()[0].split() == ["version", "name", "state", "applied", "at", "took", "rollback"]
    assert "20250101000002  b     pending" in text
    assert text.splitlines()[-1] == "db · ledger l · 1 applied, 1 pending"


def test_no_color_on_a_terminal_keeps_the_live_display_without_colours(monkeypatch):
    import re
    import sys

    from pgshift.cli.reporters import make_reporter

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    reporter = make_reporter(verbose=False, quiet=False, color=False)
    assert isinstance(reporter, RichReporter)
    out = io.StringIO()
    reporter.console = Console(file=out, force_terminal=True, no_color=reporter.console.no_color, width=120)
    for event in RUN:
        reporter.emit(event)
    assert reporter.progress is not None  # the live display is there
    reporter.close()
    assert "migrate b.sql failed" in out.getvalue()
    assert not re.search(r"\x1b\[(?:3[0-7]|9[0-7]|38;)", out.getvalue())  # no colour codes
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(make_reporter(verbose=False, quiet=False, color=True), PlainReporter)


def test_live_display_waits_for_the_work_and_pauses_for_a_prompt():
    out = io.StringIO()
    reporter = RichReporter(Console(file=out, force_terminal=True, width=120), verbose=False)
    reporter.emit(RUN[0])                         # the plan: checks, backup, a prompt may follow
    assert reporter.progress is None
    reporter.emit(RUN[1])                         # the first file: now the display runs
    live = reporter.progress
    assert live is not None and live.live.is_started
    with reporter.paused():
        assert not live.live.is_started           # nothing redraws the line being typed on
    assert reporter.progress is live and live.live.is_started
    reporter.close()


def test_status_text_shows_a_rollback_error_and_json_counts_every_state():
    from pgshift.api import StatusResult
    from pgshift.runs import VersionState

    result = StatusResult((VersionState("20250101000001", "a", "applied", "migrations/x.sql", True, None, 5,
                                        error="rollback did not complete"),
                           VersionState("20250101000002", "b", "pending", "migrations/y.sql")), "db", "l", True)
    assert "applied (rollback did not complete)" in render_status(result, color=False).splitlines()[1]
    assert result.to_dict()["counts"] == {"applied": 1, "pending": 1, "failed": 0, "rolled_back": 0, "changed": 0,
                                          "missing": 0, "out_of_order": 0, "running": 0}


def test_status_text_shows_the_first_line_of_a_failed_versions_error_kept_short():
    from pgshift.api import StatusResult
    from pgshift.runs import VersionState

    error = "statement 2 of 3 failed: relation \"nosuch\" does not exist [SQLSTATE 42P01]" + " x" * 60 + "\nmore"
    result = StatusResult((VersionState("20250101000001", "a", "failed", "migrations/x.sql", True, error=error),),
                          "db", "l", True)
    line = render_status(result, color=False).splitlines()[1]
    assert "failed (statement 2 of 3 failed: relation \"nosuch\" does not exist" in line
    assert "…)" in line and "more" not in line
