"""Several alterations of one table in one change set copy its rows once: one rebuild."""

from __future__ import annotations

from pathlib import Path

import cinch
from cinch.models.operations import Operation
from cinch.models.schema import Schema
from cinch.planner import build
from cinch.planner.columns import parse_column_spec
from cinch.planner.plan import apply_op, plan_many

REBUILD = 'CREATE TABLE "_cinch_new_'


def _rebuilds(statements: list[str]) -> int:
    return sum(s.startswith(REBUILD) for s in statements)


def _chain(schema: Schema, *makers: object) -> list[Operation]:
    """Operations made one after the other, each against the schema the previous ones leave."""
    ops: list[Operation] = []
    for make in makers:
        made = make(schema)  # type: ignore[operator]
        for op in made:
            schema = apply_op(schema, op)
        ops += made
    return ops


def test_alterations_of_one_table_plan_one_rebuild_and_keep_the_rows(tmp_path: Path) -> None:
    project = cinch.init(tmp_path / "acme")
    db = project.database()
    db.create_table("users", ["name:TEXT", "email:TEXT", "age:TEXT", "note:TEXT"])
    db.create_table("orders", ["total:TEXT"])
    db.create_index("users", ["email"])
    db.create_view("adults", "SELECT email, age FROM users")
    project.tenants.create_many("main", "main", ["acme", "globex"])
    for name in ("acme", "globex"):
        tenant = project.tenant(name)
        with tenant.transaction():
            for i in range(5):
                tenant.insert("users", {"name": f"{name}{i}", "email": f"{i}@{name}",
                                        "age": str(20 + i), "note": "x"})
            tenant.insert("orders", {"total": "9.5"})
        tenant.close()
    schema = db.schema()
    ops = _chain(
        schema,
        lambda s: build.alter_column(s, "users", "age", type="INTEGER"),  # rebuild
        lambda s: build.add_column(s, "users", parse_column_spec("code:TEXT:unique")),  # rebuild
        lambda s: build.rename_column(s, "users", "name", "full_name"),  # plain ALTER
        lambda s: build.drop_column(s, "users", "note"),  # plain ALTER
        lambda s: build.alter_column(s, "orders", "total", type="REAL"),  # another table
    )
    separately = [plan_many(schema, [op])[0].statements for op in ops]
    assert sum(_rebuilds(s) for s in separately) == 3  # one each, without folding

    result = db.change(ops)
    assert _rebuilds(result.change.sql) == 2  # users once, orders once
    assert _rebuilds(result.plan.statements) == 2

    for name in ("acme", "globex"):
        tenant = project.tenant(name)
        rows = tenant.rows("SELECT full_name, email, age, code, typeof(age) AS t FROM users "
                           "ORDER BY email")
        assert rows == [{"full_name": f"{name}{i}", "email": f"{i}@{name}", "age": 20 + i,
                         "code": None, "t": "integer"} for i in range(5)]
        assert tenant.rows("SELECT total FROM orders") == [{"total": 9.5}]
        assert tenant.rows("SELECT * FROM adults ORDER BY age")[0] == \
            {"email": f"0@{name}", "age": 20}
        tenant.close()
    assert {i.state for i in project.tenants.infos("main", "main")} == {"up to date"}
    acme = project.tenant("acme")
    assert acme.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                     "AND tbl_name = 'users'") == [{"name": "users_email_idx"}]  # made again
    acme.close()
    project.close()


def test_a_column_altered_twice_is_not_folded() -> None:
    schema = Schema()
    for op in build.create_table(schema, "t", [parse_column_spec("v:TEXT")]):
        schema = apply_op(schema, op)
    ops = _chain(
        schema,
        lambda s: build.alter_column(s, "t", "v", type="INTEGER"),
        lambda s: build.alter_column(s, "t", "v", type="TEXT"),
    )
    plan_, _ = plan_many(schema, ops)
    assert _rebuilds(plan_.statements) == 2
