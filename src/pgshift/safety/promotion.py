"""The promotion path: ``require_applied_in = "staging"`` lets an environment apply only the
versions that environment has applied first (read through its own configured url)."""
from __future__ import annotations

from .. import ledger as ledger_mod
from ..errors import SafetyRefusal
from ..model import APPLIED
from ..planning import event_state, latest_events
from ..project import Project, environment_project
from ..runs import Plan


def require_applied_in(project: Project, plan: Plan) -> None:
    """Refuse (exit 3) when a version of *plan* is not applied in the required environment."""
    other = environment_project(project, project.env.require_applied_in)
    with other.connected() as conn:
        events = ledger_mod.read(conn, other.ledger)
    latest = latest_events(events)
    missing = [s.version for s in plan.steps
               if s.version not in latest or event_state(latest[s.version]) != APPLIED]
    if missing:
        raise SafetyRefusal(
            f"{len(missing)} version(s) are not applied in {other.env.name!r}, which {project.env.name!r} "
            f"requires first: {', '.join(missing)}",
            hint=f"apply them to {other.env.name} first (`pgshift --env {other.env.name} up`)",
            details={"missing": missing})
