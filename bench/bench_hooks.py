"""What cinch's git hooks add to plain git's everyday verbs, beside git without them.

A project with N tenants (default 100) and a branch ``feat`` forked from main, then, each timed
whole as a shell runs it (wall and CPU of the git process and every hook it starts, best of
``--runs`` after a warm-up):

* ``git checkout feat`` / ``git checkout main`` back and forth, both branches' tenants at their
  heads: with the hooks (post-checkout answers from the synced marks) and with the hooks off
  (``core.hooksPath=/dev/null``: the floor);
* ``git commit`` of a file outside ``schema/`` (a README edit): with the hooks and without.

With ``--baseline DIR`` (a checkout, e.g. ``git archive REV | tar -x -C DIR``) the hooks also
run from DIR's ``git_hooks`` and ``cinch`` (``PYTHONPATH``), the two taking turns run by run;
the hook scripts git runs (what they decide in the shell) are this checkout's in both.

    python bench/bench_hooks.py                      # 100 tenants, best of 7
    python bench/bench_hooks.py --tenants 1000 --runs 5 --baseline /tmp/old
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cinch

OFF = ["-c", "core.hooksPath=/dev/null"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def best(runs: int, before: Callable[[int], None], argv: Callable[[int], list[str]],
         root: Path, envs: list[dict[str, str]]) -> list[tuple[float, float]]:
    """(best wall, best CPU) seconds of ``git argv(i)`` in each environment, taking turns,
    over ``runs`` runs after a warm-up; ``before(i)`` runs untimed before each."""
    walls: list[list[float]] = [[] for _ in envs]
    cpus: list[list[float]] = [[] for _ in envs]
    for i in range(runs + 1):
        for k in range(len(envs)):
            before(i * len(envs) + k)
            cpu, wall = _children_cpu(), time.perf_counter()
            git(root, *argv(i * len(envs) + k), env=envs[k])
            if i:
                walls[k].append(time.perf_counter() - wall)
                cpus[k].append(_children_cpu() - cpu)
    return [(min(w), min(c)) for w, c in zip(walls, cpus, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="a checkout whose hooks run beside")
    args = parser.parse_args()
    for who in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{who}_NAME", "bench")
        os.environ.setdefault(f"GIT_{who}_EMAIL", "bench@localhost")
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    work = Path(tempfile.mkdtemp(prefix="cinch-hooks-"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; {args.tenants:,} tenants, "
          f"best of {args.runs}; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    try:
        root = work / "acme"
        project = cinch.init(root)
        project.database().create_table("users", ["name:TEXT", "email:TEXT"])
        project.tenants.create_many("main", "main", [f"t{i:05d}" for i in range(args.tenants)])
        project.close()
        git(root, "checkout", "-q", "-b", "feat")  # forked by the hook, copied on first use
        git(root, "checkout", "-q", "main")
        branches = ["feat", "main"]
        here = dict(os.environ)
        envs = {"hooks": here, "hooks off": here}
        if args.baseline is not None:
            envs["hooks, baseline"] = {**here, "PYTHONPATH": str(args.baseline.resolve())}

        def nothing(_: int) -> None:
            pass

        readme = root / "README.md"

        def edit(i: int) -> None:
            if i and list(envs)[(i - 1) % len(envs)] == "hooks off":
                # the commit made without hooks did not move the synced mark: the engine does
                subprocess.run([sys.executable, "-m", "cinch.cli.app", "sync"], cwd=root,
                               check=True, capture_output=True)
            readme.write_text(f"notes {i}\n")
            git(root, *OFF, "add", "README.md")

        rows: list[tuple[str, float, float]] = []
        for verb, before, argv in (
                ("checkout", nothing, lambda i: ["checkout", "-q", branches[i % 2]]),
                ("commit of a README", edit, lambda i: ["commit", "-qm", f"notes {i}"])):
            kinds = list(envs)

            def command(i: int, argv: Callable[[int], list[str]] = argv,
                        kinds: list[str] = kinds) -> list[str]:
                off = kinds[i % len(kinds)] == "hooks off"
                return [*OFF, *argv(i // len(kinds))] if off else argv(i // len(kinds))

            timed = best(args.runs, before, command, root, [envs[k] for k in kinds])
            rows += [(f"{verb}, {kind}", wall, cpu)
                     for kind, (wall, cpu) in zip(kinds, timed, strict=True)]
            git(root, "checkout", "-q", "main")
        floors = {row[0].split(",")[0]: row for row in rows if row[0].endswith("hooks off")}
        print(f"\n{'':36s} {'wall':>8s} {'CPU':>8s}  wall / hooks off")
        for name, wall, cpu in rows:
            floor = floors[name.split(",")[0]]
            print(f"{name:36s} {wall * 1e3:6.0f} ms {cpu * 1e3:5.0f} ms  {wall / floor[1]:5.1f}x")
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
