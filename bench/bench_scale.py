"""100,000 tenants on one machine: every step a user meets, at scale.

    python bench/bench_scale.py                      # 100,000 tenants
    python bench/bench_scale.py --tenants 2000       # a quick run
    python bench/bench_scale.py --apply-tenants 10000  # the applies on a smaller project

Steps: create the tenants (Python API, one template, file copies), ``cinch status`` and a page
of ``cinch tenant list --limit 100`` (engine call, and the CLI's wall time in a fresh process),
a point query on a random tenant (fresh handle each), create a branch, switch to it, then apply
a column add and a table rebuild (a column type change) to every tenant. Rows are kept small
(``--rows`` per tenant, none by default: the scale is in the tenant count). Peak memory (RSS)
is printed so an O(tenants) structure would show.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cinch
from cinch.engine import branches

_CLI = [sys.executable, "-m", "cinch.cli.app"]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _timed(label: str, fn: Callable[[], object], figures: list[tuple[str, str, str]]) -> object:
    """Wall time and this process's CPU time (every thread): on a shared machine the load
    stretches the first, hardly the second."""
    cpu, start = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - start
    used = _cpu(resource.RUSAGE_SELF) - cpu
    figures.append((label, f"{elapsed:.3f} s", f"{used:.3f} s"))
    print(f"  {label}: {elapsed:.3f} s (CPU {used:.3f} s)", flush=True)
    return value


def _cli_best(args: list[str], cwd: Path, runs: int = 3) -> tuple[float, float]:
    """Best wall time of ``runs`` fresh processes, and the least CPU one of them used."""
    best, least = float("inf"), float("inf")
    for _ in range(runs):
        cpu, start = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run([*_CLI, *args], cwd=cwd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
        least = min(least, _cpu(resource.RUSAGE_CHILDREN) - cpu)
    return best, least


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(tenants: int, rows: int, apply_tenants: int, work: Path) -> list[tuple[str, str]]:
    figures: list[tuple[str, str, str]] = []
    root = work / f"scale{tenants}"
    project = cinch.init(root)
    project.database().create_table("users", ["name:TEXT", "email:TEXT"])
    names = [f"t{i:06d}" for i in range(tenants)]
    print(f"{tenants:,} tenants, {rows} row(s) each", flush=True)
    _timed(f"create {tenants:,} tenants", lambda: project.tenants.create_many(
        "main", "main", names), figures)
    for name in names[:rows and tenants]:
        tenant = project.tenant(name)
        with tenant.transaction():
            for i in range(rows):
                tenant.insert("users", {"name": f"u{i}", "email": f"u{i}@x"})
    summary = _timed("status (engine: tenant summary)",
                     lambda: project.tenants.summary("main", "main"), figures)
    print(f"    {summary}")
    _timed("tenant list page of 100 (engine)",
           lambda: project.tenants.page("main", "main", after="t050000", limit=100), figures)
    project.close()
    for label, args in (("`cinch status` (CLI, fresh process, best of 7)", ["status"]),
                        ("`cinch tenant list --limit 100` (CLI, best of 7)",
                         ["tenant", "list", "--limit", "100", "--format", "json"])):
        elapsed, used = _cli_best(args, root, runs=7)
        figures.append((label, f"{elapsed:.3f} s", f"{used:.3f} s"))
        print(f"  {label}: {elapsed:.3f} s (CPU {used:.3f} s)", flush=True)
    project = cinch.open(root)
    rng = random.Random(7)
    picks = [rng.choice(names) for _ in range(200)]

    def point_queries() -> None:
        for name in picks:
            project.tenant(name).rows("SELECT name FROM users WHERE id = 1")

    cpu, start = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    point_queries()
    per = (time.perf_counter() - start) / len(picks)
    per_cpu = (_cpu(resource.RUSAGE_SELF) - cpu) / len(picks)
    figures.append(("point query on a random tenant (mean of 200)", f"{per * 1000:.2f} ms",
                    f"{per_cpu * 1000:.2f} ms"))
    print(f"  point query on a random tenant: {per * 1000:.2f} ms (CPU {per_cpu * 1000:.2f} ms)",
          flush=True)
    _timed("create branch `feature` (lazy fork)",
           lambda: branches.create_branch(project, "feature", start="main"), figures)
    _timed("switch to `feature`", lambda: branches.switch(project, "feature"), figures)
    _timed("status on `feature` (engine)",
           lambda: project.tenants.summary("main", "feature"), figures)
    _timed("switch back to `main`", lambda: branches.switch(project, "main"), figures)
    if apply_tenants and apply_tenants != tenants:
        project.close()
        project = cinch.init(work / f"apply{apply_tenants}")
        project.database().create_table("users", ["name:TEXT", "email:TEXT"])
        project.tenants.create_many("main", "main",
                                    [f"t{i:06d}" for i in range(apply_tenants)])
    count = apply_tenants  # 0 skips the applies
    if count:
        _timed(f"apply a column add ({count:,} tenants)",
               lambda: project.database().add_column("users", "plan", "TEXT"), figures)
        _timed(f"apply a rebuild: column type change ({count:,} tenants)",
               lambda: project.database().alter_column("users", "plan", type="INTEGER"),
               figures)
        _timed("status after the applies (engine)",
               lambda: project.tenants.summary("main", "main"), figures)
    project.close()
    figures.append(("peak memory of the benchmark process (RSS)", f"{_rss_mib():.0f} MiB", ""))
    print(f"  peak RSS: {_rss_mib():.0f} MiB", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=0, help="rows per tenant (default none)")
    parser.add_argument("--apply-tenants", type=int, default=None,
                        help="run the two applies on a project of this many tenants "
                             "(default: the same project; 0 skips them)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the projects")
    args = parser.parse_args()
    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    apply_tenants = args.tenants if args.apply_tenants is None else args.apply_tenants
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        figures = run(args.tenants, args.rows, apply_tenants, Path(tmp))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    print("\n| step | wall | CPU |\n|---|---|---|")
    for label, value, used in figures:
        print(f"| {label} | {value} | {used} |")


if __name__ == "__main__":
    main()
