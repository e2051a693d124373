"""Tenants at scale: create, add column, table rebuild and point queries, against raw sqlite3.

Every figure is printed beside the raw-sqlite3 floor measured in the same run, as a ratio
(machines are shared and noisy: absolute times drift, ratios hold).

    python bench/bench_apply.py --tenants 1000 --tenants 10000 --rows 100
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import cinch

QUERIES = 10_000


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def floor_apply(files: list[Path], change_sets: list[list[str]], rebuild: bool = False) -> None:
    """The same SQL with Python's sqlite3 alone: file by file, one transaction per change set."""
    for path in files:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if rebuild:
            conn.execute("PRAGMA foreign_keys=OFF")
        for statements in change_sets:
            conn.execute("BEGIN IMMEDIATE")
            for sql in statements:
                conn.execute(sql)
            conn.execute("COMMIT")
        conn.close()


def floor_create(folder: Path, names: list[str], schema: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        conn = sqlite3.connect(folder / f"{name}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN")
        for sql in schema:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.close()


def fill(files: list[Path], rows: int) -> None:
    for path in files:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO users(name, email, age) VALUES (?, ?, ?)",
                         [(f"user{i}", f"u{i}@example.com", i % 90) for i in range(rows)])
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()


def run(n: int, rows: int, work: Path) -> list[tuple[str, float, float]]:
    os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
    project = cinch.init(work / f"p{n}")
    db = project.database()
    db.create_table("users", ["name:TEXT", "email:TEXT", "age:INTEGER"])
    names = [f"t{i:05d}" for i in range(n)]
    schema = db.schema_sql().split(";\n")[:-1]
    schema = [s.split("\n", 3)[-1] if s.startswith("--") else s for s in schema]

    t_create = timed(lambda: project.tenants.create_many("main", "main", names))
    t_create_floor = timed(lambda: floor_create(work / f"floor-create{n}", names, schema))

    files = [project.tenants.store.path("main", "main", name) for name in names]
    fill(files, rows)
    floor_dir = work / f"floor{n}"
    shutil.copytree(files[0].parent, floor_dir)
    floor_files = [floor_dir / f.name for f in files]
    project.close()
    project = cinch.open(project.root)
    db = project.database()

    result = db.add_column("users", "nick:TEXT", dry_run=True)
    t_add_floor = timed(lambda: floor_apply(floor_files, [result.sql]))
    t_add = timed(lambda: db.add_column("users", "nick:TEXT"))

    result = db.alter_column("users", "age", type="REAL", dry_run=True)
    t_rebuild_floor = timed(lambda: floor_apply(floor_files, [result.sql], rebuild=True))
    t_rebuild = timed(lambda: db.alter_column("users", "age", type="REAL"))

    tenant = project.tenant(names[0])
    ids = [r["id"] for r in tenant.rows("SELECT id FROM users")]
    picks = [random.choice(ids) for _ in range(QUERIES)]
    sql = "SELECT * FROM users WHERE id = ?"
    tenant.query(sql, [picks[0]], read_only=True)

    def api_queries() -> None:
        for i in picks:
            tenant.query(sql, [i], read_only=True)

    raw = sqlite3.connect(floor_files[0], isolation_level=None)

    def raw_queries() -> None:
        for i in picks:
            raw.execute(sql, [i]).fetchall()

    raw_queries()
    # Interleaved, best of five each: one pass is ~0.2 s, short enough for a scheduler hiccup
    # on a shared machine to dominate a single timing.
    floor_runs, api_runs = [], []
    for _ in range(5):
        floor_runs.append(timed(raw_queries))
        api_runs.append(timed(api_queries))
    t_q_floor, t_q = min(floor_runs), min(api_runs)
    raw.close()
    project.close()
    return [
        (f"create {n} tenants", t_create, t_create_floor),
        (f"add column x {n}", t_add, t_add_floor),
        (f"rebuild x {n}", t_rebuild, t_rebuild_floor),
        (f"{QUERIES} point queries", t_q, t_q_floor),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, action="append")
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args()
    sizes = args.tenants or [1000, 10000]
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cores")
    print(f"{'what':<28}{'cinch s':>10}{'floor s':>10}{'ratio':>8}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="cinch-bench-") as tmp:
            for what, ours, floor in run(n, args.rows, Path(tmp)):
                print(f"{what:<28}{ours:>10.3f}{floor:>10.3f}{ours / floor:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
