"""Pure planning: no server, just files and ledger events."""
import datetime as dt

import pytest

from pgshift.errors import PlanError
from pgshift.model import LedgerEvent, MigrationFile, RollbackFile
from pgshift.planning import PlanOptions, build_plan, pending_versions, version_states
from pgshift.statements import parse_file

T = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


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
    plan = build_plan(files, [], parsed, PlanOptions(target="20250101000002"))
    assert [s.version for s in plan.steps] == ["20250101000001", "20250101000002"]
    with pytest.raises(PlanError, match="not the version of any migration"):
        build_plan(files, [], parsed, PlanOptions(target="20990101000000"))


def test_resume_only_an_unchanged_stepwise_file():
    files = [mf("20250101000001")]
    nontx = {"20250101000001": parse_file("m.sql", "-- pgshift:no-transaction\nSELECT 1;\nSELECT 2;\nSELECT 3;")}
    tx = {"20250101000001": parse_file("m.sql", "SELECT 1;\nSELECT 2;")}
    interrupted = [ev("20250101000001", "running", done=2, details={"x": 1})]
    step = build_plan(files, interrupted, nontx, PlanOptions()).steps[0]
    assert (step.resume_from, step.resume_details) == (2, {"x": 1})
    assert build_plan(files, interrupted, tx, PlanOptions()).steps[0].resume_from == 0
    other = [ev("20250101000001", "failed", checksum="old", done=2)]
    plan = build_plan(files, other, nontx, PlanOptions())
    assert plan.steps[0].resume_from == 0 and "changed since its interrupted run" in plan.warnings[0]


def test_rolled_back_versions_are_applied_again():
    files = [mf("20250101000001"), mf("20250101000002")]
    events = [ev("20250101000001"), ev("20250101000002"), ev("20250101000001", kind="rollback")]
    chosen = pending_versions(version_states(files, events), PlanOptions())
    assert [s.version for s in chosen] == ["20250101000001"]
