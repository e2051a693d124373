"""The insert step counted in instructions, one layer of cinch at a time, under callgrind.

Timed rounds of ``bench_inserts.py`` move with the machine's load and speed; user-space
instructions do not. Each layer below runs in a process of its own under valgrind's callgrind
with instrumentation switched on around the measured tenants only (``callgrind_control -i``
from inside), after warm-up tenants, with ``PYTHONHASHSEED=0``: the figures repeat to a few
hundred instructions a tenant. Each layer adds one part of cinch on top of the one before, so
the difference between two lines is what that part costs. Tenant files live in ``/dev/shm``
when it is there (no disk waits: only instructions are counted anyway).

    python bench/bench_insert_layers.py                  # every layer, 100 tenants
    python bench/bench_insert_layers.py --tenants 50 --layer floor --layer cinch

Needs Debian's ``valgrind`` (``callgrind_control`` comes with it); says so and stops without.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import callgrind  # this folder
from bench_inserts import ROWS, TABLES, floor_tenant, row  # the same floor as bench_inserts

WARM = 20
PLAIN = ('INSERT INTO "users" ("name", "email", "id", "created_at", "updated_at") '
         "VALUES (?, ?, ?, ?, ?)")
# (layer, what it adds to the line before)
LAYERS = [
    ("floor", "raw sqlite3 on files of its own: open (WAL, NORMAL), BEGIN IMMEDIATE, 10 INSERTs "
              "with str(uuid.uuid4()) ids, COMMIT, close"),
    ("floor_on_cinch_files", "the same loop on cinch's tenant files (ledger, trigger, defaults)"),
    ("connect", "cinch's connect() and its INSERT, id and clock (cinch's files)"),
    ("pool", "+ the pool's lease, release and close_idle"),
    ("lock", "+ the branch's shared write lock and copy-before-write's check"),
    ("handle", "+ project.tenant(), transaction(), close() around raw INSERTs"),
    ("cinch", "tenant.insert() x10: the insert step of bench_inserts.py"),
]


def child(layer: str, tenants: int) -> None:
    """Set up, warm up, then run ``layer`` on ``tenants`` tenants with instrumentation on."""
    import cinch
    from cinch.engine.row_inserts import _now, uuid4
    from cinch.stores import sqlite_conn

    work = callgrind.work_folder("cinch-layers-")
    try:
        names = [f"t{i:05d}" for i in range(WARM + tenants)]
        p = cinch.init(work / "cinch")
        p.database().create_table("users", ["name:TEXT", "email:TEXT"])
        p.tenants.create_many("main", "main", names)
        tn = p.tenants
        pool = tn.pool
        (work / "floor").mkdir()
        for t in names:
            conn = sqlite3.connect(work / "floor" / f"{t}.db", isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(TABLES["floor"])
            conn.close()

        def values(t: str, i: int) -> list[str]:
            r, stamp = row(t, i), _now()
            return [r["name"], r["email"], uuid4(), stamp, stamp]

        def raw_inserts(conn: sqlite3.Connection, t: str) -> None:
            for i in range(ROWS):
                conn.execute(PLAIN, values(t, i))

        def one(t: str) -> None:
            key = tn.file("main", "main", t)
            if layer == "floor":
                floor_tenant(work / "floor" / f"{t}.db", t)
            elif layer == "floor_on_cinch_files":
                floor_tenant(key, t)
            elif layer == "connect":
                conn = sqlite_conn.connect(key)
                conn.execute("BEGIN IMMEDIATE")
                raw_inserts(conn, t)
                conn.execute("COMMIT")
                conn.close()
            elif layer in ("pool", "lock"):
                locked = layer == "lock"
                with tn.writing("main", "main") if locked else _nothing(), \
                        pool.connection(key) as conn:
                    if locked:
                        tn.before_write("main", "main", t)
                    conn.execute("BEGIN IMMEDIATE")
                    raw_inserts(conn, t)
                    conn.execute("COMMIT")
                pool.close_idle(key)
            elif layer == "handle":
                tenant = p.tenant(t)
                with tenant.transaction():
                    assert tenant._conn is not None
                    raw_inserts(tenant._conn, t)
                tenant.close()
            else:
                tenant = p.tenant(t)
                with tenant.transaction():
                    for i in range(ROWS):
                        tenant.insert("users", row(t, i))
                tenant.close()

        for t in names[:WARM]:
            one(t)
        time.sleep(2.1)  # past the branch-tip cache's racy window, as a long script is
        callgrind.instrument("on")
        for t in names[WARM:]:
            one(t)
        pool.close_all()
        callgrind.instrument("off")
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def measure(layer: str, tenants: int, folder: Path) -> int:
    """Instructions a tenant of ``layer``, from a callgrind run of this script as a child."""
    args = ["--child", layer, "--tenants", str(tenants)]
    return callgrind.count(__file__, args, folder / f"{layer}.callgrind") // tenants


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--layer", action="append", choices=[name for name, _ in LAYERS],
                        help="a layer to count (repeatable; default every one)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.tenants)
        return 0
    if not callgrind.available():
        print(callgrind.MISSING)
        return 0
    chosen = args.layer or [name for name, _ in LAYERS]
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}; user-space "
          f"instructions a tenant ({ROWS} rows), {args.tenants} tenants after {WARM} to warm up",
          flush=True)
    counted: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="cinch-layers-out-") as folder:
        for name, what in LAYERS:
            if name not in chosen:
                continue
            counted[name] = measure(name, args.tenants, Path(folder))
            ratio = (f"{counted[name] / counted['floor']:.2f}x the floor"
                     if "floor" in counted else "")
            print(f"  {name:21s} {counted[name] / 1000:9,.0f} k  {ratio:17s}  {what}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
