"""Every bad input: a one-line `error:` naming the problem, an exit code other than 0, and the
repository byte for byte as it was (every file, .git included; .cinch/ local state excluded)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, assert_refused

LONG = "x" * 64
ADULTS = "SELECT id, name FROM users WHERE age >= 18"

# (id, arguments, words the error must contain). The project holds table `users` (name,
# email unique, age), index `users_name_idx` on users.name and view `adults` reading users.
BAD_INPUTS: list[tuple[str, list[str], list[str]]] = [
    # unknown objects
    ("unknown-table-add", ["column", "add", "nosuch", "x", "TEXT"], ["no table", "'nosuch'"]),
    ("unknown-table-show", ["table", "show", "nosuch"], ["no table", "'nosuch'"]),
    ("unknown-table-drop", ["table", "drop", "nosuch"], ["'nosuch'"]),
    ("unknown-column-alter", ["column", "alter", "users", "nosuch", "--type", "TEXT"],
     ["no column", "'nosuch'"]),
    ("unknown-column-index", ["index", "create", "users", "nosuch"], ["no column", "'nosuch'"]),
    ("unknown-view", ["view", "drop", "nosuch"], ["no view", "'nosuch'"]),
    ("unknown-index", ["index", "drop", "nosuch"], ["no index", "'nosuch'"]),
    ("unknown-database", ["--db", "nosuch", "table", "list"], ["no database", "'nosuch'"]),
    ("unknown-database-log", ["--db", "nosuch", "log"], ["no database", "'nosuch'"]),
    ("unknown-database-diff", ["--db", "nosuch", "diff", "HEAD~1", "HEAD"],
     ["no database", "'nosuch'"]),
    ("hostile-database-log", ["--db", "x;y", "log"], ["database name", "not allowed"]),
    ("unknown-reference", ["table", "create", "t", "a:TEXT:references=nosuch.id"],
     ["'nosuch'"]),
    ("unknown-revision", ["diff", "HEAD~99", "HEAD"], ["unknown revision", "HEAD~99"]),
    ("unknown-change", ["show", "ZZZZZZZZZZ"], ["'ZZZZZZZZZZ'"]),
    # duplicates
    ("duplicate-column", ["column", "add", "users", "email", "TEXT"],
     ["already has a column", "'email'"]),
    ("duplicate-column-case", ["column", "add", "users", "EMAIL", "TEXT"], ["'EMAIL'"]),
    ("duplicate-column-in-create", ["table", "create", "t", "a:TEXT", "a:INTEGER"],
     ["duplicate column 'a'"]),
    ("duplicate-table", ["table", "create", "users", "x:TEXT"], ["table named 'users'"]),
    ("table-named-like-view", ["table", "create", "adults", "x:TEXT"],
     ["view named 'adults'"]),
    ("duplicate-index", ["index", "create", "users", "name"],
     ["an index named 'users_name_idx' already exists"]),
    ("duplicate-database", ["db", "create", "main"], ["database 'main' already exists"]),
    ("rename-to-existing", ["column", "rename", "users", "email", "age"], ["'age'"]),
    # branch names git would read as another ref
    ("branch-refs", ["branch", "refs/heads/main"], ["'refs/heads/main'", "another ref"]),
    ("branch-heads", ["branch", "heads/x"], ["another ref"]),
    ("branch-head", ["branch", "HEAD"], ["'HEAD'", "another ref"]),
    ("branch-orig-head", ["switch", "-c", "ORIG_HEAD"], ["another ref"]),
    ("branch-commit-id", ["branch", "a" * 40], ["another ref"]),
    ("branch-lock", ["branch", "x.lock"], ["not a valid git branch name"]),
    # hostile and reserved identifiers
    ("name-double-quote", ["table", "create", 'us"ers', "a:TEXT"], ["'us\"ers'", "not allowed"]),
    ("name-single-quote", ["table", "create", "o'neil", "a:TEXT"], ["not allowed"]),
    ("name-semicolon", ["table", "create", "t; DROP TABLE users", "a:TEXT"], ["not allowed"]),
    ("name-comment", ["table", "create", "t--", "a:TEXT"], ["not allowed"]),
    ("name-sqlite", ["table", "create", "sqlite_master2", "a:TEXT"], ["reserved", "sqlite_"]),
    ("name-sqlite-upper", ["view", "create", "SQLITE_v", "SELECT 1"], ["reserved"]),
    ("name-cinch", ["table", "create", "_cinch_ledger", "a:TEXT"], ["reserved", "_cinch"]),
    ("name-empty", ["table", "create", "", "a:TEXT"], ["table name is empty"]),
    ("name-too-long", ["table", "create", LONG, "a:TEXT"], ["64 characters", "63"]),
    ("name-digit-first", ["table", "create", "1users", "a:TEXT"], ["'1users'"]),
    ("name-space", ["table", "create", "my table", "a:TEXT"], ["'my table'"]),
    ("name-unicode", ["table", "create", "tablé", "a:TEXT"], ["not allowed"]),
    ("column-name-hostile", ["table", "create", "t", 'a"b:TEXT'], ["column name", "not allowed"]),
    ("column-name-empty", ["table", "create", "t", ":TEXT"], ["no name"]),
    ("column-add-hostile", ["column", "add", "users", "x);DROP TABLE users;--", "TEXT"],
     ["not allowed"]),
    ("column-rename-hostile", ["column", "rename", "users", "email", 'e"; DROP'],
     ["not allowed"]),
    ("table-rename-reserved", ["table", "rename", "users", "sqlite_users", "--cascade"],
     ["reserved"]),
    ("index-name-hostile", ["index", "create", "users", "email", "--name", "i;x"],
     ["index name", "not allowed"]),
    ("view-name-too-long", ["view", "create", LONG, "SELECT 1"], ["64 characters"]),
    ("database-name-hostile", ["db", "create", "a-b"], ["database name", "not allowed"]),
    ("database-option-hostile", ["--db", "x;y", "table", "list"], ["database name"]),
    # cinch's own columns
    ("auto-column-drop", ["column", "drop", "users", "id"], ["cinch maintains it"]),
    ("auto-column-alter", ["column", "alter", "users", "updated_at", "--type", "INTEGER"],
     ["cinch maintains it"]),
    ("auto-column-rename-to", ["column", "rename", "users", "age", "created_at"],
     ["maintained by cinch"]),
    ("auto-column-create", ["table", "create", "t", "id:INTEGER"], ["maintained by cinch"]),
    ("primary-key-flag", ["table", "create", "t", "a:TEXT:primary-key"], ["primary key"]),
    # malformed types and column specs
    ("type-injection", ["table", "create", "t", "a:TEXT;DROP TABLE users"], ["malformed"]),
    ("type-parens", ["table", "create", "t", "a:VARCHAR(("], ["malformed"]),
    ("type-unknown", ["table", "create", "t", "a:FOO"], ["'FOO'", "not a SQLite type"]),
    ("type-size", ["table", "create", "t", "a:INTEGER(3)"], ["takes no size"]),
    ("type-any-loose", ["table", "create", "t", "a:ANY"], ["ANY", "STRICT"]),
    ("type-strict", ["table", "create", "t", "a:DATETIME", "--strict"], ["DATETIME", "STRICT"]),
    ("type-alter", ["column", "alter", "users", "age", "--type", "REAL)"], ["malformed"]),
    ("type-add", ["column", "add", "users", "x", "BLOBBY"], ["'BLOBBY'"]),
    ("strict-default", ["table", "create", "t", "n:INTEGER:default=abc", "--strict"],
     ["default 'abc'", "STRICT INTEGER"]),
    ("flag-unknown", ["table", "create", "t", "a:TEXT:bogus"], ["unknown column flag 'bogus'"]),
    ("flag-on-delete", ["table", "create", "t", "a:TEXT:on-delete=explode"], ["on-delete"]),
    ("flag-references-empty", ["table", "create", "t", "a:TEXT:references="], ["references"]),
    ("references-not-unique", ["table", "create", "t", "a:TEXT:references=users.name"],
     ["users.name", "cannot be referenced"]),
    ("alter-nothing", ["column", "alter", "users", "age"], ["nothing to alter"]),
    ("alter-same", ["column", "alter", "users", "name", "--type", "TEXT"], ["nothing to change"]),
    # view SQL: one read-only SELECT that prepares against the schema
    ("view-two-statements", ["view", "create", "v", "SELECT 1; DROP TABLE users"],
     ["one SELECT statement"]),
    ("view-trailing-statement", ["view", "create", "v", "SELECT 1; DELETE FROM users;"],
     ["one SELECT statement"]),
    ("view-comment-tail", ["view", "create", "v", "SELECT 1 -- ; DROP TABLE users"],
     ["trailing -- comment"]),
    ("view-unclosed-quote", ["view", "create", "v", "SELECT 'a; DROP TABLE users"],
     ["unclosed quote"]),
    ("view-attach", ["view", "create", "v", "ATTACH DATABASE 'evil.db' AS evil"],
     ["may only read"]),
    ("view-delete", ["view", "create", "v", "DELETE FROM users"], ["may only read"]),
    ("view-insert", ["view", "create", "v", "INSERT INTO users (name) VALUES ('x')"],
     ["may only read"]),
    ("view-update", ["view", "create", "v", "UPDATE users SET name = 'x'"], ["may only read"]),
    ("view-drop", ["view", "create", "v", "DROP TABLE users"], ["may only read"]),
    ("view-create", ["view", "create", "v", "CREATE TABLE x (a)"], ["may only read"]),
    ("view-pragma", ["view", "create", "v", "PRAGMA writable_schema = 1"], ["may only read"]),
    ("view-load-extension", ["view", "create", "v", "SELECT load_extension('/tmp/evil')"],
     ["may only read"]),
    ("view-cte-delete", ["view", "create", "v", "WITH x AS (SELECT 1) DELETE FROM users"],
     ["may only read"]),
    ("view-unknown-table", ["view", "create", "v", "SELECT * FROM nosuch"],
     ["does not prepare", "no such table: nosuch"]),
    ("view-unknown-column", ["view", "create", "v", "SELECT nosuch FROM users"],
     ["no such column: nosuch"]),
    ("view-empty", ["view", "create", "v", "  ;  "], ["empty"]),
    ("view-replace-injection", ["view", "replace", "adults", f"{ADULTS}; DROP TABLE users"],
     ["one SELECT statement"]),
    ("view-replace-same", ["view", "replace", "adults", ADULTS], ["already has that SQL"]),
    # what a view reads cannot go (without --cascade)
    ("drop-table-read-by-view", ["table", "drop", "users"], ["view 'adults'", "--cascade"]),
    ("drop-column-read-by-view", ["column", "drop", "users", "age"], ["view 'adults'"]),
    ("rename-column-read-by-view", ["column", "rename", "users", "age", "years"],
     ["view 'adults'"]),
    ("rename-table-read-by-view", ["table", "rename", "users", "people"], ["view 'adults'"]),
    ("drop-column-with-index", ["column", "drop", "users", "name"],
     ["'users_name_idx'"]),
]


@pytest.fixture
def users_project(make_project: Callable[..., Path]) -> Path:
    return make_project("users")


@dataclass
class Pristine:
    """One copy of the `users` project for many read-only cases, with its bytes and HEAD."""

    root: Path
    files: dict[str, bytes]
    head: str


@pytest.fixture(scope="module")
def _shared(project_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory,
            snapshot: Callable[[Path], dict[str, bytes]], git: Callable[..., str]) -> Pristine:
    root = tmp_path_factory.mktemp("bad-input") / "acme"
    shutil.copytree(project_templates["users"], root, symlinks=True)
    return Pristine(root, snapshot(root), git("rev-parse", "HEAD", cwd=root))


@pytest.fixture
def pristine(_shared: Pristine, project_templates: dict[str, Path],
             snapshot: Callable[[Path], dict[str, bytes]]) -> Pristine:
    """The shared copy, as it was: a case that changed it (and failed) gets it copied anew."""
    if snapshot(_shared.root) != _shared.files:
        shutil.rmtree(_shared.root)
        shutil.copytree(project_templates["users"], _shared.root, symlinks=True)
    return _shared


def check_bad_input(project: Pristine, run: Callable[..., CliResult], git: Callable[..., str],
                    snapshot: Callable[[Path], dict[str, bytes]], args: list[str],
                    words: list[str]) -> None:
    result = run(*args, cwd=project.root)
    assert_refused(result, words)
    assert git("rev-parse", "HEAD", cwd=project.root) == project.head
    after = snapshot(project.root)
    assert sorted(after) == sorted(project.files), f"{args} added or removed files"
    changed = [path for path in project.files if after[path] != project.files[path]]
    assert changed == [], f"{args} changed {changed}"


@pytest.mark.parametrize(("args", "words"), [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_and_changes_nothing(
        pristine: Pristine, cli_in_process: Callable[..., CliResult], git: Callable[..., str],
        snapshot: Callable[[Path], dict[str, bytes]], args: list[str], words: list[str]) -> None:
    check_bad_input(pristine, cli_in_process, git, snapshot, args, words)


THROUGH_THE_SCRIPT = ["duplicate-column", "name-semicolon", "view-two-statements",
                      "drop-table-read-by-view"]


@pytest.mark.parametrize(("args", "words"),
                         [c[1:] for c in BAD_INPUTS if c[0] in THROUGH_THE_SCRIPT],
                         ids=[c[0] for c in BAD_INPUTS if c[0] in THROUGH_THE_SCRIPT])
def test_bad_input_through_the_console_script(
        pristine: Pristine, cli: Callable[..., CliResult], git: Callable[..., str],
        snapshot: Callable[[Path], dict[str, bytes]], args: list[str], words: list[str]) -> None:
    """The same, through the installed `cinch` in a process of its own."""
    check_bad_input(pristine, cli, git, snapshot, args, words)


def test_errors_in_json_carry_the_stable_code(
        pristine: Pristine, cli: Callable[..., CliResult],
        cli_in_process: Callable[..., CliResult]) -> None:
    result = cli("--format", "json", "table", "create", "x;y", "a:TEXT", cwd=pristine.root)
    assert result.rc != 0 and result.stdout == ""
    body = json.loads(result.stderr)
    assert body["error"]["code"] == "invalid_name" and "'x;y'" in body["error"]["message"]
    result = cli_in_process("view", "create", "v", "DELETE FROM users", "-f", "json",
                            cwd=pristine.root)
    assert json.loads(result.stderr)["error"]["code"] == "invalid_sql"


def test_refused_data_change_names_the_tenant(
        users_project: Path, cli_in_process: Callable[..., CliResult],
        snapshot: Callable[[Path], dict[str, bytes]]) -> None:
    cli = cli_in_process
    for name in ("Ann", "Ann"):
        cli("query", "INSERT INTO users (name) VALUES (?)", "-p", name, cwd=users_project,
            check=True)
    before = snapshot(users_project)
    result = cli("index", "create", "users", "name", "--unique", cwd=users_project)
    assert_refused(result, ["tenant 'main'", "duplicate", "nothing was changed"])
    assert snapshot(users_project) == before


# --- choosing the project -----------------------------------------------------------------


def test_outside_a_project(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("table", "list", cwd=elsewhere)
    assert_refused(result, ["not inside a cinch project", str(elsewhere)])
    assert result.rc == 3
    assert list(elsewhere.iterdir()) == []


def test_dash_c_to_a_non_project(tmp_path: Path, cli: Callable[..., CliResult],
                                 cli_in_process: Callable[..., CliResult]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = cli("-C", str(plain), "table", "create", "t", "a:TEXT", cwd=tmp_path)
    assert_refused(result, ["not inside a cinch project", str(plain)])
    assert list(plain.iterdir()) == []
    missing = cli_in_process("-C", str(tmp_path / "missing"), "status", cwd=tmp_path)
    assert_refused(missing, ["not inside a cinch project"])
    assert not (tmp_path / "missing").exists()


def test_cinch_project_pointing_at_a_non_project(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    result = cli("table", "list", cwd=tmp_path, env={"CINCH_PROJECT": str(tmp_path)})
    assert_refused(result, ["not inside a cinch project", str(tmp_path)])


def test_a_git_repository_is_not_a_project(
        tmp_path: Path, cli: Callable[..., CliResult], git: Callable[..., str]) -> None:
    git("init", "-q", "repo", cwd=tmp_path)
    result = cli("table", "list", cwd=tmp_path / "repo")
    assert_refused(result, ["not inside a cinch project"])


def test_init_into_an_existing_project(
        pristine: Pristine, cli_in_process: Callable[..., CliResult],
        snapshot: Callable[[Path], dict[str, bytes]]) -> None:
    result = cli_in_process("init", pristine.root.name, cwd=pristine.root.parent)
    assert_refused(result, ["already a project"])
    assert snapshot(pristine.root) == pristine.files


# --- hand-edited change files -------------------------------------------------------------


def _change_file(root: Path, message_slug: str) -> Path:
    (path,) = [p for p in (root / "schema/main/changes").iterdir()
               if p.name[27:] == f"{message_slug}.json"]
    return path


def _commit_edit(git: Callable[..., str], root: Path, message: str) -> str:
    """Commit with plain git, past the hooks cinch installs (as a push from elsewhere would)."""
    git("add", "-A", cwd=root)
    git("commit", "-q", "--no-verify", "-m", message, cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def _edit_json(path: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2) + "\n")


EDITS: list[tuple[str, Callable[[Path], None], str]] = [
    ("corrupt-json", lambda p: p.write_text('{"format": 1, "id": '), "not valid JSON"),
    ("bad-name", lambda p: _edit_json(
        p, lambda d: d["operations"][0]["table"].update(name="x; DROP TABLE users")),
     "field operations.0.create_table.table.name"),
    ("bad-type", lambda p: _edit_json(
        p, lambda d: d["operations"][0]["table"]["columns"][1].update(type="FOO")),
     "field operations.0.create_table.table.columns.1"),
    ("unknown-op", lambda p: _edit_json(p, lambda d: d["operations"][0].update(op="explode")),
     "field operations.0"),
    ("extra-field", lambda p: _edit_json(p, lambda d: d.update(evil=True)), "field evil"),
    ("missing-message", lambda p: _edit_json(p, lambda d: d.pop("message")), "field message"),
    ("edited-message", lambda p: _edit_json(p, lambda d: d.update(message="rewritten")),
     "field message"),
    ("edited-sql", lambda p: _edit_json(p, lambda d: d.update(sql=["DROP TABLE users"])),
     "field sql"),
    ("edited-id", lambda p: _edit_json(p, lambda d: d.update(id="01ARZ3NDEKTSV4RRFFQ69G5FAV")),
     "field id"),
]


@pytest.mark.parametrize(("edit", "field"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_hand_edited_committed_change_file(
        users_project: Path, cli_in_process: Callable[..., CliResult], git: Callable[..., str],
        snapshot: Callable[[Path], dict[str, bytes]], edit: Callable[[Path], None],
        field: str) -> None:
    """A committed change file edited (and committed) with plain git is reported, with its
    path and the field at fault, by every command that reads the schema; nothing changes."""
    path = _change_file(users_project, "users")
    rel = path.relative_to(users_project).as_posix()
    edit(path)
    head = _commit_edit(git, users_project, "hand edit")
    before = snapshot(users_project)
    for args in (["table", "list"], ["column", "add", "users", "x", "TEXT"], ["status"]):
        result = cli_in_process(*args, cwd=users_project)
        assert_refused(result, [rel, field])
    assert git("rev-parse", "HEAD", cwd=users_project) == head
    assert snapshot(users_project) == before


def test_hand_written_new_change_file_with_a_bad_field(
        users_project: Path, cli_in_process: Callable[..., CliResult],
        git: Callable[..., str]) -> None:
    source = _change_file(users_project, "users")
    data = json.loads(source.read_text())
    new_id = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
    data.update(id=new_id, message="by hand")
    data["operations"][0]["table"]["columns"][1]["name"] = "sqlite_name"
    target = source.with_name(f"{new_id}-by-hand.json")
    target.write_text(json.dumps(data, indent=2))
    _commit_edit(git, users_project, "a change file written by hand")
    result = cli_in_process("table", "list", cwd=users_project)
    rel = target.relative_to(users_project).as_posix()
    assert_refused(result, [rel, "field operations.0.create_table.table.columns.1.name",
                            "reserved"])


def test_misnamed_and_deleted_change_files(
        users_project: Path, cli_in_process: Callable[..., CliResult],
        git: Callable[..., str]) -> None:
    cli = cli_in_process
    changes = users_project / "schema/main/changes"
    (changes / "notes.json").write_text("{}")
    _commit_edit(git, users_project, "stray file")
    assert_refused(cli("table", "list", cwd=users_project),
                   ["schema/main/changes/notes.json", "<ULID>-<slug>.json"])
    git("reset", "-q", "--hard", "HEAD~1", cwd=users_project)
    gone = _change_file(users_project, "users")
    gone.unlink()
    _commit_edit(git, users_project, "delete a change set")
    assert_refused(cli("table", "list", cwd=users_project),
                   [gone.name[:26], "deleted", "immutable"])
