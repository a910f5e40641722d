"""One module per verb family. Each verb takes a :class:`pgshift.project.Project` (or a
project folder), returns a typed result with ``to_dict()``, and never prints or exits:
output goes to the project's reporter, failures are raised as ``PgshiftError``.

========================  =============================================
module                    verbs
========================  =============================================
``commands.status``       status, verify
``commands.up``           up, baseline
``commands.rollback``     rollback, down
``commands.test``         test (throwaway databases; see ``rehearsal``)
``commands.lint``         lint, lint_explain, lint_rule, lint_rules
``commands.safety``        check, backup, restore
``commands.scaffold``     init, new
``commands.db``            db (the embedded server)
``commands.diagnose``     diagnose
========================  =============================================

``pgshift.api`` re-exports them; import from there. Each family's command line is the
module of the same name in ``pgshift.cli``.
"""
