"""Every way plain git makes a commit is checked as cinch checks its own: the real `git`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cinch
from cinch.engine import checks
from tests.hooks.conftest import (
    Write,
    cinch_cli,
    cinch_run,
    columns,
    git,
    head,
    rows,
    view_change,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")


def refused(proc, *words: str) -> None:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    for word in words:
        assert word in proc.stderr, f"{word!r} not in:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr


# --- change files ---------------------------------------------------------------------------


@pytest.mark.parametrize("sql, words", [
    ("SELECT 1 AS x; DROP TABLE users", ["more than one statement"]),
    ("DELETE FROM users", ["SELECT"]),
    ("SELECT nope FROM users", ["does not prepare"]),
])
def test_view_sql_is_validated_as_the_engine_does(root: Path, write_change: Write, sql: str,
                                                  words: list[str]) -> None:
    before, cols = head(root), columns(root)
    path = write_change(root, view_change(sql))
    git("add", "-A", cwd=root)
    proc = git("commit", "-m", "a view by hand", cwd=root, check=False)
    refused(proc, path.name, "commit refused", *words)
    assert head(root) == before
    assert columns(root) == cols  # every command still works


def test_a_valid_hand_written_change_set_is_accepted_and_applied(root: Path,
                                                                 write_change: Write) -> None:
    write_change(root, view_change("SELECT name FROM users", name="names"))
    git("add", "-A", cwd=root)
    proc = git("commit", "-m", "names view", cwd=root, check=False)
    refused(proc, "schema/main/schema.sql", "differs from what the change log renders",
            "cinch hooks resolve")
    cinch_cli("hooks", "resolve", cwd=root)  # writes and stages schema.sql
    git("commit", "-m", "names view", cwd=root)
    assert 'CREATE VIEW "names"' in (root / "schema/main/schema.sql").read_text()
    assert rows(root, "SELECT * FROM names") == [{"name": "Ann"}]  # post-commit applied it


def test_a_reused_change_id_is_refused(root: Path, write_change: Write) -> None:
    existing = next((root / "schema/main/changes").glob("*.json"))
    change_id = existing.name[:26]
    path = write_change(root, view_change("SELECT 1 AS x", change_id=change_id))
    git("add", "-A", cwd=root)
    refused(git("commit", "-m", "dup", cwd=root, check=False), path.name,
            f"change id {change_id} is already used by", existing.name)


def test_two_new_files_with_one_id_are_refused(root: Path, write_change: Write) -> None:
    first = view_change("SELECT 1 AS x", name="a")
    write_change(root, first)
    second = view_change("SELECT 2 AS y", name="b", change_id=first.id)
    (root / "schema/main/changes" / f"{first.id}-second.json").write_bytes(second.to_json())
    git("add", "-A", cwd=root)
    refused(git("commit", "-m", "dup", cwd=root, check=False), "is already used by")


@pytest.mark.parametrize("content, words", [
    (b"{not json", ["not valid JSON"]),
    (b'{"format": 1}', ["field"]),
])
def test_malformed_change_files_are_refused(root: Path, content: bytes,
                                            words: list[str]) -> None:
    bad = root / "schema/main/changes/01ARZ3NDEKTSV4RRFFQ69G5FAV-bad.json"
    bad.write_bytes(content)
    git("add", "-A", cwd=root)
    refused(git("commit", "-m", "bad", cwd=root, check=False), bad.name, *words)


def test_commit_all_checks_the_index_git_commits(root: Path) -> None:
    """`git commit -a` commits a temporary index (GIT_INDEX_FILE), not .git/index."""
    changed = next((root / "schema/main/changes").glob("*.json"))
    changed.write_text(changed.read_text().replace('"users"', '"people"'))
    refused(git("commit", "-a", "-m", "edit", cwd=root, check=False), "may not be edited")


@pytest.mark.parametrize("text, words", [
    ("-- hand edit\n", ["differs from what the change log renders"]),
    ("<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> b\n", ["holds conflict markers"]),
])
def test_a_hand_edited_schema_sql_is_refused(root: Path, text: str, words: list[str]) -> None:
    path = root / "schema/main/schema.sql"
    path.write_text(path.read_text() + text)
    refused(git("commit", "-a", "-m", "edit", cwd=root, check=False), "schema.sql", *words)


def test_a_commit_without_schema_changes_passes(root: Path) -> None:
    """Nothing under schema/ nor cinch.toml in the commit: the hooks answer from git alone,
    and the tenants stay where they are; what git commits is what is looked at."""
    (root / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=root)
    changed = next((root / "schema/main/changes").glob("*.json"))
    changed.write_text(changed.read_text().replace('"users"', '"people"'))  # not staged
    done = git("commit", "-m", "readme", cwd=root)
    assert "after commit: no change set; the tenants of main stay at the head" in done.stderr
    refused(git("commit", "-a", "-m", "edit", cwd=root, check=False), "may not be edited")
    git("checkout", "--", str(changed), cwd=root)
    (root / "cinch.toml").write_text((root / "cinch.toml").read_text() + "\n[oops\n")
    refused(git("commit", "-a", "-m", "settings", cwd=root, check=False), "cinch.toml")


# --- merges -----------------------------------------------------------------------------------


def _two_scores(root: Path) -> None:
    for branch, type_ in (("a", "INTEGER"), ("b", "TEXT")):
        git("checkout", "-q", "-b", branch, "main", cwd=root)
        cinch_cli("column", "add", "users", "score", type_, cwd=root)
    git("checkout", "-q", "main", cwd=root)
    git("merge", "-q", "--no-edit", "a", cwd=root)


def test_a_conflicting_squash_merge_is_refused_at_commit(root: Path) -> None:
    _two_scores(root)
    before = head(root)
    git("merge", "--squash", "b", cwd=root, check=False)
    proc = git("commit", "--no-edit", cwd=root, check=False)
    refused(proc, "users.score", "commit refused")
    assert head(root) == before
    assert cinch_run("status", cwd=root).returncode == 0


def test_a_clean_squash_merge_is_applied(root: Path) -> None:
    git("checkout", "-q", "-b", "feat", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    cinch_cli("table", "create", "orders", "total:REAL", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    cinch_cli("column", "add", "users", "phone", "TEXT", cwd=root)
    git("merge", "--squash", "feat", cwd=root)
    git("commit", "--no-edit", cwd=root)
    assert {"phone", "plan"} <= set(columns(root))
    assert rows(root, "SELECT name FROM users") == [{"name": "Ann"}]


def test_an_octopus_merge_is_refused(root: Path) -> None:
    git("checkout", "-q", "-b", "a", "main", cwd=root)
    cinch_cli("table", "create", "orders", "total:REAL", cwd=root)
    git("checkout", "-q", "-b", "b", "main", cwd=root)
    (root / "README.md").write_text("on b\n")
    git("add", "README.md", cwd=root)
    git("commit", "-qm", "readme", cwd=root)
    git("checkout", "-q", "-b", "c", "main", cwd=root)
    cinch_cli("table", "create", "items", "total:REAL", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    (root / "NOTES.md").write_text("on main\n")
    git("add", "NOTES.md", cwd=root)
    git("commit", "-qm", "notes", cwd=root)
    before = head(root)
    # git merges these two without a conflict: the merge commit is refused.
    refused(git("merge", "--no-edit", "a", "b", cwd=root, check=False), "merges 2 branches",
            "one at a time")
    assert head(root) == before
    git("reset", "-q", "--hard", cwd=root)
    # Here git stops on schema.sql; committing its hand resolution is refused as well.
    proc = git("merge", "--no-edit", "a", "c", cwd=root, check=False)
    assert proc.returncode != 0
    git("add", "-A", cwd=root)
    refused(git("commit", "--no-edit", cwd=root, check=False), "one at a time")
    assert head(root) == before


def test_a_merge_a_tenant_cannot_take_is_refused(root: Path) -> None:
    """A UNIQUE index over data that holds duplicates on the target: refused as `cinch merge`
    refuses it, by a merge commit and by a fast-forward alike."""
    git("checkout", "-q", "-b", "uniq", cwd=root)
    cinch_cli("index", "create", "users", "name", "--unique", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    cinch_cli("query", "INSERT INTO users (name) VALUES ('Ann')", "-t", "acme", cwd=root)
    assert cinch_run("merge", "uniq", cwd=root).returncode != 0
    before = head(root)
    proc = git("merge", "--no-edit", "uniq", cwd=root, check=False)  # a fast-forward
    refused(proc, "acme", "refused")
    assert head(root) == before
    assert git("status", "--porcelain", cwd=root).stdout == ""  # the work tree is put back
    (root / "README.md").write_text("on main\n")
    git("add", "README.md", cwd=root)
    git("commit", "-qm", "readme", cwd=root)
    before = head(root)
    proc = git("merge", "--no-edit", "uniq", cwd=root, check=False)  # a merge commit
    refused(proc, "acme", "refused")
    assert head(root) == before
    git("merge", "--abort", cwd=root)
    assert [r["name"] for r in rows(root, "SELECT name FROM users")] == ["Ann", "Ann"]


# --- cherry-pick, revert, protection ------------------------------------------------------


def test_cherry_pick_is_checked_and_applied(root: Path) -> None:
    git("checkout", "-q", "-b", "feat", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    pick = head(root)
    git("checkout", "-q", "main", cwd=root)
    git("cherry-pick", pick, cwd=root)
    assert "plan" in columns(root)


def test_a_stale_schema_sql_after_a_cherry_pick_is_refused(root: Path) -> None:
    git("checkout", "-q", "-b", "feat", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    pick = head(root)
    git("checkout", "-q", "main", cwd=root)
    cinch_cli("column", "add", "users", "phone", "TEXT", cwd=root)
    before = head(root)
    proc = git("cherry-pick", pick, cwd=root, check=False)
    assert proc.returncode != 0
    assert "cinch hooks resolve" in proc.stderr  # the merge driver names a real command
    # Resolved by hand, the wrong way: main's schema.sql kept as it was.
    git("checkout", "--ours", "schema/main/schema.sql", cwd=root)
    git("add", "schema/main/schema.sql", cwd=root)
    proc = git("cherry-pick", "--continue", cwd=root, check=False,
               env={"GIT_EDITOR": "true"})
    refused(proc, "schema.sql", "differs from what the change log renders")
    assert head(root) == before
    cinch_cli("hooks", "resolve", cwd=root)
    git("cherry-pick", "--continue", cwd=root, env={"GIT_EDITOR": "true"})
    assert {"phone", "plan"} <= set(columns(root))
    with cinch.open(root) as project:
        assert checks.check_commit(checks.Repo.of(project), head(root), branch="main") == []


def test_git_revert_of_a_change_set_commit_names_cinch_revert(root: Path) -> None:
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    change_id = next(p.name[:26] for p in (root / "schema/main/changes").glob("*plan*"))
    before = head(root)
    proc = git("revert", "--no-edit", "HEAD", cwd=root, check=False)
    refused(proc, f"cinch revert {change_id}", "may not be deleted", "git reset --merge")
    assert head(root) == before
    git("reset", "--merge", cwd=root)
    assert git("status", "--porcelain", cwd=root).stdout == ""
    assert cinch_run("status", cwd=root).returncode == 0
    cinch_cli("revert", change_id, "--yes", cwd=root)
    assert "plan" not in columns(root)


def test_a_protected_branch_takes_change_sets_only_by_merge(root: Path) -> None:
    cinch_cli("branch", "--protect", "main", cwd=root)
    git("checkout", "-q", "-b", "feat", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    before = head(root)
    git("checkout", "feat", "--", "schema", cwd=root)  # the change set, copied by hand
    proc = git("commit", "-m", "sneak", cwd=root, check=False)
    refused(proc, "main is protected", "cinch merge")
    git("reset", "-q", "--hard", cwd=root)
    proc = git("merge", "--no-edit", "feat", cwd=root, check=False)  # would fast-forward
    refused(proc, "main is protected", "--no-ff")
    assert head(root) == before
    git("merge", "--no-ff", "--no-edit", "feat", cwd=root)
    assert "plan" in columns(root)
    (root / "README.md").write_text("settings and other files still commit\n")
    git("add", "README.md", cwd=root)
    git("commit", "-qm", "readme", cwd=root)


def test_cinch_merge_into_a_protected_branch_makes_a_merge_commit(root: Path) -> None:
    cinch_cli("branch", "--protect", "main", cwd=root)
    cinch_cli("switch", "-c", "feat", cwd=root)
    cinch_cli("column", "add", "users", "plan", "TEXT", cwd=root)
    cinch_cli("switch", "main", cwd=root)
    cinch_cli("merge", "feat", cwd=root)
    assert len(git("rev-list", "--parents", "-n1", "HEAD", cwd=root).stdout.split()) == 3


def test_every_commit_cinch_makes_passes_the_checks(root: Path) -> None:
    """The checks accept all that cinch's own verbs write (merges, reverts, views, renames,
    drops, a second database, a protected branch)."""
    run = [
        ("index", "create", "users", "name"),
        ("view", "create", "named", "SELECT name FROM users WHERE name IS NOT NULL"),
        ("branch", "--protect", "main"),
        ("switch", "-c", "f"),
        ("column", "add", "users", "plan", "TEXT"),
        ("column", "rename", "users", "plan", "tier"),
        ("table", "create", "orders", "total:REAL"),
        ("switch", "main"), ("merge", "f"),
        ("switch", "-c", "g"),
        ("column", "drop", "users", "tier"),
        ("db", "create", "other"),
        ("--db", "other", "table", "create", "x", "a:TEXT"),
        ("switch", "main"), ("merge", "g"),
    ]
    for args in run:
        cinch_cli(*args, cwd=root)
    with cinch.open(root) as project:
        change = project.history.log(head(root), "main")[-1].id
        cinch_cli("switch", "g", cwd=root)
        cinch_cli("revert", change[:10], "--yes", cwd=root)
        cinch_cli("switch", "main", cwd=root)
        cinch_cli("merge", "g", cwd=root)
    with cinch.open(root) as project:
        repo = checks.Repo.of(project)
        for branch in project.git.branches():
            tip = project.git.branch_tip(branch)
            assert checks.check_update(repo, branch, None, tip, []) == [], branch


def test_a_change_file_moved_with_git_mv_is_the_same_change_set(root: Path) -> None:
    path = next((root / "schema/main/changes").glob("*.json"))
    git("mv", str(path), str(path.with_name(path.stem + "-moved.json")), cwd=root)
    git("commit", "-qm", "rename a change file", cwd=root)
    assert cinch_run("status", cwd=root).returncode == 0


# --- what a commit of other files costs -----------------------------------------------------


def test_a_commit_of_other_files_is_checked_without_starting_python(root: Path) -> None:
    """pre-commit and prepare-commit-msg answer in the shell when the commit leaves schema/
    and cinch.toml as HEAD has them: with the hooks' interpreter broken, a README commit goes
    through, while one that touches cinch.toml (or finishes a merge) still reaches it."""
    hooks = root / ".git" / "hooks"
    for name in ("pre-commit", "prepare-commit-msg"):
        script = hooks / name
        text = script.read_text()
        python = text.rsplit("exec ", 1)[1].split(" -m git_hooks", 1)[0]
        script.write_text(text.replace(python, '"/bin/false"'))
    (root / "README.md").write_text("notes\n")
    git("add", "README.md", cwd=root)
    git("commit", "-qm", "notes", cwd=root)
    assert git("log", "-1", "--format=%s", cwd=root).stdout.strip() == "notes"
    with (root / "cinch.toml").open("a") as config:
        config.write("\n")
    git("add", "cinch.toml", cwd=root)
    refused(git("commit", "-qm", "settings", cwd=root, check=False))
    git("reset", "-q", "--hard", cwd=root)
    git("checkout", "-q", "-b", "side", cwd=root)
    (root / "OTHER.md").write_text("side\n")
    git("add", "OTHER.md", cwd=root)
    git("commit", "-qm", "side notes", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    (root / "README.md").write_text("notes again\n")
    git("add", "README.md", cwd=root)
    git("commit", "-qm", "more notes", cwd=root)
    refused(git("merge", "--no-ff", "--no-edit", "side", cwd=root, check=False))
