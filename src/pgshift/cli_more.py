"""The commands beyond the core: rollback, down, test, diagnose, lint, check, backup, restore.

Registered on the main group by ``cli.main``; like ``cli``, nothing heavy is
imported until a command runs.
"""
from __future__ import annotations

import sys

import click


def register(cli, global_options, _g, _project, _out, _duration, _confirm_fn):  # noqa: C901 - one place for all

    def rollback_options(f):
        f = click.option("--yes", is_flag=True, help="Confirm without typing ROLLBACK (required without a terminal).")(f)
        f = click.option("--dry-run", is_flag=True, help="Show what would run and touch nothing.")(f)
        f = click.option("--lock-timeout", default=None, help="lock_timeout for every statement.")(f)
        f = click.option("--lock-wait", default="60s", show_default=True)(f)
        f = click.option("--no-backup", is_flag=True, help="Skip the emergency backup (protected environments).")(f)
        f = click.option("--monitor", is_flag=True, help="Report locks and blockers while it runs.")(f)
        return f

    def _rb_options(yes, dry_run, lock_timeout, lock_wait, no_backup, monitor):
        from . import api  # noqa: PLC0415

        return api.RollbackOptions(yes=yes, dry_run=dry_run, lock_timeout=_duration(lock_timeout, timeout=True),
                                   lock_wait=_duration(lock_wait), no_backup=no_backup, monitor=monitor)

    def _rb_out(result):
        if result.run is None:
            _out(result, "dry run: nothing was changed")
        else:
            n = len(result.run.steps)
            _out(result, f"rolled back {n} version(s)" if n else "nothing to roll back")

    @cli.command()
    @click.argument("version")
    @rollback_options
    @global_options
    def rollback(version, yes, dry_run, lock_timeout, lock_wait, no_backup, monitor):
        """Run VERSION's rollback file and record it (asks you to type ROLLBACK)."""
        from . import api  # noqa: PLC0415

        result = api.rollback(_project(), version, _rb_options(yes, dry_run, lock_timeout, lock_wait, no_backup,
                                                                monitor), confirm=_confirm_fn())
        _rb_out(result)

    @cli.command()
    @click.option("--steps", type=int, default=None, help="Roll back the newest N applied versions.")
    @click.option("--to", "to", default=None, help="Roll back every version newer than this one.")
    @rollback_options
    @global_options
    def down(steps, to, yes, dry_run, lock_timeout, lock_wait, no_backup, monitor):
        """Roll back, newest first, stopping at the first failure."""
        from . import api  # noqa: PLC0415

        result = api.down(_project(), steps=steps, to=to,
                          options=_rb_options(yes, dry_run, lock_timeout, lock_wait, no_backup, monitor),
                          confirm=_confirm_fn())
        _rb_out(result)

    @cli.command("test")
    @click.option("--from-backup", type=click.Path(dir_okay=False), default=None,
                  help="Restore this pg_dump (custom format or plain SQL) first.")
    @click.option("--roundtrip", is_flag=True, help="Prove every rollback restores the schema.")
    @click.option("--keep", is_flag=True, help="Keep the throwaway database.")
    @global_options
    def test_cmd(from_backup, roundtrip, keep):
        """Apply every migration to a throwaway database, then drop it."""
        from . import api  # noqa: PLC0415

        result = api.test(_project(), from_backup=from_backup, roundtrip=roundtrip, keep=keep)
        lines = [f"applied {result.applied} migration(s) to {result.database}"]
        if result.checks:
            lines.append(_table(("version", "name", "rollback"),
                                [(c.version, c.name, c.status) for c in result.checks]))
            for c in result.checks:
                for d in c.differences:
                    lines.append(f"  {c.version} {c.name}: {d}")
                if c.error:
                    lines.append(f"  {c.version} {c.name}: {c.error}")
        lines.append("all rollbacks restore the schema" if roundtrip and result.ok else
                     ("rollback differences found" if not result.ok else "ok"))
        _out(result, "\n".join(lines))
        if not result.ok:
            sys.exit(1)

    @cli.command()
    @global_options
    def diagnose():
        """The guide's diagnostics: ledger with durations, waiting locks, who blocks whom, table statistics."""
        from . import api  # noqa: PLC0415

        result = api.diagnose(_project())
        parts = []
        for name, section in result.sections.items():
            parts.append(f"== {name.replace('_', ' ')} ==")
            if section.get("note"):
                parts.append(section["note"])
            elif not section["rows"]:
                parts.append("(none)")
            else:
                parts.append(_table(section["columns"], [[_cell(v) for v in r] for r in section["rows"]]))
        _out(result, "\n".join(parts))

    @cli.command()
    @click.argument("paths", nargs=-1, type=click.Path(exists=True))
    @click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default=None,
                  help="Output format (default text; json with --json).")
    @click.option("--explain", "explain", default=None, metavar="RULE", help="Print a rule's documentation.")
    @click.option("--list", "list_rules", is_flag=True, help="List the rules.")
    @click.option("--target-version", type=int, default=None, help="PostgreSQL major version to lint for.")
    @global_options
    def lint(paths, fmt, explain, list_rules, target_version):
        """Static checks: what blocks or breaks production, with the line and the safe alternative."""
        from . import api  # noqa: PLC0415

        from .reporting import dump_json  # noqa: PLC0415

        as_json = bool(_g("json_out")) or fmt == "json"
        if explain:
            if as_json:
                click.echo(dump_json(api.lint_rule(explain)))
            else:
                click.echo(api.lint_explain(explain))
            return
        if list_rules:
            rules = api.lint_rules()
            if as_json:
                click.echo(dump_json(rules))
            else:
                click.echo(_table(("rule", "severity", "versions", "summary"),
                                  [(r["id"], r["severity"], r["versions"], r["summary"]) for r in rules]))
            return
        report, text = api.lint(_g("project"), list(paths), fmt or ("json" if _g("json_out") else "text"),
                                target_version=target_version, env=_g("env"))
        click.echo(text)
        if report.has_errors:
            sys.exit(1)

    @cli.command()
    @global_options
    def check():
        """The preflight safety checks, alone (exit 3 when one fails)."""
        from . import api  # noqa: PLC0415

        report = api.check(_project())
        _out(report, api.render_check(report))
        if not report.ok:
            sys.exit(3)

    @cli.command()
    @click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="Write the dump here.")
    @global_options
    def backup(out_file):
        """pg_dump in custom format (mode 0600, with a SHA-256 beside it)."""
        from . import api  # noqa: PLC0415

        result = api.backup(_project(), out=out_file)
        _out(result, f"backup written: {result.path}")

    @cli.command()
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--no-owner", is_flag=True, help="Do not restore object owners (when the roles do not exist there).")
    @global_options
    def restore(file, no_owner):
        """Restore a backup into another database (--database-url is required)."""
        from . import api  # noqa: PLC0415

        url = _g("database_url")
        if not url:
            raise click.UsageError("restore needs --database-url URL: the database to restore into")
        result = api.restore(file, url, project=_project(), no_owner=no_owner)
        _out(result, f"restored {file}")


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "total_seconds"):
        seconds = value.total_seconds()
        return f"{seconds:.3f}s" if seconds < 60 else f"{seconds / 60:.1f}min"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value).replace("\n", " ")
    return text[:80] + ("…" if len(text) > 80 else "")


def _table(headers, rows) -> str:
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    return "\n".join(lines)
