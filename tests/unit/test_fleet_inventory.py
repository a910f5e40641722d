"""The fleet's inventory, without a server: lines, TOML, a command, stages, a tenant's URL."""
from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from pgshift.errors import InputError
from pgshift.fleet import inventory


def test_a_line_is_a_url_a_schema_and_labels():
    t = inventory.parse_line("postgresql://app@db1:5433/shop  schema=tenant_7 tier=canary region=eu", "f:1")
    assert (t.url, t.schema, t.labels) == ("postgresql://app@db1:5433/shop", "tenant_7",
                                           {"tier": "canary", "region": "eu"})
    assert t.name == "db1:5433/shop#tenant_7" and t.host == "db1:5433"
    kv = inventory.parse_line("host=/tmp/s dbname=d user=u host=x.example tier=a", "f:2")
    assert kv is not None and kv.labels == {"tier": "a"} and "dbname=d" in kv.url
    named = inventory.parse_line("postgresql://h/d name=shop-1 host=rack-3", "f:3")
    assert named.name == "shop-1" and named.host == "rack-3"   # the host label wins for caps
    assert inventory.parse_line("   # a comment", "f:4") is None and inventory.parse_line("", "f:5") is None
    with pytest.raises(InputError, match="f:6: 'oops' is not key=value"):
        inventory.parse_line("postgresql://h/d oops", "f:6")


def test_a_toml_file_a_command_and_unique_names(tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_text('[[target]]\nurl = "postgresql://h/a"\nlabels = {tier = "canary"}\n'
                    '[[target]]\nurl = "postgresql://h/b"\nschema = "t1"\nname = "b1"\n')
    found = inventory.from_file(toml)
    assert [(t.name, t.schema, t.labels) for t in found] == [("h:5432/a", None, {"tier": "canary"}), ("b1", "t1", {})]
    printed = inventory.from_command("printf 'postgresql://h/x\\npostgresql://h/y tier=b\\n'")
    assert [t.name for t in printed] == ["h:5432/x", "h:5432/y"]
    with pytest.raises(InputError, match="exited 3"):
        inventory.from_command("exit 3")
    with pytest.raises(InputError, match="two targets are named"):
        inventory.check_unique(printed + printed[:1])


def test_stages_and_a_tenant_url():
    a, b, c = (inventory.make(f"postgresql://h/{n}", labels=lb) for n, lb in
               (("a", {"tier": "canary"}), ("b", {"region": "eu"}), ("c", {})))
    stages = [("tier", "canary"), ("region", "eu")]
    assert [inventory.stage_of(t, stages) for t in (a, b, c)] == [0, 1, 2]
    listed = [("name", "h:5432/c,h:5432/b"), ("tier", "canary")]   # a stage as a list of targets
    assert [inventory.stage_of(t, listed) for t in (a, b, c)] == [1, 0, 0]
    url = inventory.tenant_url("postgresql://u@h:5/d?options=-c%20work_mem%3D8MB", 'ten ant"1')
    info = conninfo_to_dict(url)
    assert info["dbname"] == "d" and info["options"] == '-c work_mem=8MB -c search_path="ten\\ ant""1",public'


def test_a_target_never_rewrites_the_projects_schema_file(tmp_path):
    from pgshift.fleet import control
    from pgshift.fleet.rollout import target_project
    from pgshift.project import open_project

    (tmp_path / "migrations").mkdir()
    (tmp_path / "pgshift.toml").write_text('[pgshift]\ndump_schema = "schema.sql"\n[env.dev]\n')
    project = open_project(tmp_path, database_url="postgresql://h/app")
    assert project.config.dump_schema == "schema.sql"
    for schema in (None, "tenant_7"):
        claimed = control.Claimed("t1", "postgresql://h/app", schema, {}, 0, 1)
        target = target_project(project, claimed)
        assert target.config.dump_schema is None
        assert target.config.ledger == (f"{schema}.migration_log" if schema else project.config.ledger)
