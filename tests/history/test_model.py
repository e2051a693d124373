"""A randomized model test: two clones and a hub, random sequences of cinch verbs and plain
git verbs; afterwards ``sync`` succeeds, every tenant has exactly the schema a fresh tenant
has at HEAD, and no value written in a clone is lost while HEAD still has its column.

Derandomized with a fixed seed in the normal run (30 sequences); the ``long`` marker runs
fresh seeds and more sequences (``pytest -m long``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cinch
from cinch.engine import branches, merge, remotes, revert
from cinch.errors import CinchError
from cinch.stores import tenantstore as ts

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")

CLONES = ("a", "b")
ACTIONS = ("add", "add", "push", "pull", "pull", "reset", "feature", "revert", "switch")
Step = tuple[str, str, int]
steps = st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(CLONES),
                           st.integers(1, 2)), min_size=1, max_size=6)


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=60)


@dataclass
class World:
    root: Path
    projects: dict[str, cinch.Project] = field(default_factory=dict)
    written: dict[str, dict[str, str]] = field(default_factory=dict)  # clone -> column -> value
    counter: int = 0

    def open(self) -> None:
        for name in CLONES:
            self.projects[name] = cinch.open(self.root / name)
            self.written[name] = {}

    def close(self) -> None:
        for project in self.projects.values():
            project.close()

    def act(self, action: str, clone: str, n: int) -> None:
        p = self.projects[clone]
        # A refusal (non-fast-forward push, nothing to revert, ...) changes nothing.
        with contextlib.suppress(CinchError):
            getattr(self, f"_{action}")(p, clone, n)
        p.sync()

    def _add(self, p: cinch.Project, clone: str, n: int) -> None:
        self.counter += 1
        column = f"{clone}{self.counter}"
        p.database(branch=p.current_branch).add_column("t", column, "TEXT")
        value = f"v{self.counter}"
        p.tenant("x", branch=p.current_branch).query(f'UPDATE t SET "{column}" = ?', [value])
        if p.current_branch == "main":
            self.written[clone][column] = value

    def _push(self, p: cinch.Project, clone: str, n: int) -> None:
        remotes.push(p, "origin", "main")

    def _pull(self, p: cinch.Project, clone: str, n: int) -> None:
        if p.current_branch == "main":
            remotes.pull(p, "origin", "main")

    def _reset(self, p: cinch.Project, clone: str, n: int) -> None:
        if len(p.git.parents(p.git.branch_tip(p.current_branch))) and _git(
                "rev-parse", "--verify", "-q", f"HEAD~{n + 1}", cwd=p.root).returncode == 0:
            _git("reset", "-q", "--hard", f"HEAD~{n}", cwd=p.root)
            if p.current_branch == "main":
                self.written[clone] = {c: v for c, v in self.written[clone].items()
                                       if c in _columns(p)}

    def _feature(self, p: cinch.Project, clone: str, n: int) -> None:
        if p.current_branch != "main":
            return
        self.counter += 1
        branches.create_branch(p, f"f{self.counter}")
        p.database(branch=f"f{self.counter}").add_column("t", f"{clone}f{self.counter}", "TEXT")
        merge.merge(p, f"f{self.counter}", "main")

    def _revert(self, p: cinch.Project, clone: str, n: int) -> None:
        log = p.history.log(p.git.branch_tip(p.current_branch), "main")
        if len(log) > 1:
            revert.revert(p, log[-1].id, yes=True)

    def _switch(self, p: cinch.Project, clone: str, n: int) -> None:
        target = "side" if p.current_branch == "main" else "main"
        if p.git.branch_tip(target) is None:
            branches.create_branch(p, target)
        _git("switch", "-q", target, cwd=p.root)  # the post-checkout hook moves tenants


def _columns(p: cinch.Project) -> set[str]:
    return {c.name for c in p.database(branch=p.current_branch).schema().table("t").columns}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("model") / "world"
    base.mkdir()
    _git("init", "-q", "--bare", "hub.git", cwd=base)
    a = cinch.init(base / "a")
    a.database().create_table("t", ["name:TEXT"])
    a.tenants.create("main", "main", "x")
    a.tenant("x").insert("t", {"name": "kept"})
    remotes.add_remote(a, "origin", str(base / "hub.git"))
    remotes.push(a, "origin", "main")
    a.close()
    b = remotes.clone(str(base / "hub.git"), base / "b")
    b.tenants.create("main", "main", "x")
    b.tenant("x").insert("t", {"name": "kept"})
    b.close()
    return base


@pytest.fixture
def world(template: Path) -> Iterator[World]:
    yield World(template.parent / "run")


def _check(world: World) -> None:
    for clone, p in world.projects.items():
        if p.current_branch != "main":
            _git("switch", "-q", "main", cwd=p.root)
        result = p.sync(branch="main")
        assert all(not r["failed"] and not r["drifted"] for r in result.values()), result
        tenants = p.tenants
        tenants.create("main", "main", "probe")
        with tenants.pool.connection(tenants.path("main", "main", "probe"), read_only=True) as c:
            fresh = ts.shape_fingerprint(c)
        x = tenants.path("main", "main", "x")
        with tenants.pool.connection(x, read_only=True) as c:
            assert ts.shape_fingerprint(c) == fresh, clone
            assert ts.drift(c) is None
        row = p.tenant("x").rows("SELECT * FROM t")
        assert [r["name"] for r in row] == ["kept"], clone
        for column, value in world.written[clone].items():
            if column in row[0]:
                assert row[0][column] == value, (clone, column)


def _run(world: World, sequence: list[Step], template: Path) -> None:
    shutil.rmtree(world.root, ignore_errors=True)
    shutil.copytree(template, world.root, symlinks=True)
    for clone in CLONES:  # each run pushes to its own copy of the hub, never the template's
        _git("remote", "set-url", "origin", str(world.root / "hub.git"), cwd=world.root / clone)
    world.counter = 0
    world.open()
    try:
        for action, clone, n in sequence:
            world.act(action, clone, n)
        _check(world)
    finally:
        world.close()


@pytest.mark.timeout(1800)  # hundreds of sequences in one test
@settings(max_examples=int(os.environ.get("CINCH_MODEL_EXAMPLES", "30")), derandomize=True,
          deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=steps)
def test_tenants_end_at_head_whatever_the_history(world: World, template: Path,
                                                   sequence: list[Step]) -> None:
    _run(world, sequence, template)


@pytest.mark.long
@pytest.mark.timeout(7200)
@settings(max_examples=2000, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(CLONES),
                                   st.integers(1, 2)), min_size=1, max_size=12))
def test_long_sequences_with_fresh_seeds(world: World, template: Path,
                                         sequence: list[Step]) -> None:
    _run(world, sequence, template)
