"""Adopting a folder of existing SQLite files, as a ratio to copying the same files.

Adoption reads every file (its schema fingerprint), records the majority schema as a change set
and registers each file as a tenant: copied into the tenant folder with its ledger and state
written inside it (on parallel workers, one fsync per file), or, ``--in-place``, linked where it
is. The floor is what no copying adoption can beat: copying the files with
``shutil.copyfile``, measured in the same run on the same files (no fsync: a lower floor still).

    python bench/bench_adopt.py --tenants 10000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cinch

SCHEMA = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE,
                       CHECK (length(name) > 0));
CREATE TABLE invoice (customer_id INTEGER NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
                      number INTEGER NOT NULL, total REAL DEFAULT 0,
                      PRIMARY KEY (customer_id, number)) WITHOUT ROWID;
CREATE INDEX invoice_total ON invoice(total) WHERE total > 0;
CREATE TRIGGER customer_named AFTER UPDATE ON customer BEGIN SELECT 1; END;
"""


def make_files(folder: Path, count: int, rows: int) -> None:
    folder.mkdir(parents=True)
    template = folder.parent / "template.db"
    with sqlite3.connect(template) as conn:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO customer(name) VALUES (?)",
                         [(f"customer {n}",) for n in range(rows)])
        conn.executemany("INSERT INTO invoice VALUES (?, ?, ?)",
                         [(n + 1, n, n * 1.5) for n in range(rows)])
    conn.close()
    for i in range(count):
        shutil.copyfile(template, folder / f"t{i:05d}.db")


def run(count: int, rows: int, mode: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="cinch-bench-adopt-") as tmp:
        base = Path(tmp)
        files = base / "files"
        make_files(files, count, rows)
        start = time.perf_counter()
        copies = base / "copies"
        copies.mkdir()
        for path in sorted(files.glob("*.db")):
            shutil.copyfile(path, copies / path.name)
        copied = time.perf_counter() - start
        start = time.perf_counter()
        project = cinch.init(base / "project")
        result = project.adopt(files, mode=mode)
        adopted = time.perf_counter() - start
        assert sum(f.adopted for f in result.files) == count
        project.close()
    return {"copy": copied, "adopt": adopted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", "--files", dest="tenants", type=int, action="append",
                        help="How many files to adopt (repeat; default 10,000)")
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--in-place", action="store_true", help="Adopt in place (links)")
    args = parser.parse_args()
    mode = "in_place" if args.in_place else "copy"
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f} at start, mode {mode}")
    print("| files | copy (s) | adopt (s) | adopt / copy | per file (ms) | load after |")
    print("|---:|---:|---:|---:|---:|---:|")
    for count in args.tenants or [10_000]:
        t = run(count, args.rows, mode)
        print(f"| {count:,} | {t['copy']:.2f} | {t['adopt']:.2f} | {t['adopt'] / t['copy']:.1f}x "
              f"| {t['adopt'] / count * 1000:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
