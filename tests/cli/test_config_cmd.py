"""`cinch config` through the CLI's entry point: cinch.toml settings listed, read, set and
unset as commits, checked with the git binary; every refusal leaves the repository as it was.

The entry point runs in this process (the same code and rendering, without an interpreter's
start per call); the tests about exit codes and output streams run the real `cinch` command."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import cinch
from tests.conftest import CliResult, assert_refused, run_cinch

Cli = Callable[..., CliResult]
Git = Callable[..., str]
Snapshot = Callable[[Path], dict[str, bytes]]


@pytest.fixture
def cli(cli_in_process: Cli) -> Cli:
    return cli_in_process


@pytest.fixture
def acme(make_project: Callable[..., Path]) -> Path:
    return make_project("users")


def toml_at(git: Git, root: Path, rev: str) -> dict[str, Any]:
    return tomllib.loads(git("show", f"{rev}:cinch.toml", cwd=root))


def head(git: Git, root: Path, rev: str = "HEAD") -> str:
    return git("rev-parse", rev, cwd=root).strip()


def test_list_get_set_unset_round_trip(acme: Path, cli: Cli, git: Git) -> None:
    listed = json.loads(cli("config", "-f", "json", cwd=acme, check=True).stdout)
    assert {r["key"]: r["value"] for r in listed} == {
        "format": 1, "name": "users", "databases": ["main"], "author.name": "",
        "author.email": "", "branches.protected": [], "tenants.snapshot_retention_days": 30,
        "limits.query_timeout_ms": 5000, "limits.max_query_rows": 10_000,
        "limits.max_batch_statements": 100}
    before = head(git, acme)

    result = cli("config", "merge.approvals.main", "2", cwd=acme, check=True)
    assert result.stdout.startswith("✓ merge.approvals.main = 2 on main (commit ")
    assert git("log", "-1", "--format=%s", cwd=acme).strip() == "Set merge.approvals.main = 2"
    assert head(git, acme, "HEAD~1") == before
    assert toml_at(git, acme, "HEAD")["merge"]["approvals"] == {"main": 2}
    assert git("status", "--porcelain", cwd=acme) == ""  # the work tree followed the commit
    with cinch.open(acme) as project:  # what an HTTP merge request into main requires
        assert project.config("main").merge.approvals == {"main": 2}

    assert cli("config", "merge.approvals.main", cwd=acme, check=True).stdout == "2\n"
    got = json.loads(cli("config", "merge.approvals.main", "-f", "json", cwd=acme).stdout)
    assert got == {"key": "merge.approvals.main", "value": 2}
    listed = json.loads(cli("config", "-f", "json", cwd=acme, check=True).stdout)
    assert {"key": "merge.approvals.main", "value": 2} in listed

    result = cli("config", "--unset", "merge.approvals.main", cwd=acme, check=True)
    assert result.stdout.startswith("✓ merge.approvals.main unset on main")
    assert git("log", "-1", "--format=%s", cwd=acme).strip() == "Unset merge.approvals.main"
    assert toml_at(git, acme, "HEAD")["merge"] == {"approvals": {}}
    assert_refused(cli("config", "merge.approvals.main", cwd=acme),
                   ["merge.approvals.main is not set on branch main"])


def test_lists_and_numbers_and_text(acme: Path, cli: Cli, git: Git) -> None:
    cli("config", "branches.protected", "main, release", cwd=acme, check=True)
    cli("config", "tenants.snapshot_retention_days", "7", cwd=acme, check=True)
    cli("config", "author.name", "Ann Lee", cwd=acme, check=True)
    config = toml_at(git, acme, "HEAD")
    assert config["branches"]["protected"] == ["main", "release"]
    assert config["tenants"]["snapshot_retention_days"] == 7
    assert config["author"]["name"] == "Ann Lee"
    assert cli("config", "branches.protected", cwd=acme).stdout == "main,release\n"
    assert git("log", "-1", "--format=%an", cwd=acme).strip() == "Cinch Tester"
    cli("config", "--unset", "branches.protected", cwd=acme, check=True)
    assert git("log", "-1", "--format=%an %s", cwd=acme).strip() == \
        "Ann Lee Unset branches.protected"  # the committed author signs from now on
    assert toml_at(git, acme, "HEAD")["branches"]["protected"] == []


def test_list_formats(acme: Path, cli: Cli) -> None:
    cli("config", "branches.protected", "main,release", cwd=acme, check=True)
    table = cli("config", cwd=acme, check=True).stdout
    assert "tenants.snapshot_retention_days" in table and "main, release" in table
    rows = list(csv.DictReader(io.StringIO(cli("config", "-f", "csv", cwd=acme).stdout)))
    assert {"key": "branches.protected", "value": "main,release"} in rows
    data = yaml.safe_load(cli("--format", "yaml", "config", cwd=acme, check=True).stdout)
    assert {"key": "branches.protected", "value": ["main", "release"]} in data


def test_the_same_value_commits_nothing(acme: Path, cli: Cli, git: Git,
                                        snapshot: Snapshot) -> None:
    cli("config", "merge.approvals.main", "1", cwd=acme, check=True)
    before = snapshot(acme)
    result = cli("config", "merge.approvals.main", "1", cwd=acme, check=True)
    assert result.stdout == "merge.approvals.main is already 1 on main; nothing to commit\n"
    result = cli("config", "--unset", "merge.approvals.dev", "-f", "json", cwd=acme, check=True)
    assert json.loads(result.stdout)["changed"] is False
    assert snapshot(acme) == before


def test_branch_option_acts_on_another_branch(acme: Path, cli: Cli, git: Git) -> None:
    cli("branch", "feature", cwd=acme, check=True)
    main = head(git, acme, "main")
    result = cli("config", "merge.approvals.main", "3", "--branch", "feature", "-f", "json",
                 cwd=acme, check=True)
    body = json.loads(result.stdout)
    assert body["branch"] == "feature" and body["changed"] and body["value"] == 3
    assert head(git, acme, "feature") == body["commit"]
    assert head(git, acme, "main") == main
    assert toml_at(git, acme, "feature")["merge"]["approvals"] == {"main": 3}
    assert toml_at(git, acme, "main")["merge"]["approvals"] == {}
    assert cli("config", "merge.approvals.main", "-b", "feature", cwd=acme).stdout == "3\n"


def test_quiet_prints_nothing(acme: Path, git: Git) -> None:
    result = run_cinch("-q", "config", "merge.approvals.main", "1", cwd=acme, check=True)
    assert result.stdout == "" and toml_at(git, acme, "HEAD")["merge"]["approvals"]


# (id, arguments, words the error line must contain, words the hint must contain)
BAD: list[tuple[str, list[str], list[str], list[str]]] = [
    ("negative", ["config", "merge.approvals.main", "-1"],
     ["merge.approvals.main", "'-1'", "greater than or equal to 0"], ["whole number"]),
    ("not-a-number", ["config", "merge.approvals.main", "two"],
     ["merge.approvals.main", "'two'", "not a whole number"], []),
    ("retention", ["config", "tenants.snapshot_retention_days", "soon"],
     ["tenants.snapshot_retention_days", "not a whole number"], []),
    ("zero-rows", ["config", "limits.max_query_rows", "0"],
     ["limits.max_query_rows", "'0'", "greater than or equal to 1"], ["whole number"]),
    ("bad-branch-name", ["config", "branches.protected", "main,bad name"],
     ["branches.protected", "'bad name'", "not a valid git branch name"], []),
    ("bad-pattern", ["config", "merge.approvals.a..b", "1"], ["'a..b'"], ["glob"]),
    ("unknown-key", ["config", "merge.aprovals.main", "1"],
     ["no setting named 'merge.aprovals.main'"],
     ["did you mean merge.approvals.main?", "tenants.snapshot_retention_days"]),
    ("unknown-key-get", ["config", "author.nme"], ["no setting named 'author.nme'"],
     ["author.name"]),
    ("databases", ["config", "databases", "main,billing"], ["databases is read-only"],
     ["cinch db create"]),
    ("name", ["config", "name", "other"], ["name is read-only"], []),
    ("unset-read-only", ["config", "--unset", "format"], ["format cannot be unset"], []),
    ("unset-with-value", ["config", "--unset", "merge.approvals.main", "1"], ["--unset"], []),
    ("unset-nothing", ["config", "--unset"], ["--unset"], []),
    ("unknown-branch", ["config", "merge.approvals.main", "1", "-b", "nosuch"],
     ["no branch named 'nosuch'"], []),
    ("author-brackets", ["config", "author.email", "<ann@x>"], ["author.email", "'<'"], []),
]


@pytest.mark.parametrize(("args", "words", "hint"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_input_is_refused_and_changes_nothing(
        acme: Path, cli: Cli, git: Git, snapshot: Snapshot, args: list[str], words: list[str],
        hint: list[str]) -> None:
    before, tip = snapshot(acme), head(git, acme)
    result = cli(*args, cwd=acme)
    assert_refused(result, words)
    hints = "\n".join(line for line in result.stderr.splitlines() if line.startswith("hint:"))
    for word in hint:
        assert word in hints, f"{word!r} not in {hints!r}"
    assert head(git, acme) == tip
    assert snapshot(acme) == before


def test_error_in_json_carries_the_stable_code(acme: Path, snapshot: Snapshot) -> None:
    before = snapshot(acme)
    result = run_cinch("config", "merge.approvals.main", "-1", "--format", "json", cwd=acme)
    assert result.rc != 0 and result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "invalid_setting"
    assert error["details"] == {"key": "merge.approvals.main"}
    assert snapshot(acme) == before


def test_uncommitted_cinch_toml_is_refused(acme: Path, cli: Cli, git: Git,
                                           snapshot: Snapshot) -> None:
    path = acme / "cinch.toml"
    path.write_text(path.read_text() + "# a hand edit\n")
    before, tip = snapshot(acme), head(git, acme)
    assert_refused(cli("config", "merge.approvals.main", "1", cwd=acme),
                   ["cinch.toml has uncommitted edits"])
    assert_refused(cli("config", "branches.protected", "main", "-b", "main", cwd=acme),
                   ["cinch.toml has uncommitted edits"])
    assert head(git, acme) == tip and snapshot(acme) == before
    git("checkout", "--", "cinch.toml", cwd=acme)  # discarded: now it goes ahead
    cli("config", "merge.approvals.main", "1", cwd=acme, check=True)
    assert toml_at(git, acme, "HEAD")["merge"]["approvals"] == {"main": 1}
