"""Pure planning: no server, just files and ledger events."""
import datetime as dt

import pytest

from pgshift.errors import PlanError
from pgshift.model import MigrationFile, RollbackFile
from pgshift.planning import PlanOptions, build_plan, pending_versions, version_states
from pgshift.resume import progress_fingerprint, statement_digests
from pgshift.runs import LedgerEvent
from pgshift.sql import parse_file

T = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def plan_of(files, events, parsed, options):
    """build_plan as `up` calls it: the states and the chosen versions computed once."""
    states = version_states(files, events)
    return build_plan(files, states, pending_versions(states, options), parsed, options)


def mf(version, name="m", checksum="c", rollback=False):
    rb = RollbackFile(version, None, f"migrations/rollbacks/{version}_rollback.sql", "r") if rollback else None
    return MigrationFile(version, name, f"/p/migrations/{version}_{name}.sql", f"migrations/{version}_{name}.sql",
                         checksum, rollback=rb)


_ids = iter(range(1, 10_000))


def ev(version, status="completed", kind="migrate", checksum="c", done=None, details=None):
    return LedgerEvent(next(_ids), version, "m", None, status, kind, T, T, None, checksum, 5,
                       statements_done=done, details=details)


def states(files, events):
    return {s.version: s.state for s in version_states(files, events)}


def test_every_state():
    files = [mf("20250101000001"), mf("20250101000002", checksum="new"), mf("20250101000003"),
             mf("20250101000004"), mf("20250101000005"), mf("20250101000000")]
    events = [ev("20250101000001"), ev("20250101000002"), ev("20250101000003"),
              ev("20250101000003", kind="rollback"), ev("20250101000004", status="failed"),
              ev("20250101000009"), ev("20250101000005", status="running")]
    assert states(files, events) == {
        "20250101000000": "out_of_order", "20250101000001": "applied", "20250101000002": "changed",
        "20250101000003": "rolled_back", "20250101000004": "failed", "20250101000005": "running",
        "20250101000009": "missing"}


def test_the_guides_rollback_rows_are_honoured():
    files = [mf("20250115143000")]
    events = [ev("20250115143000", checksum=None), ev("20250115143000_rollback", kind="rollback", checksum=None)]
    assert states(files, events) == {"20250115143000": "rolled_back"}
    guide_marked = [ev("20250115143000", status="rolled_back", checksum=None)]
    assert states(files, guide_marked) == {"20250115143000": "rolled_back"}


def test_a_failed_rollback_leaves_the_version_applied():
    s = version_states([mf("20250101000001")], [ev("20250101000001"), ev("20250101000001", "failed", "rollback")])
    assert s[0].state == "applied" and "rollback" in s[0].error


def test_baseline_counts_as_applied_and_the_latest_event_wins():
    files = [mf("20250101000001")]
    assert states(files, [ev("20250101000001", kind="baseline")]) == {"20250101000001": "applied"}
    assert states(files, [ev("20250101000001", "failed"), ev("20250101000001")]) == {"20250101000001": "applied"}


def test_changed_and_out_of_order_stop_the_plan_unless_allowed():
    files = [mf("20250101000001", checksum="x"), mf("20250101000002")]
    events = [ev("20250101000001")]
    with pytest.raises(PlanError, match="changed since they were applied"):
        pending_versions(version_states(files, events), PlanOptions())
    assert [s.version for s in pending_versions(version_states(files, events), PlanOptions(allow_changed=True))] \
        == ["20250101000002"]
    files = [mf("20250101000001"), mf("20250101000002")]
    events = [ev("20250101000002")]
    with pytest.raises(PlanError, match="older than the newest applied"):
        pending_versions(version_states(files, events), PlanOptions())
    assert [s.version for s in pending_versions(version_states(files, events), PlanOptions(out_of_order=True))] \
        == ["20250101000001"]


def test_target():
    files = [mf(f"2025010100000{i}") for i in range(1, 4)]
    parsed = {m.version: parse_file(m.relpath, "SELECT 1;") for m in files}
    plan = plan_of(files, [], parsed, PlanOptions(target="20250101000002"))
    assert [s.version for s in plan.steps] == ["20250101000001", "20250101000002"]
    with pytest.raises(PlanError, match="not the version of any migration"):
        plan_of(files, [], parsed, PlanOptions(target="20990101000000"))


