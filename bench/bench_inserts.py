"""Inserts and point queries through cinch's Python API beside the raw sqlite3 floor, in one
process, interleaved.

The insert step of ``bench_vs_cinchdb.py``, for N tenants: per tenant ``tenant =
project.tenant(name)``, ``with tenant.transaction():`` ten ``tenant.insert("users", row)``,
``tenant.close()``, and at the end ``project.tenants.pool.close_all()``. The floor, on files of
its own holding the rows cinch stores (``id``, ``name``, ``email`` and the two timestamps, filled
by column defaults): open with WAL and ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``, ten plain
INSERTs with a uuid4 id, ``COMMIT``, close. ``narrow`` does the same on a table without the
timestamps (the floor of earlier rounds in BENCHMARKS.md). The tenants are taken in slices of
``--slice``, one tool's slice after the other's (the order swapped every round), so a load that
comes and goes falls on all alike; CPU (``time.process_time``) and wall time are summed per
tool over a round, and the best round of each is kept.

Point queries: ``tenant.rows("SELECT * FROM users WHERE id = ?", [id])`` against the floors'
``execute(...).fetchall()`` on one reused connection, 2,000 a round, interleaved the same way.

    python bench/bench_inserts.py                    # 1,000 tenants, 3 rounds
    python bench/bench_inserts.py --tenants 200 --rounds 2
    python bench/bench_inserts.py --only floor --rounds 1   # one tool (for strace -c -f)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cinch
from cinch.engine.project import Project

ROWS = 10
QUERIES = 2000
TOOLS = ["cinch", "floor", "narrow"]
_NOW = "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
TABLES = {
    "floor": ("CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT, email TEXT, "
              f"created_at TEXT NOT NULL {_NOW}, updated_at TEXT NOT NULL {_NOW})"),
    "narrow": "CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT, email TEXT)",
}


def row(t: str, i: int) -> dict[str, str]:
    return {"name": f"user {i} of {t}", "email": f"u{i}@{t}.example"}


def floor_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def cinch_inserts(p: Project, names: list[str]) -> None:
    for t in names:
        tenant = p.tenant(t)
        with tenant.transaction():
            for i in range(ROWS):
                tenant.insert("users", row(t, i))
        tenant.close()
    p.tenants.pool.close_all()


def floor_inserts(folder: Path, names: list[str]) -> None:
    for t in names:
        floor_tenant(folder / f"{t}.db", t)


def floor_tenant(path: Path | str, t: str) -> None:
    """The floor's insert step for one tenant: open, one transaction of ROWS inserts, close."""
    conn = floor_connect(Path(path))
    conn.execute("BEGIN IMMEDIATE")
    for i in range(ROWS):
        r = row(t, i)
        conn.execute("INSERT INTO users (id, name, email) VALUES (?, ?, ?)",
                     (str(uuid.uuid4()), r["name"], r["email"]))
    conn.execute("COMMIT")
    conn.close()


def timed(work: Callable[[], None]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slice", type=int, default=100, help="tenants per turn")
    parser.add_argument("--only", choices=TOOLS, help="run one tool alone")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    work = args.work or Path(tempfile.mkdtemp(prefix="cinch-inserts-"))
    names = [f"t{i:05d}" for i in range(args.tenants)]
    tools = TOOLS if args.only is None else [args.only]
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cpus; {args.tenants:,} tenants, {ROWS} rows each a round; "
          f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    try:
        p = cinch.init(work / "cinch")
        p.database().create_table("users", ["name:TEXT", "email:TEXT"])
        p.tenants.create_many("main", "main", names)
        folders = {kind: work / kind for kind in TABLES}
        for kind, folder in folders.items():
            folder.mkdir()
            for t in names:
                conn = floor_connect(folder / f"{t}.db")
                conn.execute(TABLES[kind])
                conn.close()
        os.sync()
        runners = {"cinch": lambda part: cinch_inserts(p, part),
                   "floor": lambda part: floor_inserts(folders["floor"], part),
                   "narrow": lambda part: floor_inserts(folders["narrow"], part)}
        best = {tool: (float("inf"), float("inf")) for tool in tools}
        loads = []
        for r in range(args.rounds):
            spent = dict.fromkeys(tools, (0.0, 0.0))
            order = tools if r % 2 == 0 else tools[::-1]
            for start in range(0, len(names), args.slice):
                part = names[start:start + args.slice]
                for tool in order:
                    cpu, wall = timed(lambda tool=tool, part=part: runners[tool](part))
                    spent[tool] = (spent[tool][0] + cpu, spent[tool][1] + wall)
            loads.append(os.getloadavg()[0])
            for tool in tools:
                best[tool] = (min(best[tool][0], spent[tool][0]),
                              min(best[tool][1], spent[tool][1]))
            print(f"  round {r + 1}: " + ", ".join(
                f"{tool} {spent[tool][0]:.2f} s CPU / {spent[tool][1]:.2f} s wall"
                for tool in tools) + f" (load {loads[-1]:.1f})", flush=True)
        print(f"\ninsert {ROWS} rows per tenant, {args.tenants:,} tenants "
              f"(best of {args.rounds} rounds; load average {min(loads):.1f}-{max(loads):.1f}):")
        for tool in tools:
            cpu, wall = best[tool]
            print(f"  {tool:6s}: {cpu:6.2f} s CPU ({cpu / args.tenants * 1e3:.2f} ms a tenant), "
                  f"{wall:6.2f} s wall")
        for floor in ("floor", "narrow"):
            if "cinch" in tools and floor in tools:
                print(f"  cinch / {floor}: {best['cinch'][0] / best[floor][0]:.2f} CPU, "
                      f"{best['cinch'][1] / best[floor][1]:.2f} wall")
        queries(p, folders, names[0], tools, args.rounds * 10)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def queries(p: Project, folders: dict[str, Path], name: str, tools: list[str],
            rounds: int) -> None:
    tenant = p.tenant(name)
    ids = [r["id"] for r in tenant.rows("SELECT id FROM users")]
    sql = "SELECT * FROM users WHERE id = ?"

    def cinch_loop() -> None:
        for q in range(QUERIES):
            tenant.rows(sql, [ids[q % len(ids)]])

    def floor_loop(conn: sqlite3.Connection, floor_ids: list[str]) -> Callable[[], None]:
        def loop() -> None:
            for q in range(QUERIES):
                conn.execute(sql, (floor_ids[q % len(floor_ids)],)).fetchall()
        return loop

    conns = {kind: floor_connect(folder / f"{name}.db") for kind, folder in folders.items()}
    loops = {"cinch": cinch_loop}
    for kind, conn in conns.items():
        loops[kind] = floor_loop(conn, [r[0] for r in conn.execute("SELECT id FROM users")])
    best = dict.fromkeys(tools, float("inf"))
    for tool in tools:
        loops[tool]()  # warm the statement caches
    for r in range(rounds):
        for tool in tools if r % 2 == 0 else tools[::-1]:
            best[tool] = min(best[tool], timed(loops[tool])[0])
    print(f"\n{QUERIES:,} point queries on one tenant (CPU, best of {rounds} rounds; "
          f"load average {os.getloadavg()[0]:.1f}):")
    for tool in tools:
        print(f"  {tool:6s}: {best[tool] * 1e3:6.1f} ms ({best[tool] / QUERIES * 1e6:.1f} us a "
              "query)")
    for floor in ("floor", "narrow"):
        if "cinch" in tools and floor in tools:
            print(f"  cinch / {floor}: {best['cinch'] / best[floor]:.2f}")
    tenant.close()
    for conn in conns.values():
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
