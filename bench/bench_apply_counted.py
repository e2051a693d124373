"""An add-column apply counted in instructions per tenant under callgrind, beside the floor.

Timed rounds of ``bench_parallel.py`` move with the machine's load and its disk; user-space
instructions do not. Each side runs in a process of its own under valgrind's callgrind, with
instrumentation switched on around the apply alone (``callgrind_control -i`` from inside),
after a first apply that warms caches, with ``PYTHONHASHSEED=0``, on tenant files in
``/dev/shm`` when it is there. Each side runs at two sizes and the difference divided by the
difference in tenants is the cost of one more tenant: cinch's own once-per-apply work (the
commit, the plan, the template) drops out.

- floor: open (WAL, NORMAL), ``BEGIN IMMEDIATE``, ``ALTER TABLE ... ADD COLUMN``, ``COMMIT``,
  close, file after file (copies of cinch's tenant files, 10 rows each);
- cinch: ``database().add_column(...)`` on one worker (threads, group commit as always),
  its pooled connections closed at the end.

A tenant's ledger grows with every change set it takes, and what a move reads of it with it:
``--history N`` makes every tenant hold N more change sets first.

    python bench/bench_apply_counted.py [--tenants 50 --tenants 150] [--history 100]

Needs Debian's ``valgrind`` (``callgrind_control`` comes with it); says so and stops without.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import callgrind  # this folder

ROWS = 10


def child(side: str, tenants: int, history: int) -> None:
    """Set up ``tenants`` tenants holding ``history`` earlier change sets, warm up, then apply
    once with instrumentation on."""
    import cinch

    work = callgrind.work_folder("cinch-apply-counted-")
    try:
        project = cinch.init(work / "cinch")
        db = project.database()
        db.create_table("users", ["name:TEXT", "email:TEXT"])
        for i in range(history):  # before the tenants: each is made holding them all
            db.add_column("users", f"h{i}:INTEGER")
        names = [f"t{i:05d}" for i in range(tenants - 1)]
        project.tenants.create_many("main", "main", names)
        files = [project.tenants.file("main", "main", n) for n in ["main", *names]]
        for path in files:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.executemany("INSERT INTO users (name, email) VALUES (?, ?)",
                             [(f"u{i}", f"u{i}@x") for i in range(ROWS)])
            conn.close()
        project.tenants.apply_workers = 1
        project.tenants.processes_from = sys.maxsize
        db.add_column("users", "warm:INTEGER")
        project.tenants.pool.close_all()
        if side == "floor":
            callgrind.instrument("on")
            for path in files:
                conn = sqlite3.connect(path, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ALTER TABLE users ADD COLUMN counted INTEGER")
                conn.execute("COMMIT")
                conn.close()
            callgrind.instrument("off")
        else:
            callgrind.instrument("on")
            db.add_column("users", "counted:INTEGER")
            project.tenants.pool.close_all()
            callgrind.instrument("off")
        project.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(side: str, tenants: int, history: int, folder: Path) -> int:
    """Instructions counted in a callgrind run of this script as a child."""
    args = ["--child", side, "--tenants", str(tenants), "--history", str(history)]
    return callgrind.count(__file__, args, folder / f"{side}-{tenants}.callgrind")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, action="append",
                        help="the two sizes (default 50 and 150)")
    parser.add_argument("--history", type=int, default=0,
                        help="change sets every tenant holds before (default 0: the table's)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.tenants[0], args.history)
        return 0
    if not callgrind.available():
        print(callgrind.MISSING)
        return 0
    small, large = sorted(args.tenants or [50, 150])
    if small == large or small < 2:
        parser.error("give two different sizes of at least 2 tenants")
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}; user-space "
          f"instructions per tenant of an add-column apply ({ROWS} rows a tenant, "
          f"{args.history + 2} change sets held), {large} - {small} tenants", flush=True)
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cinch-apply-counted-out-") as folder:
        for side in ("floor", "cinch"):
            low = measure(side, small, args.history, Path(folder))
            high = measure(side, large, args.history, Path(folder))
            per[side] = (high - low) / (large - small)
            ratio = f"  = {per[side] / per['floor']:.2f}x the floor" if side != "floor" else ""
            print(f"  {side:6s} {per[side] / 1000:9,.0f} k a tenant{ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
