"""The CLI as a new user meets it: help, version, mistakes and their hints, output for
spreadsheets and logs, several statements at once, the server's start, and the rules on names,
defaults and generated files. Through the real entry point (`main`, in this process where the
output is all that matters; the `cinch` command where the terminal or the process matters)."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import socket
import subprocess
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pygit2
import pytest
import yaml

from tests.conftest import CINCH_COMMAND, Cli, assert_refused

HELPS = [[], ["table", "create"], ["query"], ["serve"], ["merge"], ["tenant", "create"],
         ["branch"], ["log"], ["keys", "create"]]


@pytest.mark.parametrize("command", HELPS, ids=lambda c: " ".join(c) or "cinch")
def test_help_shows_flags_as_flags_and_each_default_once(command: list[str],
                                                         cli_in_process: Cli,
                                                         tmp_path: Path) -> None:
    result = cli_in_process(*command, "--help", cwd=tmp_path)
    assert result.rc == 0 and result.stderr == "", str(result)
    text = result.stdout
    # typer's own spellings of Python types are not how a command line names its values
    assert not any(t in text for t in ("<bool>", "<str>", "<int>", "<float>", "<path>",
                                       "list[", "<table|")), text
    for line in text.splitlines():
        assert not ("(default" in line and "[default" in line), line
    if not command:
        assert "-q, --quiet" in text and "--version" in text
        assert "-f, --format [table|json|yaml|csv]" in text


def test_cinch_alone_prints_help_and_succeeds(cli: Cli, tmp_path: Path) -> None:
    result = cli(cwd=tmp_path)
    assert result.rc == 0, str(result)
    assert result.stdout.startswith("Usage: cinch") and "Commands:" in result.stdout
    assert result.stderr == ""


def test_version(cli_in_process: Cli, tmp_path: Path) -> None:
    result = cli_in_process("--version", cwd=tmp_path)
    assert result.rc == 0
    assert result.stdout == f"cinch {version('cinch')}\n"


@pytest.mark.parametrize(("args", "hint"), [
    (["table", "create", "users", "name:TEXT", "--bogus"], "cinch table create --help"),
    (["table", "create"], "cinch table create --help"),
    (["-C", ".", "tenant", "list", "acme", "extra"], "cinch tenant list --help"),
    (["table", "creat", "users"], "cinch table --help"),
    (["nope"], "cinch --help"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_usage_error_hints_at_the_command_not_its_arguments(
        args: list[str], hint: str, cli_in_process: Cli, tmp_path: Path) -> None:
    result = cli_in_process(*args, cwd=tmp_path)
    assert_refused(result, [])
    assert result.rc == 2
    assert result.stderr.splitlines()[1] == f"hint: see `{hint}`"


def test_csv_cells_are_flat(make_project: Callable[..., Path], cli_in_process: Cli) -> None:
    root = make_project("users")
    for args in (["log"], ["table", "list"], ["branch"], ["index", "list"], ["status"]):
        result = cli_in_process(*args, "-f", "csv", cwd=root)
        assert result.rc == 0, str(result)
        rows = list(csv.reader(io.StringIO(result.stdout)))
        cells = [cell for row in rows[1:] for cell in row]
        assert cells, str(result)
        for cell in cells:
            assert cell not in ("None", "True", "False"), (args, cell)
            assert not cell.startswith(("[", "{", "(")), (args, cell)
    log = list(csv.DictReader(io.StringIO(cli_in_process("log", "-f", "csv", cwd=root).stdout)))
    ids = [c["id"] for c in json.loads(cli_in_process("log", "-f", "json",
                                                      cwd=root).stdout)[0]["changes"]]
    assert log[0]["changes"] == ", ".join(ids)
    tables = list(csv.DictReader(io.StringIO(
        cli_in_process("table", "list", "-f", "csv", cwd=root).stdout)))
    assert tables[0]["strict"] == "false"


def test_a_long_apply_writes_progress_lines_to_a_log(make_project: Callable[..., Path],
                                                     cli: Cli) -> None:
    root = make_project("users")
    names = [f"t{i:02d}" for i in range(24)]
    assert cli("tenant", "create", *names, cwd=root).rc == 0
    result = cli("column", "add", "users", "nick:TEXT", cwd=root)  # stdout, stderr: pipes
    assert result.rc == 0, str(result)
    lines = result.stderr.splitlines()
    assert lines, "an apply to 25 tenants said nothing on stderr"
    assert lines[-1] == "applying to tenants: 25/25"
    assert all(re.fullmatch(r"applying to tenants: \d+/25", line) for line in lines), lines
    quiet = cli("-q", "column", "add", "users", "city:TEXT", cwd=root)
    assert quiet.rc == 0 and quiet.stderr == ""


def test_batch_and_query_file_run_all_statements_or_none(make_project: Callable[..., Path],
                                                         cli_in_process: Cli) -> None:
    root = make_project("users")
    good = root / "good.sql"
    good.write_text("INSERT INTO users (name, email) VALUES ('Ann; Lee', 'a@x');\n"
                    "-- a comment between statements\n"
                    "INSERT INTO users (name, email) VALUES ('Bob', 'b@x');\n")
    assert cli_in_process("query", "--file", str(good), cwd=root).rc == 0
    bad = root / "bad.sql"
    bad.write_text("INSERT INTO users (name, email) VALUES ('Cy', 'c@x');\n"
                   "INSERT INTO users (name, email) VALUES ('Dup', 'a@x');\n")
    refused = cli_in_process("query", "--file", str(bad), cwd=root)
    assert_refused(refused, ["statement 2 of 2", "none of the batch was kept"])
    refused = cli_in_process("batch", "INSERT INTO users (name) VALUES ('Dee')",
                             "INSERT INTO nowhere VALUES (1)", cwd=root)
    assert_refused(refused, ["statement 2 of 2"])
    count = cli_in_process("query", "SELECT name FROM users ORDER BY name", "-f", "json",
                           cwd=root)
    assert [r["name"] for r in json.loads(count.stdout)] == ["Ann; Lee", "Bob"]
    out = cli_in_process("batch", "UPDATE users SET age = 40", "SELECT count(*) AS n FROM users",
                         "-f", "json", cwd=root)
    assert [r["rowcount"] for r in json.loads(out.stdout)] == [2, 1]
    assert json.loads(out.stdout)[1]["rows"] == [{"n": 2}]
    one = cli_in_process("query", "SELECT 1; SELECT 2", cwd=root)
    assert_refused(one, ["exactly one SQL statement"])
    assert "cinch batch" in one.stderr
    assert_refused(cli_in_process("query", cwd=root), ["--file"])


def test_serve_on_a_taken_port_says_only_that(make_project: Callable[..., Path],
                                              cli: Cli) -> None:
    root = make_project("users")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), cwd=root)
    assert_refused(result, [f"port {port} on 127.0.0.1 is in use"])
    assert "serving" not in result.stderr


def test_serve_without_a_key_warns_and_says_how_to_make_one(
        make_project: Callable[..., Path]) -> None:
    root = make_project("users")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([*CINCH_COMMAND, "serve", "--port", str(port)], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 90
        assert proc.stderr is not None
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("warning:"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    warning = next((line for line in seen if line.startswith("warning:")), "")
    assert "no API key" in warning and "cinch keys create" in warning, seen


def test_log_of_a_fresh_project_says_there_is_no_history(make_project: Callable[..., Path],
                                                         cli_in_process: Cli) -> None:
    root = make_project("empty")
    result = cli_in_process("log", cwd=root)
    assert result.rc == 0 and result.stdout == ""
    assert result.stderr.startswith("no history yet")
    assert json.loads(cli_in_process("log", "-f", "json", cwd=root).stdout) == []


def test_deleting_the_current_branch_hints_at_a_way_out(make_project: Callable[..., Path],
                                                        cli_in_process: Cli) -> None:
    root = make_project("users")
    only = cli_in_process("branch", "-d", "main", cwd=root)
    assert_refused(only, ["it is the current branch"])
    assert "only branch" in only.stderr and "cinch switch main" not in only.stderr
    assert cli_in_process("switch", "-c", "feature", cwd=root).rc == 0
    other = cli_in_process("branch", "-d", "feature", cwd=root)
    assert_refused(other, ["it is the current branch"])
    assert "`cinch switch main`" in other.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["table", "create", "café", "name:TEXT"], ["ASCII letters"]),
    (["tenant", "create", "café"], ["ASCII letters"]),
    (["column", "add", "users", "qty:INTEGER:default=abc"], ["is not a number", "INTEGER"]),
    (["column", "add", "users", "price:REAL:default=cheap"], ["is not a number"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] in
    ("table", "tenant", "column", "index") else "")
def test_names_defaults_and_indexes_refused_plainly(args: list[str], words: list[str],
                                                    make_project: Callable[..., Path],
                                                    cli_in_process: Cli) -> None:
    root = make_project("users")
    head = pygit2.Repository(str(root)).head.target
    assert_refused(cli_in_process(*args, cwd=root), words)
    assert pygit2.Repository(str(root)).head.target == head


def test_a_unique_index_on_a_unique_column_is_made_with_a_warning(
        make_project: Callable[..., Path], cli_in_process: Cli) -> None:
    root = make_project("users")
    result = cli_in_process("index", "create", "users", "email", "--unique", cwd=root)
    assert result.rc == 0, str(result)
    assert result.stderr.startswith("warning: users.email is UNIQUE already"), str(result)
    key = cli_in_process("index", "create", "users", "id", "--unique", "--dry-run", cwd=root)
    assert key.stderr.startswith("warning: users.id is the primary key already"), str(key)
    plain = cli_in_process("index", "create", "users", "email", "name", "--unique", cwd=root)
    assert plain.rc == 0 and "warning" not in plain.stderr, str(plain)


def test_a_default_that_fits_and_an_sql_keyword_as_a_name(make_project: Callable[..., Path],
                                                          cli_in_process: Cli) -> None:
    root = make_project("users")
    for args in (["column", "add", "users", "qty:INTEGER:default=3"],
                 ["column", "add", "users", "code:TEXT:default=12"],
                 ["table", "create", "order", "total:REAL:default=0"],
                 ["index", "create", "order", "total"]):
        assert cli_in_process(*args, cwd=root).rc == 0, args
    sql = (root / "schema" / "main" / "schema.sql").read_text()
    assert 'CREATE TABLE "order"' in sql and 'ON "order"' in sql
    assert cli_in_process("query", 'INSERT INTO "order" (total) VALUES (2.5)', cwd=root).rc == 0
    rows = cli_in_process("query", 'SELECT total FROM "order"', "-f", "json", cwd=root)
    assert json.loads(rows.stdout) == [{"total": 2.5}]


def test_hand_edits_of_schema_sql_are_refused_and_kept(make_project: Callable[..., Path],
                                                       cli_in_process: Cli) -> None:
    root = make_project("users")
    path = root / "schema" / "main" / "schema.sql"
    edited = path.read_text() + "-- my note\n"
    path.write_text(edited)
    head = pygit2.Repository(str(root)).head.target
    result = cli_in_process("column", "add", "users", "nick:TEXT", cwd=root)
    assert_refused(result, ["schema/main/schema.sql has uncommitted edits"])
    assert "git checkout -- schema/main/schema.sql" in result.stderr
    assert pygit2.Repository(str(root)).head.target == head
    assert path.read_text() == edited
    # a dry run changes nothing, so it still shows the SQL
    assert cli_in_process("column", "add", "users", "nick:TEXT", "--dry-run", cwd=root).rc == 0


def test_a_long_apply_at_a_terminal_shows_a_bar_and_clears_it(make_project: Callable[..., Path],
                                                              cli_in_process: Cli) -> None:
    root = make_project("users")
    names = [f"t{i:02d}" for i in range(24)]
    assert cli_in_process("tenant", "create", *names, cwd=root).rc == 0
    # stderr a real terminal (a pseudo-terminal), stdout a pipe, as in `cinch ... | less`.
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    with subprocess.Popen([*CINCH_COMMAND, "column", "add", "users", "nick:TEXT"], cwd=root,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower,
                          env=env) as proc:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not chunk:
                break
            shown += chunk
        out = proc.stdout.read().decode() if proc.stdout else ""
        assert proc.wait(timeout=60) == 0, shown.decode(errors="replace")
    os.close(leader)
    text = shown.decode(errors="replace")
    assert "applying to tenants" in text and "25/25" in text, text
    assert "applying to tenants: 25/25\n" not in text.replace("\r\n", "\n")  # a bar, not lines
    assert "\x1b[" in text  # drawn, then erased (cursor movements)
    assert "nick" in out


def test_query_results_read_the_same_in_every_format(make_project: Callable[..., Path],
                                                     cli_in_process: Cli) -> None:
    """A blob is hex in every format (a script reading json gets the bytes back with
    bytes.fromhex), NULL stays apart from text, and text that looks like markup is printed
    as written."""
    root = make_project("empty")
    cli_in_process("table", "create", "t", "b:BLOB", "s:TEXT", "n:INTEGER", cwd=root, check=True)
    cli_in_process("query", "INSERT INTO t (b, s, n) VALUES (x'00ff', '[bold]x[/bold]', NULL)",
                   cwd=root, check=True)
    select = ("query", "SELECT b, s, n FROM t")
    as_json = json.loads(cli_in_process(*select, "-f", "json", cwd=root, check=True).stdout)
    assert as_json == [{"b": "00ff", "s": "[bold]x[/bold]", "n": None}]
    assert bytes.fromhex(as_json[0]["b"]) == b"\x00\xff"
    as_yaml = yaml.safe_load(cli_in_process(*select, "-f", "yaml", cwd=root, check=True).stdout)
    assert as_yaml == as_json
    as_csv = list(csv.DictReader(io.StringIO(
        cli_in_process(*select, "-f", "csv", cwd=root, check=True).stdout)))
    assert as_csv == [{"b": "00ff", "s": "[bold]x[/bold]", "n": ""}]
    table = cli_in_process(*select, cwd=root, check=True).stdout
    assert "00ff" in table and "[bold]x[/bold]" in table and "NULL" in table
