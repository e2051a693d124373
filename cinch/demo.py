"""`make demo`: the main job end to end on a throwaway copy of the sample SaaS project.

The project comes from ``fixtures/saas.py`` (accounts, users and invoices with foreign keys,
indexes and views; a merged branch and one still open; tenants with generated rows). The demo
reads it, merges the open branch so that every tenant follows with its data kept, and shows a
conflicting merge refused with nothing changed. Everything runs through the public Python API
the CLI and server use.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from rich.console import Console
from rich.table import Table

import cinch
from cinch.errors import MergeConflict

console = Console()


def step(text: str) -> None:
    console.print(f"\n[bold cyan]▶ {text}[/bold cyan]")


def sample() -> ModuleType:
    """fixtures.saas, from the checkout this cinch runs from (``make demo`` runs at its root)."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "fixtures" / "saas.py").is_file() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        from fixtures import saas
    except ImportError as exc:
        raise SystemExit("the demo builds the sample project of fixtures/saas.py: run it from "
                         "a cinch checkout with `make demo`") from exc
    return saas


def show_tenants(project: cinch.Project, branch: str) -> None:
    """Each tenant's state, change sets applied, rows (the open ones through a view) and
    whether it has the open branch's column."""
    table = Table("tenant", "state", "applied", "accounts", "invoices", "open", "discount")
    for info in project.database(branch=branch).tenants.list():
        tenant = project.tenant(info.name, branch=branch)
        counts = tenant.query("SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM "
                              "invoices), (SELECT count(*) FROM open_invoices)").rows[0]
        has = tenant.query("SELECT count(*) FROM pragma_table_info('invoices') "
                           "WHERE name = 'discount_cents'").rows[0][0]
        table.add_row(info.name, info.state, str(info.applied), *map(str, counts),
                      "yes" if has else "no")
    console.print(table)


def run(root: Path, *, kept: bool = True) -> None:
    saas = sample()
    step(f"python -m fixtures.saas {root.name}: the sample SaaS project, built through cinch")
    built = saas.build(root)
    project = cinch.open(root)
    console.print(f"  tenants {', '.join(built.tenants)} (each its own SQLite file with rows); "
                  f"{saas.MERGED_BRANCH} merged, {saas.OPEN_BRANCH} open")
    db = project.database()
    console.print(f"  schema of main: tables {', '.join(t.name for t in db.tables())}; views "
                  f"{', '.join(v.name for v in db.views())}")
    show_tenants(project, "main")

    step(f"cinch log {saas.OPEN_BRANCH}: a real git branch under review")
    for change in project.database(branch=saas.OPEN_BRANCH).changes()[-1:]:
        console.print(f"  change {change.id}: {change.message}")
        for sql in change.sql:
            console.print(f"    [dim]{sql.splitlines()[0]}[/dim]")

    step(f"cinch diff main {saas.OPEN_BRANCH}: what the merge would do to the schema")
    for entry in project.diff("main", saas.OPEN_BRANCH)["databases"][0]["diff"]:
        console.print(f"  {entry['kind']:<16} {entry['object']}")

    step(f"cinch merge {saas.OPEN_BRANCH} --into main: checked on meaning, applied to every "
         "tenant")
    result = project.merge(saas.OPEN_BRANCH, "main")
    console.print(f"  merged: commit {str(result.to_dict().get('commit'))[:10]}")
    show_tenants(project, "main")
    rows = project.tenant("acme").rows("SELECT number, amount_cents, discount_cents FROM "
                                       "invoices ORDER BY number LIMIT 3")
    console.print(f"  acme's invoices kept, with the new column: {rows}")

    step("A conflicting pair of branches: both add invoices.currency with different types")
    project.create_branch("feature/currency-code")
    project.create_branch("feature/currency-id")
    project.database(branch="feature/currency-code").add_column("invoices", "currency:TEXT")
    project.database(branch="feature/currency-id").add_column("invoices", "currency:INTEGER")
    project.merge("feature/currency-code", "main")
    head = project.tip("main")
    try:
        project.merge("feature/currency-id", "main")
    except MergeConflict as exc:
        console.print(f"  [red]refused[/red]: {exc.message}")
        for conflict in exc.details.get("conflicts", [])[:3]:
            console.print(f"    {conflict.get('kind')}: {conflict.get('object')}")
            for way in conflict.get("resolutions", [])[:2]:
                console.print(f"      way out: {way}")
    assert project.tip("main") == head, "a refused merge changes nothing"
    console.print("  main is unchanged; every tenant untouched")

    step("Plain git sees it all: git log")
    for info in project.log(10, rev="main", changes_only=False):
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
        run(Path(sys.argv[1]) / "saas")
        return
    with tempfile.TemporaryDirectory(prefix="cinch-demo-") as base:
        run(Path(base) / "saas", kept=False)


if __name__ == "__main__":
    main()
