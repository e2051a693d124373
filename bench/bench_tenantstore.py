"""Benchmark the tenant store: tenant creation from a template, and pooled point queries.

Run: ``.venv/bin/python bench/bench_tenantstore.py [--tenants 10000] [--queries 10000]``.
Everything happens in a temporary folder that is removed afterwards (it needs ~2 GB while the
benchmark runs). Each figure is the best of several runs (the machine may be shared); dirty
pages are flushed between runs so one run's writeback does not slow the next.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cinch.stores import tenantstore as ts

SCHEMA = [
    [
        "CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE)",
        "CREATE TABLE invoice(id INTEGER PRIMARY KEY, "
        "customer_id INTEGER NOT NULL REFERENCES customer(id), total REAL NOT NULL)",
    ],
    ["CREATE INDEX invoice_customer ON invoice(customer_id)"],
    ["CREATE VIEW big_invoice AS SELECT * FROM invoice WHERE total > 1000"],
]


def make_template(folder: Path) -> Path:
    path = folder / "template.db"
    conn = ts.connect(path)
    for n, statements in enumerate(SCHEMA):
        ts.apply_change(conn, f"01CHANGE{n}", f"commit{n}", statements)
    conn.close()
    ts.finalize_template(path)
    return path


def best_of(runs: int, setup: Callable[[], object], work: Callable[[object], None]) -> float:
    best = float("inf")
    for _ in range(runs):
        arg = setup()
        os.sync()
        start = time.perf_counter()
        work(arg)
        best = min(best, time.perf_counter() - start)
    return best


def bench_create(tmp: Path, template: Path, count: int, runs: int) -> tuple[float, float]:
    names = [f"tenant{i:05d}" for i in range(count)]
    roots: list[Path] = []

    def fresh_store() -> ts.TenantStore:
        # Earlier runs are not deleted until the end: on a VM, memory freed by deleting 10,000
        # cached files is handed back to the host, and faulting it in again makes the next run
        # several times slower, measuring the hypervisor instead of the store.
        roots.append(tmp / f"tenants{len(roots)}")
        return ts.TenantStore(roots[-1])

    def one_by_one(store: object) -> None:
        assert isinstance(store, ts.TenantStore)
        create = store.create_from_template
        for name in names:
            create(template, "main", "main", name)

    def bulk(store: object) -> None:
        assert isinstance(store, ts.TenantStore)
        store.create_many_from_template(template, "main", "main", names)

    single = many = float("inf")
    for _ in range(runs):  # interleaved, so background load hits both alike
        single = min(single, best_of(1, fresh_store, one_by_one))
        many = min(many, best_of(1, fresh_store, bulk))
    # Spot-check the result of the last run.
    store = ts.TenantStore(roots[-1])
    assert len(store.list("main", "main")) == count
    with store.connection("main", "main", names[-1], read_only=True) as conn:
        assert ts.read_ledger(conn) == [f"01CHANGE{n}" for n in range(len(SCHEMA))]
    store.pool.close_all()
    return single, many


def bench_queries(tmp: Path, template: Path, count: int, rounds: int) -> dict[str, float]:
    """Seconds per query for each way of running a point query.

    The loops are interleaved in short slices and the best slice counts, so that load from
    other processes on a shared machine inflates none of them more than the others.
    """
    store = ts.TenantStore(tmp / "query-tenants")
    path = store.create_from_template(template, "main", "main", "acme")
    with store.connection("main", "main", "acme") as conn:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO customer(id, name, email) VALUES (?, ?, ?)",
            [(i, f"name {i}", f"c{i}@example.com") for i in range(count)],
        )
        conn.execute("COMMIT")
        ts.checkpoint(conn)
    sql = "SELECT id, name, email FROM customer WHERE id = ?"
    slice_ids = list(range(0, count, max(1, count // 1000)))[:1000]

    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA journal_mode=WAL")
    pool = store.pool
    held = pool.acquire(path, True)

    def raw_loop() -> None:
        execute = raw.execute
        for i in slice_ids:
            execute(sql, (i,)).fetchone()

    def held_loop() -> None:
        execute = held.execute
        for i in slice_ids:
            execute(sql, (i,)).fetchone()

    def pooled_loop() -> None:
        connection = pool.connection
        for i in slice_ids:
            with connection(path, True) as conn:
                conn.execute(sql, (i,)).fetchone()

    def guarded_loop() -> None:
        connection, run = pool.connection, ts.run_query
        for i in slice_ids:
            with connection(path, True) as conn:
                run(conn, sql, (i,), read_only=True)

    def guarded_rw_loop() -> None:
        connection, run = pool.connection, ts.run_query
        for i in slice_ids:
            with connection(path) as conn:
                run(conn, sql, (i,))

    loops = {
        "raw sqlite3, one reused connection": raw_loop,
        "pooled connection held, execute": held_loop,
        "pool.connection() per query + execute": pooled_loop,
        "pool.connection() per query + run_query (read-only)": guarded_loop,
        "pool.connection() per query + run_query (read-write)": guarded_rw_loop,
    }
    best = dict.fromkeys(loops, float("inf"))
    for loop in loops.values():
        loop()  # warm the statement caches and the pool
    for _ in range(rounds):
        for label, loop in loops.items():
            start = time.perf_counter()
            loop()
            best[label] = min(best[label], time.perf_counter() - start)
    pool.release(held)
    raw.close()
    store.pool.close_all()
    return {label: seconds / len(slice_ids) for label, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory(prefix="cinch-bench-") as name:
        tmp = Path(name)
        template = make_template(tmp)
        size = template.stat().st_size
        single, many = bench_create(tmp, template, args.tenants, args.runs)
        print(f"\ncreate {args.tenants} tenants from a {size // 1024} KiB template "
              f"(best of {args.runs}):")
        print(f"  create_from_template, one call each : {single:6.3f} s "
              f"({single / args.tenants * 1e6:5.1f} us/tenant)")
        print(f"  create_many_from_template (2 threads): {many:6.3f} s "
              f"({many / args.tenants * 1e6:5.1f} us/tenant)")

        results = bench_queries(tmp, template, args.queries, rounds=50)
        base = next(iter(results.values()))
        print(f"\npoint queries by primary key on a {args.queries}-row table "
              "(best 1,000-query slice of 50):")
        for label, seconds in results.items():
            print(f"  {label:52s}: {seconds * 1e6:5.2f} us/query (x{seconds / base:4.2f}), "
                  f"{seconds * args.queries * 1e3:5.1f} ms per {args.queries}")


if __name__ == "__main__":
    main()
