"""`make demo`: the main job end to end on a throwaway project.

A project with tenants holding data, a feature branch that changes the schema, a semantic
merge that brings every tenant along with its data kept, and a conflicting merge refused with
nothing changed. Everything runs through the public Python API the CLI and server use.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

import cinch
from cinch.errors import MergeConflict

console = Console()
TENANTS = ["acme", "globex", "initech", "umbrella", "hooli"]


def step(text: str) -> None:
    console.print(f"\n[bold cyan]▶ {text}[/bold cyan]")


def show_tenants(project: cinch.Project, branch: str) -> None:
    table = Table("tenant", "state", "change sets", "users", "columns of users")
    for info in project.database(branch=branch).tenants.list():
        tenant = project.tenant(info.name, branch=branch)
        count = tenant.rows("SELECT count(*) AS n FROM users")[0]["n"]
        cols = [r["name"] for r in tenant.rows("SELECT name FROM pragma_table_info('users')")]
        table.add_row(info.name, info.state, str(info.applied), str(count), ", ".join(cols))
    console.print(table)


def run(root: Path, *, kept: bool = True) -> None:
    step(f"cinch init {root.name}: a git repository of schema change sets")
    project = cinch.init(root)
    db = project.database()
    db.create_table("users", ["name:TEXT:not-null:default=''", "email:TEXT:unique",
                              "age:INTEGER:not-null:default=0"], message="Create users")
    project.database().tenants.create(*TENANTS)
    for n, name in enumerate(TENANTS):
        tenant = project.tenant(name)
        for i in range(3):
            tenant.insert("users", {"name": f"{name}-user{i}", "email": f"u{i}@{name}.test",
                                    "age": 20 + n + i})
    console.print(f"{len(TENANTS) + 1} tenants on main, each its own SQLite file with rows")
    show_tenants(project, "main")

    step("cinch switch -c feature/billing: a real git branch; its tenants fork lazily")
    project.switch("feature/billing", create=True)
    feature = project.database(branch="feature/billing")
    feature.add_column("users", "plan:TEXT:not-null:default=free", message="Plans for users")
    feature.create_table("invoices", ["user_id:TEXT:references=users.id",
                                      "amount:REAL:not-null:default=0"],
                         message="Create invoices")
    feature.create_index("invoices", ["user_id"], message="Index invoices by user")
    for change in feature.changes()[-3:]:
        console.print(f"  change {change.id}: {change.message}")
        for sql in change.sql:
            console.print(f"    [dim]{sql.splitlines()[0]}[/dim]")

    step("cinch diff main feature/billing: what the merge would do to the schema")
    for entry in project.diff("main", "feature/billing")["databases"][0]["diff"]:
        console.print(f"  {entry['kind']:<16} {entry['object']}")

    step("cinch merge feature/billing --into main: checked on meaning, applied to every tenant")
    project.switch("main")
    result = project.merge("feature/billing", "main")
    console.print(f"  merged: commit {str(result.to_dict().get('commit'))[:10]}")
    show_tenants(project, "main")
    rows = project.tenant("acme").rows("SELECT name, plan FROM users ORDER BY name")
    console.print(f"  acme's rows kept, with the new column: {rows}")

    step("A conflicting pair of branches: both add users.score with different types")
    project.create_branch("left")
    project.create_branch("right")
    project.database(branch="left").add_column("users", "score:INTEGER")
    project.database(branch="right").add_column("users", "score:TEXT")
    project.merge("left", "main")
    head = project.tip("main")
    try:
        project.merge("right", "main")
    except MergeConflict as exc:
        console.print(f"  [red]refused[/red]: {exc.message}")
        for conflict in exc.details.get("conflicts", [])[:3]:
            console.print(f"    {conflict.get('kind')}: {conflict.get('object')}")
            for way in conflict.get("resolutions", [])[:2]:
                console.print(f"      way out: {way}")
    assert project.tip("main") == head, "a refused merge changes nothing"
    console.print("  main is unchanged; every tenant untouched")

    step("Plain git sees it all: git log")
    for info in project.log(8, rev="main", changes_only=False):
        console.print(f"  {info.commit[:10]} {info.summary}")
    project.close()
    cli = Path(sys.executable).parent / "cinch"
    if kept:
        console.print(f"\n[green]Done.[/green] The project is in {root} — try "
                      f"`{cli} -C {root} log` or `git -C {root} log -p`.")
    else:
        console.print(f"\n[green]Done.[/green] Its temporary folder is removed; to keep the "
                      f"project, give a folder: `{sys.executable} -m cinch.demo DIR`.")


def main() -> None:
    os.environ.setdefault("CINCH_AUTHOR_NAME", "cinch demo")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "demo@cinch.invalid")
    if len(sys.argv) > 1:
        run(Path(sys.argv[1]) / "acme")
        return
    with tempfile.TemporaryDirectory(prefix="cinch-demo-") as base:
        run(Path(base) / "acme", kept=False)


if __name__ == "__main__":
    main()
