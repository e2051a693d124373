"""Remotes through libgit2: push to a bare repository, clone it elsewhere, pull changes into
another clone's tenants, refuse non-fast-forward pushes. The CLI runs its entry point in this
process (an interpreter's start per call would be most of the time), and the real `cinch`
command where the refusals' exit codes are checked."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pygit2
import pytest

import cinch
from cinch.engine import remotes, tags
from cinch.errors import BranchError, DirtyWorkTree, NotAProject, NotFound, ProjectExists
from tests.conftest import Cli, run_cinch


@pytest.fixture
def cli(cli_in_process: Cli) -> Cli:
    return cli_in_process


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """An empty bare repository, as `git init --bare` makes (HEAD names master)."""
    path = tmp_path / "origin.git"
    pygit2.init_repository(str(path), bare=True)
    return path


def _commits(repo_path: Path, ref: str) -> list[str]:
    repo = pygit2.Repository(str(repo_path))
    tip = repo.references[ref].peel(pygit2.Commit).id
    return [str(c.id) for c in repo.walk(tip)]


def _rows(project: cinch.Project, sql: str, tenant: str = "main") -> list[dict]:
    return project.tenant(tenant).rows(sql)


def _columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
    finally:
        conn.close()


@pytest.fixture
def published(project: cinch.Project, bare: Path, cli: Cli) -> Path:
    """The `users` project pushed to the bare origin with the CLI."""
    root = str(project.root)
    cli("-C", root, "remote", "add", "origin", str(bare), check=True)
    pushed = cli("-C", root, "push", check=True)
    assert "pushed" in pushed.stdout
    return bare


def test_push_then_clone_gives_the_same_history_and_empty_tenants(
        project: cinch.Project, published: Path, tmp_path: Path, cli: Cli) -> None:
    project.tenant("main").insert("users", {"name": "secret", "email": "s@x"})
    result = cli("clone", str(published), "copy", cwd=tmp_path, check=True)
    assert "cloned into" in result.stdout
    clone_root = tmp_path / "copy"
    assert _commits(clone_root, "refs/heads/main") == _commits(project.root, "refs/heads/main")
    assert _commits(published, "refs/heads/main") == _commits(project.root, "refs/heads/main")
    with cinch.open(clone_root) as copy:
        assert copy.current_branch == "main"
        assert copy.database().schema() == project.database().schema()
        assert (clone_root / "schema" / "main" / "schema.sql").read_bytes() == \
            (project.root / "schema" / "main" / "schema.sql").read_bytes()
        tenant = clone_root / ".cinch" / "tenants" / "main" / "main" / "main.db"
        assert tenant.is_file()  # made by the clone itself, not on first use
        assert _columns(tenant, "users") == _columns(
            project.tenants.path("main", "main", "main"), "users")
        assert _rows(copy, "SELECT * FROM users") == []  # data never travels
        assert {i.state for i in copy.tenants.infos("main", "main")} == {"up to date"}
        assert copy.git.remotes() == [("origin", str(published))]
        # hooks installed like `cinch init` does
        hooks = clone_root / ".git" / "hooks"
        assert (hooks / "post-merge").is_file() and "cinch" in (hooks / "post-merge").read_text()
        assert copy.git.dirty_paths() == []


def test_change_in_one_clone_reaches_the_others_tenants(
        published: Path, tmp_path: Path, cli: Cli) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    cli("clone", str(published), str(a), check=True)
    cli("clone", str(published), str(b), check=True)
    with cinch.open(b) as pb:  # B holds data of its own and a second tenant
        pb.tenants.create("main", "main", "acme")
        row = pb.tenant("acme").insert("users", {"name": "Bo", "email": "bo@x", "age": 7})
    cli("-C", str(a), "column", "add", "users", "nick:TEXT", check=True)
    cli("-C", str(a), "push", check=True)
    pulled = cli("-C", str(b), "pull", "origin", "main", check=True)
    assert "fast-forward" in pulled.stdout
    assert _commits(b, "refs/heads/main") == _commits(a, "refs/heads/main")
    with cinch.open(b) as pb:
        assert pb.database().table("users").find_column("nick") is not None
        for name in ("acme", "main"):
            assert "nick" in _columns(pb.tenants.path("main", "main", name), "users")
        assert pb.tenant("acme").get("users", row["id"])["nick"] is None
        assert pb.tenant("acme").get("users", row["id"])["age"] == 7  # data kept
        assert {i.state for i in pb.tenants.infos("main", "main")} == {"up to date"}
        assert pb.git.dirty_paths() == []  # the work tree followed
        assert "nick" in (b / "schema" / "main" / "schema.sql").read_text()
    again = cli("-C", str(b), "pull", "-f", "json", check=True)
    assert json.loads(again.stdout)["action"] == "up to date"


def test_non_fast_forward_push_is_refused(published: Path, tmp_path: Path, cli: Cli) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    cli("clone", str(published), str(a), check=True)
    cli("clone", str(published), str(b), check=True)
    cli("-C", str(a), "column", "add", "users", "nick:TEXT", check=True)
    cli("-C", str(a), "push", check=True)
    cli("-C", str(b), "column", "add", "users", "title:TEXT", check=True)
    remote_tip = _commits(published, "refs/heads/main")[0]
    refused = cli("-C", str(b), "push")
    assert refused.rc != 0 and "non-fast-forward" in refused.stderr, refused
    assert "cinch pull" in refused.stderr
    assert _commits(published, "refs/heads/main")[0] == remote_tip  # nothing moved
    forced = cli("-C", str(b), "push", "origin", "main", "--force", check=True)
    assert "forced" in forced.stdout
    assert _commits(published, "refs/heads/main")[0] == _commits(b, "refs/heads/main")[0]


def test_diverged_pull_merges_semantically(published: Path, tmp_path: Path) -> None:
    a = remotes.clone(str(published), tmp_path / "a")
    b = remotes.clone(str(published), tmp_path / "b")
    try:
        a.database().add_column("users", "nick:TEXT")
        remotes.push(a)
        b.database().create_table("tags", ["label:TEXT"])
        try:
            import cinch.engine.merge  # noqa: F401
        except ImportError:
            with pytest.raises(BranchError, match="diverged"):
                remotes.pull(b)
            return
        result = remotes.pull(b)
        assert result.action == "merged"
        schema = b.database().schema()
        assert schema.find_table("tags") and schema.table("users").find_column("nick")
        assert len(b.git.parents(b.git.branch_tip("main"))) == 2
        for name in ("nick",):
            assert name in _columns(b.tenants.path("main", "main", "main"), "users")
        assert "label" in _columns(b.tenants.path("main", "main", "main"), "tags")
        remotes.push(b)  # now a fast-forward of the remote
    finally:
        a.close()
        b.close()


def test_pull_refuses_to_overwrite_local_edits(published: Path, tmp_path: Path) -> None:
    a = remotes.clone(str(published), tmp_path / "a")
    b = remotes.clone(str(published), tmp_path / "b")
    try:
        a.database().add_column("users", "nick:TEXT")
        remotes.push(a)
        schema_sql = tmp_path / "b" / "schema" / "main" / "schema.sql"
        schema_sql.write_text("-- my edit\n")
        tip = b.git.branch_tip("main")
        with pytest.raises(DirtyWorkTree, match=r"schema\.sql"):
            remotes.pull(b)
        assert b.git.branch_tip("main") == tip and schema_sql.read_text() == "-- my edit\n"
    finally:
        a.close()
        b.close()


def test_remote_add_list_remove(project: cinch.Project, bare: Path, cli: Cli) -> None:
    root = str(project.root)
    cli("-C", root, "remote", "add", "backup", str(bare), check=True)
    listed = cli("-C", root, "remote", "list", "-f", "json", check=True)
    assert json.loads(listed.stdout) == [{"name": "backup", "url": str(bare)}]
    dup = run_cinch("-C", root, "remote", "add", "backup", str(bare))
    assert dup.rc != 0 and "already exists" in dup.stderr
    missing = run_cinch("-C", root, "push")  # no origin
    assert missing.rc != 0 and "no remote named 'origin'" in missing.stderr
    cli("-C", root, "push", "backup", check=True)
    cli("-C", root, "remote", "remove", "backup", check=True)
    assert project.git.remotes() == []
    with pytest.raises(NotFound):
        remotes.remove_remote(project, "backup")


def test_clone_refuses_what_is_not_a_cinch_project(tmp_path: Path, bare: Path,
                                                   project: cinch.Project) -> None:
    plain = tmp_path / "plain"
    repo = pygit2.init_repository(str(plain), initial_head="main")
    sig = pygit2.Signature("t", "t@x")
    (plain / "README").write_text("hi\n")
    repo.index.add("README")
    repo.index.write()
    repo.create_commit("HEAD", sig, sig, "readme", repo.index.write_tree(), [])
    with pytest.raises(NotAProject, match="not a cinch project"):
        remotes.clone(str(plain), tmp_path / "c")
    assert not (tmp_path / "c").exists()  # nothing half-made left behind
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    with pytest.raises(ProjectExists):
        remotes.clone(str(project.root), taken)


def test_tags_through_the_api(project: cinch.Project) -> None:
    first = project.git.branch_tip("main")
    project.database().add_column("users", "nick:TEXT")
    light = tags.create_tag(project, "v1", first)
    annotated = tags.create_tag(project, "v2", message="nick column")
    assert (light.commit, light.message) == (first, None)
    assert (annotated.commit, annotated.message) == (project.git.branch_tip("main"),
                                                     "nick column")
    assert [t.name for t in tags.list_tags(project)] == ["v1", "v2"]
    # a tag is a revision like any other
    assert project.database().schema("v1").table("users").find_column("nick") is None
    with pytest.raises(BranchError, match="already exists"):
        tags.create_tag(project, "v1")
    tags.delete_tag(project, "v1")
    with pytest.raises(NotFound):
        tags.delete_tag(project, "v1")
    assert [t.name for t in tags.list_tags(project)] == ["v2"]