def test_resume_only_an_unchanged_stepwise_file():
    files = [mf("20250101000001")]
    nontx = {"20250101000001": parse_file("m.sql", "-- pgshift:no-transaction\nSELECT 1;\nSELECT 2;\nSELECT 3;")}
    tx = {"20250101000001": parse_file("m.sql", "SELECT 1;\nSELECT 2;")}
    interrupted = [ev("20250101000001", "running", done=2, details={"x": 1})]
    step = plan_of(files, interrupted, nontx, PlanOptions()).steps[0]
    assert (step.resume_from, step.resume_details) == (2, {"x": 1})
    assert plan_of(files, interrupted, tx, PlanOptions()).steps[0].resume_from == 0
    # an edited file whose earlier run recorded no fingerprint cannot be checked: refused, unless --allow-changed
    other = [ev("20250101000001", "failed", checksum="old", done=2)]
    with pytest.raises(PlanError, match="does not record what they were"):
        plan_of(files, other, nontx, PlanOptions())
    plan = plan_of(files, other, nontx, PlanOptions(allow_changed=True))
    assert plan.steps[0].resume_from == 0 and "changed since its interrupted run" in plan.warnings[0]


def _fingerprinted(text, done, checksum="old"):
    """The failed event an earlier run of *text* leaves after *done* statements."""
    statements = parse_file("migrations/20250101000001_m.sql", text).statements
    details = {"fingerprint": progress_fingerprint(statement_digests(statements), done)}
    return [ev("20250101000001", "failed", checksum=checksum, done=done, details=details)]


def test_an_edited_interrupted_file_resumes_when_the_statements_that_ran_are_unchanged():
    files = [mf("20250101000001")]
    ran = "-- pgshift:no-transaction\nCREATE TABLE a (id int);\nSELECT nosuch;\nCREATE TABLE b (id int);\n"
    fixed = {"20250101000001": parse_file("migrations/20250101000001_m.sql", ran.replace("nosuch", "1")
                                          .replace("CREATE TABLE a (id int)", "CREATE  TABLE a\n  (id int)"))}
    plan = plan_of(files, _fingerprinted(ran, 1), fixed, PlanOptions())
    assert plan.steps[0].resume_from == 1   # a reindent of the statement that ran is no change
    assert "resumes at statement 2" in plan.warnings[0]
    # --allow-changed, passed for some other file, never makes it run again from the start
    assert plan_of(files, _fingerprinted(ran, 1), fixed, PlanOptions(allow_changed=True)).steps[0].resume_from == 1


def test_an_edited_statement_that_ran_stops_the_plan_naming_it():
    files = [mf("20250101000001")]
    ran = "-- pgshift:no-transaction\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\nSELECT nosuch;\n"
    edited = {"20250101000001": parse_file("migrations/20250101000001_m.sql",
                                           ran.replace("b (id int)", "b (id bigint)"))}
    with pytest.raises(PlanError) as caught:
        plan_of(files, _fingerprinted(ran, 2), edited, PlanOptions())
    assert str(caught.value.location) == "migrations/20250101000001_m.sql:3:1"
    assert "statement 2 of migrations/20250101000001_m.sql changed after it ran" in caught.value.message
    assert "--allow-changed" in caught.value.hint and "resumes at statement 3" in caught.value.hint
    shorter = {"20250101000001": parse_file("migrations/20250101000001_m.sql",
                                            "-- pgshift:no-transaction\nCREATE TABLE a (id int);\n")}
    with pytest.raises(PlanError, match="statement 2 is gone from the file"):
        plan_of(files, _fingerprinted(ran, 2), shorter, PlanOptions())
    plan = plan_of(files, _fingerprinted(ran, 2), edited, PlanOptions(allow_changed=True))
    assert plan.steps[0].resume_from == 0 and plan.steps[0].resume_details["previous_run"]["statements_done"] == 2


def test_rolled_back_versions_are_applied_again():
    files = [mf("20250101000001"), mf("20250101000002")]
    events = [ev("20250101000001"), ev("20250101000002"), ev("20250101000001", kind="rollback")]
    chosen = pending_versions(version_states(files, events), PlanOptions())
    assert [s.version for s in chosen] == ["20250101000001"]
