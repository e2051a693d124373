"""The issue's command list, as written, through the `cinch` command line in a temp folder;
git state checked with pygit2 and with the git binary.

`cinch init` and `cinch status` run the real console script; the commands between call its
entry point in this process (the same code, rendering and exit codes, without an interpreter's
start per command)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
import pytest
import yaml

CHANGE_LINE = re.compile(r"✓ (?P<message>.+) \(change (?P<id>[0-9A-Z]{26}), commit "
                         r"(?P<commit>[0-9a-f]{10}), 1 tenant updated\)")
ADULTS = "SELECT id, name FROM users WHERE age >= 18"

# (label, args): the schema commands of the issue, in order.
SCHEMA_COMMANDS: list[tuple[str, list[str]]] = [
    ("table create", ["table", "create", "users", "name:TEXT", "email:TEXT:unique",
                      "age:INTEGER:not-null:default=0", "-m", "users"]),
    ("column add", ["column", "add", "users", "nickname", "TEXT"]),
    ("column rename", ["column", "rename", "users", "nickname", "handle"]),
    ("column drop", ["column", "drop", "users", "handle"]),
    ("column alter", ["column", "alter", "users", "age", "--type", "REAL"]),
    ("index create", ["index", "create", "users", "email", "--unique"]),
    ("view create", ["view", "create", "adults", ADULTS]),
]


@dataclass
class Acme:
    root: Path
    results: dict[str, Any] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)  # label -> HEAD after it

    def repo(self) -> pygit2.Repository:
        return pygit2.Repository(str(self.root))


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory, cli: Callable[..., Any],
         cli_in_process: Callable[..., Any]) -> Acme:
    """`cinch init acme; cd acme; ...` once for the module; the tests read what it did."""
    base = tmp_path_factory.mktemp("cli")
    init = cli("init", "acme", cwd=base, check=True)
    state = Acme(base / "acme", {"init": init})
    state.commits["init"] = str(state.repo().head.target)

    def run(label: str, *args: str, command: Callable[..., Any] = cli_in_process) -> None:
        state.results[label] = command(*args, cwd=state.root, check=True)
        state.commits[label] = str(state.repo().head.target)

    def read(commands: dict[str, list[str]]) -> None:
        for label, args in commands.items():
            run(label, *args)

    first, first_args = SCHEMA_COMMANDS[0]
    run(first, *first_args)
    # A row in the main tenant, to see it survive the rebuild of `column alter`.
    cli_in_process("query", "INSERT INTO users (name, email, age) VALUES (?, ?, ?)",
                   "-p", "Ann", "-p", "ann@example.com", "-p", "40", cwd=state.root, check=True)
    state.commits["insert"] = str(state.repo().head.target)
    for label, args in SCHEMA_COMMANDS[1:]:
        run(label, *args)
    read({"table list": ["table", "list"], "table show": ["table", "show", "users"],
          "view list": ["view", "list"]})
    run("db create", "db", "create", "analytics")
    run("events", "--db", "analytics", "table", "create", "events", "kind:TEXT")
    alter_id = CHANGE_LINE.search(state.results["column alter"].stdout)
    assert alter_id is not None
    read({"log": ["log"], "show": ["show", alter_id["id"]], "diff": ["diff", "HEAD~3", "HEAD"]})
    run("status", "status", command=cli)
    return state


def change_commits(acme: Acme) -> list[tuple[str, str, str]]:
    """(label, commit before, commit after) of every command that committed a change set."""
    labels = [label for label, _ in SCHEMA_COMMANDS] + ["events"]
    order = list(acme.commits)
    out = []
    for label in labels:
        before = acme.commits[order[order.index(label) - 1]]
        out.append((label, before, acme.commits[label]))
    return out


def test_reading_commands_commit_nothing(acme: Acme) -> None:
    for reader, before in (("insert", "table create"), ("table list", "view create"),
                           ("table show", "view create"), ("view list", "view create"),
                           ("log", "events"), ("show", "events"), ("diff", "events"),
                           ("status", "events")):
        assert acme.commits[reader] == acme.commits[before], reader


# --- the walkthrough ----------------------------------------------------------------------


def test_init_makes_the_first_commit(acme: Acme) -> None:
    assert "cinch project created in" in acme.results["init"].stdout
    repo = acme.repo()
    first = repo.get(acme.commits["init"])
    assert list(first.parent_ids) == []
    assert {"cinch.toml", ".gitignore", "schema"} <= {e.name for e in first.tree}
    assert "schema/main/schema.sql" in first.tree
    assert ".cinch/" in repo.get(first.tree[".gitignore"].id).data.decode()


def test_each_schema_command_commits_its_change_file_and_schema_sql(acme: Acme) -> None:
    repo = acme.repo()
    for label, before, after in change_commits(acme):
        line = CHANGE_LINE.search(acme.results[label].stdout)
        assert line, acme.results[label].stdout
        assert after.startswith(line["commit"])
        commit = repo.get(after)
        assert [str(p) for p in commit.parent_ids] == [before], label
        db = "analytics" if label == "events" else "main"
        diff = repo.diff(repo.get(before).tree, commit.tree)
        paths = sorted(d.delta.new_file.path for d in diff)
        assert len(paths) == 2 and paths[1] == f"schema/{db}/schema.sql", (label, paths)
        assert re.fullmatch(rf"schema/{db}/changes/{line['id']}-[a-z0-9-]+\.json", paths[0])
        data = json.loads(repo.get(commit.tree[paths[0]].id).data)
        assert data["id"] == line["id"] and data["message"] == line["message"]
        assert data["database"] == db and data["sql"]
        assert data["author"] == {"name": "Cinch Tester", "email": "tester@example.com"}
        assert f"Cinch-Change: {line['id']}" in commit.message
    assert acme.results["table create"].stdout.startswith("✓ users (change ")


def test_db_create_commits_cinch_toml_and_a_schema(acme: Acme) -> None:
    repo = acme.repo()
    commit = repo.get(acme.commits["db create"])
    diff = repo.diff(repo.get(acme.commits["view create"]).tree, commit.tree)
    assert sorted(d.delta.new_file.path for d in diff) == ["cinch.toml",
                                                           "schema/analytics/schema.sql"]
    assert "analytics" in repo.get(commit.tree["cinch.toml"].id).data.decode()


def test_schema_sql_in_the_work_tree(acme: Acme) -> None:
    main = (acme.root / "schema/main/schema.sql").read_text()
    assert '"age" REAL NOT NULL DEFAULT 0' in main
    assert "nickname" not in main and "handle" not in main
    assert 'CREATE UNIQUE INDEX "users_email_uniq" ON "users" ("email");' in main
    assert f'CREATE VIEW "adults" AS {ADULTS};' in main
    analytics = (acme.root / "schema/analytics/schema.sql").read_text()
    assert 'CREATE TABLE "events"' in analytics and "users" not in analytics


def test_rebuild_kept_the_row(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    cli = cli_in_process
    out = cli("query", "SELECT name, email, age, typeof(age) AS t FROM users", "-f", "json",
              cwd=acme.root, check=True)
    assert json.loads(out.stdout) == [
        {"name": "Ann", "email": "ann@example.com", "age": 40.0, "t": "real"}]
    adults = cli("query", "SELECT name FROM adults", "-f", "json", cwd=acme.root, check=True)
    assert json.loads(adults.stdout) == [{"name": "Ann"}]


# --- plain git sees it all ----------------------------------------------------------------


def test_git_binary_log_stat_and_show(acme: Acme, git: Callable[..., str]) -> None:
    log = git("log", "--stat", cwd=acme.root)
    for label, _, _ in change_commits(acme):
        line = CHANGE_LINE.search(acme.results[label].stdout)
        assert line is not None and line["id"] in log, label
    assert log.count("schema/main/schema.sql") == 8  # init + 7 changes
    assert "Initialize cinch project" in log
    assert git("log", "--format=%an <%ae>", cwd=acme.root).splitlines() == \
        ["Cinch Tester <tester@example.com>"] * 10
    head = git("show", "HEAD", cwd=acme.root)
    assert "Cinch-Database: analytics" in head
    assert "schema/analytics/changes/" in head
    assert '+CREATE TABLE "events" (' in head  # the SQL, in schema.sql's diff
    assert '"CREATE TABLE \\"events\\" (' in head  # and in the change file
    alter = git("show", acme.commits["column alter"], cwd=acme.root)
    assert '-  "age" INTEGER NOT NULL DEFAULT 0,' in alter
    assert '+  "age" REAL NOT NULL DEFAULT 0,' in alter
    assert "_cinch_new_users" in alter  # the rebuild's statements are in the change file


def test_git_state_is_clean_and_sound(acme: Acme, git: Callable[..., str]) -> None:
    assert git("status", "--porcelain", "--untracked-files=all", cwd=acme.root) == ""
    git("fsck", "--strict", "--no-dangling", cwd=acme.root)
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=acme.root).strip() == "main"
    assert git("check-ignore", ".cinch/x", cwd=acme.root).strip() == ".cinch/x"
    repo = acme.repo()
    assert repo.status() == {} or all(
        flags == pygit2.enums.FileStatus.IGNORED for flags in repo.status().values())
    assert not repo.head_is_detached and repo.head.shorthand == "main"


# --- listing and reading ------------------------------------------------------------------


def test_table_list_in_every_format(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    cli = cli_in_process
    table = acme.results["table list"].stdout
    assert "users" in table and "columns" in table
    as_json = json.loads(cli("table", "list", "--format", "json", cwd=acme.root,
                             check=True).stdout)
    assert [(t["name"], t["columns"], t["indexes"], t["strict"]) for t in as_json] == [
        ("users", 6, 1, False)]
    assert as_json[0]["id"] in table
    as_yaml = yaml.safe_load(cli("table", "list", "--format", "yaml", cwd=acme.root,
                                 check=True).stdout)
    assert as_yaml == as_json
    global_json = json.loads(cli("--format", "json", "table", "list", cwd=acme.root,
                                 check=True).stdout)
    assert global_json == as_json
    csv = cli("table", "list", "-f", "csv", cwd=acme.root, check=True).stdout
    assert csv.splitlines()[0] == "name,columns,indexes,strict,id"


def test_table_show(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    text = acme.results["table show"].stdout
    for word in ("table users", "email", "REAL", "UUID", "users_email_uniq"):
        assert word in text
    data = json.loads(cli_in_process("table", "show", "users", "-f", "json", cwd=acme.root,
                                     check=True).stdout)
    assert [(c["name"], c["type"]) for c in data["columns"]] == [
        ("id", "TEXT"), ("name", "TEXT"), ("email", "TEXT"), ("age", "REAL"),
        ("created_at", "TEXT"), ("updated_at", "TEXT")]
    age = data["columns"][3]
    assert (age["not_null"], age["default"]) == (True, 0)
    assert data["indexes"] == [{"name": "users_email_uniq", "columns": ["email"],
                                "unique": True}]


def test_view_list_and_db_list(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    cli = cli_in_process
    text = acme.results["view list"].stdout
    assert "adults" in text and ADULTS in text
    assert json.loads(cli("view", "list", "-f", "json", cwd=acme.root, check=True).stdout) == [
        {"name": "adults", "sql": ADULTS}]
    assert yaml.safe_load(cli("view", "list", "-f", "yaml", cwd=acme.root,
                              check=True).stdout) == [{"name": "adults", "sql": ADULTS}]
    dbs = json.loads(cli("db", "list", "-f", "json", cwd=acme.root, check=True).stdout)
    assert dbs == [{"name": "main", "tables": 1, "views": 1, "indexes": 1},
                   {"name": "analytics", "tables": 1, "views": 0, "indexes": 0}]
    events = json.loads(cli("--db", "analytics", "table", "list", "-f", "json", cwd=acme.root,
                            check=True).stdout)
    assert [t["name"] for t in events] == ["events"]


def test_log(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    cli = cli_in_process
    lines = acme.results["log"].stdout.strip().splitlines()
    assert len(lines) == 8
    assert lines[0].startswith(acme.commits["events"][:10]) and "Create table events" in lines[0]
    assert lines[-1].startswith(acme.commits["table create"][:10]) and " users " in lines[-1]
    data = json.loads(cli("log", "-f", "json", cwd=acme.root, check=True).stdout)
    assert [d["commit"] for d in data] == [acme.commits[label] for label, _, _ in
                                           reversed(change_commits(acme))]
    assert data[0]["changes"][0]["database"] == "analytics"
    assert len(json.loads(cli("log", "-n", "2", "-f", "json", cwd=acme.root,
                              check=True).stdout)) == 2
    everything = json.loads(cli("log", "--all-commits", "-f", "json", cwd=acme.root,
                                check=True).stdout)
    assert len(everything) == 10


def test_show_a_change_and_a_commit(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    line = CHANGE_LINE.search(acme.results["column alter"].stdout)
    assert line is not None
    by_id = acme.results["show"].stdout
    assert by_id.startswith(f"change {line['id']} (main): Alter column users.age")
    assert 'CREATE TABLE "_cinch_new_users" (' in by_id and '"age" REAL NOT NULL' in by_id
    assert 'ALTER TABLE "_cinch_new_users" RENAME TO "users";' in by_id
    by_commit = cli_in_process("show", acme.commits["column alter"][:12], cwd=acme.root,
                               check=True).stdout
    assert by_commit.startswith(f"commit {acme.commits['column alter']}")
    assert f"change {line['id']}" in by_commit
    by_prefix = cli_in_process("show", line["id"][:10], "-f", "json", cwd=acme.root,
                               check=True).stdout
    data = json.loads(by_prefix)
    assert data["kind"] == "change" and data["commit"] == acme.commits["column alter"]
    head = json.loads(cli_in_process("show", "HEAD", "-f", "json", cwd=acme.root,
                                     check=True).stdout)
    assert head["kind"] == "commit" and head["changes"][0]["database"] == "analytics"


def test_diff(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    cli = cli_in_process
    patch = acme.results["diff"].stdout
    assert "--- HEAD~3:schema/main/schema.sql" in patch
    assert f'+CREATE VIEW "adults" AS {ADULTS};' in patch
    assert '+CREATE TABLE "events" (' in patch
    data = json.loads(cli("diff", "HEAD~3", "HEAD", "-f", "json", cwd=acme.root,
                          check=True).stdout)
    kinds = {d["database"]: [x["kind"] for x in d["diff"]] for d in data["databases"]}
    assert kinds == {"main": ["view_added"], "analytics": ["table_added"]}
    structured = cli("diff", "HEAD~3", "HEAD", "--structured", cwd=acme.root, check=True).stdout
    assert "view_added" in structured and "adults" in structured
    assert cli("diff", cwd=acme.root, check=True).stdout == ""


def test_status(acme: Acme, cli_in_process: Callable[..., Any]) -> None:
    text = acme.results["status"].stdout
    assert text.startswith(f"On branch main at {acme.commits['events'][:10]}")
    assert "database main: 1 tables, 1 views, 7 change sets; tenants: 1 (all up to date)" in text
    assert "database analytics: 1 tables, 0 views, 1 change sets" in text
    data = json.loads(cli_in_process("status", "-f", "json", cwd=acme.root, check=True).stdout)
    assert data["branch"] == "main" and data["head"] == acme.commits["events"]
    assert data["uncommitted"] == []


# --- dry runs and choosing the project ----------------------------------------------------


def test_dry_run_prints_sql_and_changes_nothing(
        acme: Acme, tmp_path: Path, cli: Callable[..., Any],
        cli_in_process: Callable[..., Any], snapshot: Callable[[Path], dict[str, bytes]]) -> None:
    root = tmp_path / "acme"
    shutil.copytree(acme.root, root)
    before = snapshot(root)
    out = cli("table", "create", "t", "a:TEXT", "--dry-run", cwd=root, check=True)
    assert out.stdout.startswith('CREATE TABLE "t" (\n')
    assert out.stdout.rstrip().endswith("END;")
    assert "dry run" in out.stderr
    cli = cli_in_process
    out = cli("column", "alter", "users", "age", "--type", "TEXT", "--dry-run", cwd=root,
              check=True)
    assert 'DROP VIEW "adults";' in out.stdout and 'RENAME TO "users";' in out.stdout
    data = json.loads(cli("view", "drop", "adults", "--dry-run", "-f", "json", cwd=root,
                          check=True).stdout)
    assert data["dry_run"] is True and data["commit"] is None
    assert data["sql"] == ['DROP VIEW "adults"']
    cli("db", "create", "other", "--dry-run", cwd=root, check=True)
    assert snapshot(root) == before


def test_project_is_found_by_dash_c_env_and_parent_folders(
        acme: Acme, cli: Callable[..., Any], cli_in_process: Callable[..., Any]) -> None:
    def names(result: Any) -> list[str]:
        return [t["name"] for t in json.loads(result.stdout)]

    parent = acme.root.parent
    assert names(cli("-C", "acme", "table", "list", "-f", "json", cwd=parent,
                     check=True)) == ["users"]
    assert names(cli("table", "list", "-f", "json", cwd=parent,
                     env={"CINCH_PROJECT": str(acme.root)}, check=True)) == ["users"]
    assert names(cli_in_process("table", "list", "-f", "json",
                                cwd=acme.root / "schema" / "main", check=True)) == ["users"]
    assert names(cli_in_process("-C", str(acme.root), "--db", "analytics", "table", "list",
                                "-f", "json", cwd=parent, check=True)) == ["events"]
