"""Where rich would print no colour, cinch.cli.output writes simple lines and tables itself
(no rich to import at start): byte for byte what rich prints, or it leaves them to rich."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.table import Table

from cinch.cli import output


def by_rich(columns: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    table = Table(header_style="bold")
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*row)
    Console(file=buf, soft_wrap=True).print(table)
    return buf.getvalue()


def line_by_rich(markup: str) -> str:
    buf = io.StringIO()
    Console(file=buf, soft_wrap=True).print(markup)
    return buf.getvalue()


WORDS = ["users", "t_01m8stzk5sabwafp4r5ck30t7k", "False", "True", "0", "12", "a b",
         "x-y_z.q", "(all up to date)", "`cinch sync`", "v1.2", "email@x.invalid", "50%"]


@pytest.mark.parametrize("columns", ["240", "80", "40", "20"])
def test_tables_as_rich_draws_them(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    rng = random.Random(7)
    drawn = 0
    for _ in range(200):
        width = rng.randint(1, 6)
        cols = [rng.choice(WORDS) for _ in range(width)]
        rows = [[rng.choice(WORDS) for _ in range(width)] for _ in range(rng.randint(1, 4))]
        plain = output.plain_table(cols, rows)
        if plain is not None:
            assert plain == by_rich(cols, rows), (cols, rows)
            drawn += 1
    assert drawn > (40 if columns != "20" else 5)  # the plain way was taken, not only rich


@pytest.mark.parametrize("cell", ["[bold]x[/bold]", r"\[x]", "é", "a  b", " a", "tab\there",
                                  ":smile:"])
def test_what_only_rich_can_draw_is_left_to_it(cell: str) -> None:
    assert output.plain_table(["name"], [[cell]]) is None
    assert output.plain_table(["name"], []) is None


@pytest.mark.parametrize("markup", [
    "On branch [bold]main[/bold] [yellow](protected)[/yellow] at 0b8126714b",
    "  database [bold]main[/bold]: 2 tables, 0 views, 2 change sets; tenants: 4 "
    "([yellow]3 behind[/yellow]: run `cinch sync`; [red]1 drifted[/red]: see `cinch tenant "
    "list`, then `cinch tenant repair NAME --dry-run`)",
    "[yellow]Plain git is not checked in this clone[/yellow] (missing: pre-commit, merge "
    "driver): run `cinch hooks install`",
    "x" * 500,
])
def test_lines_as_rich_prints_them(markup: str) -> None:
    plain = output.plain_line(markup)
    assert plain is not None
    assert plain + "\n" == line_by_rich(markup)


@pytest.mark.parametrize("markup", ["[bold]a[b]c[/bold]", "a:smile:b", "naïve", "[link=x]y"])
def test_lines_only_rich_can_print_are_left_to_it(markup: str) -> None:
    assert output.plain_line(markup) is None
