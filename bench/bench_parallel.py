"""Parallel apply: one add-column change set across N tenants with 1, 2 and 4 workers, beside
the serial sqlite3 floor (open, ALTER in a transaction, close; file by file), in one run.

A worker count as such follows cinch's own rule (worker processes from a few hundred tenants,
threads below); with a ``t`` after it (``--workers 2t``) the workers are threads whatever the
number of tenants, with a ``p`` processes, to compare the two.

Each round applies one change set per worker count and the floor once more, in turn, so load
on a shared machine falls on all of them alike; the best of the rounds is printed.
Target: <= 0.7x the serial floor on 2 cores at 10,000 tenants.

    python bench/bench_parallel.py [--tenants 1000 --tenants 10000] [--rounds 2] \
        [--workers 1 --workers 2 --workers 2t]

cinch's timing includes closing its pooled connections (their checkpoints), as the floor
closes each file. CPU time is the process's and its reaped worker processes' (user + system,
every thread).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cinch
from cinch.engine.parallel import cores

WORKERS = (1, 2, 4)


def floor(files: list[Path], column: str) -> float:
    start = time.perf_counter()
    for path in files:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"ALTER TABLE users ADD COLUMN {column} INTEGER")
        conn.execute("COMMIT")
        conn.close()
    return time.perf_counter() - start


def run(n: int, rounds: int, work: Path, workers_list: list[str]) -> None:
    project = cinch.init(work / f"p{n}")
    db = project.database()
    db.create_table("users", ["name:TEXT", "email:TEXT"])
    names = [f"t{i:05d}" for i in range(n - 1)]
    for chunk in range(0, len(names), 1000):
        project.tenants.create_many("main", "main", names[chunk:chunk + 1000])
    files = [project.tenants.path("main", "main", name) for name in ["main", *names]]
    for path in files:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.executemany("INSERT INTO users (name, email) VALUES (?, ?)",
                         [(f"u{i}", f"u{i}@x") for i in range(10)])
        conn.close()
    copies = work / f"floor{n}"
    copies.mkdir()
    floor_files = [copies / p.name for p in files]
    for src, dst in zip(files, floor_files, strict=True):
        shutil.copyfile(src, dst)
    default = project.tenants.processes_from
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds (user + system, every thread) of the best run
    # Of which in worker processes: spread over them, so on idle cores an apply's wall time
    # approaches this process's CPU plus the workers' divided among them (or the cores).
    forked: dict[str, float] = {}
    loads = [os.getloadavg()[0]]
    for r in range(rounds):
        # The floor first in even rounds and last in odd ones: a load that comes and goes
        # falls on both sides alike.
        order = ["floor", *workers_list] if r % 2 == 0 else [*workers_list, "floor"]
        for what in order:
            before = _cpu(resource.RUSAGE_CHILDREN)
            if what == "floor":
                used = _cpu()
                took = floor(floor_files, f"c{r}")
            else:
                project.tenants.pool.close_all()  # every apply opens its files, as the floor
                project.tenants.apply_workers = int(what.rstrip("tp"))
                project.tenants.processes_from = {"t": sys.maxsize, "p": 0}.get(what[-1],
                                                                                 default)
                used = _cpu()
                start = time.perf_counter()
                db.add_column("users", f"c{r}w{what}:INTEGER")
                project.tenants.pool.close_all()  # and closes them (the checkpoints) in time
                took = time.perf_counter() - start
            used = _cpu() - used
            if took < best.get(what, float("inf")):
                best[what], cpu[what] = took, used
                forked[what] = _cpu(resource.RUSAGE_CHILDREN) - before
            loads.append(os.getloadavg()[0])
    project.close()
    print(f"\n{n:,} tenants ({cores()} cores usable, load average "
          f"{min(loads):.1f}-{max(loads):.1f}), best of {rounds}: serial floor "
          f"{best['floor']:.2f} s (CPU {cpu['floor']:.2f} s)")
    for workers in workers_list:
        w = str(workers)
        kind = {"t": " (threads)", "p": " (processes)"}.get(w[-1], "")
        spread = ""
        if forked[w]:
            path = cpu[w] - forked[w] + forked[w] / min(int(w.rstrip("tp")), cores())
            spread = (f"; {forked[w]:.2f} s in worker processes, this process's plus their "
                      f"share {path:.2f} s = {path / cpu['floor']:.2f}x")
        print(f"  {w.rstrip('tp')} worker(s){kind}: {best[w]:.2f} s = "
              f"{best[w] / best['floor']:.2f}x the floor (CPU {cpu[w]:.2f} s = "
              f"{cpu[w] / cpu['floor']:.2f}x{spread})", flush=True)


def _cpu(*who: int) -> float:
    """CPU seconds of this process and of its worker processes (once reaped), or of ``who``."""
    total = 0.0
    for one in who or (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(one)
        total += usage.ru_utime + usage.ru_stime
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", action="append",
                        help=f"worker count to measure (repeatable; default {WORKERS}); "
                             "with a t after it (2t) threads, with a p processes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cinch-parallel-"))
    try:
        for n in args.tenants or [1000]:
            run(n, args.rounds, work, [w.strip() for w in args.workers or map(str, WORKERS)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
