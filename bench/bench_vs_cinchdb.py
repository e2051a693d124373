"""cinch beside cinchdb 0.1.24 and the raw sqlite3 floor, on one workflow, in one run.

The workflow a user of either tool meets: a project with a ``users`` table (name, email), N
tenants, 10 rows inserted into each tenant in one transaction, a ``feature`` branch, a column
added on it, the branch merged into ``main`` (every tenant of main brought to the merged schema)
and 2,000 point queries on one tenant (timed five times in a row, the best kept).

- cinch: its Python API (``cinch.init``, ``create_table``, ``tenants.create_many``, per tenant
  ``with tenant.transaction(): insert`` x10, ``create_branch``, ``add_column``, ``merge``,
  ``tenant.rows``).
- cinchdb 0.1.24 (PyPI; the 0.2.x releases are an unrelated cloud client): installed by this
  script into its own virtualenv under the work folder; skipped with a message when it cannot
  be installed (no network, say). Its API: ``init_project``, ``create_table``,
  ``create_tenant``, ``insert(*rows)``, ``create_branch``, ``add_column``, ``merge_branches``,
  ``query``.
- the floor: Python's sqlite3 alone, file by file, with cinch's durability settings (WAL,
  ``synchronous=NORMAL``): open each file and create the table; one transaction of 10 INSERTs
  per file; a branch is a copy of every file (``shutil.copyfile``); a column is one ALTER per
  file; 2,000 SELECTs on one reused connection. Its table holds the rows both tools store:
  ``id``, ``name``, ``email`` and the two timestamps each of them keeps (filled by column
  defaults), so every tool reads and writes the same data.

cinch forks a branch lazily, so its first change on the branch pays for the copies: "branch +
first change" is compared as one step with cinchdb's branch plus its add column, and with the
floor's copy plus its ALTERs. Each tool runs in a fresh process of its own, one after the other
(with ``--runs``, again in the opposite order; the best figure of each step is kept).

    python bench/bench_vs_cinchdb.py                       # 1,000 tenants
    python bench/bench_vs_cinchdb.py --tenants 1000 --tenants 10000
    python bench/bench_vs_cinchdb.py --runs 2              # best of two, order alternated
    python bench/bench_vs_cinchdb.py --work /tmp/vs        # keep the virtualenv between runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CINCHDB = "cinchdb==0.1.24"
ROWS = 10
QUERIES = 2000
QUERY_ROUNDS = 5  # the 2,000 point queries are timed this many times, the best kept

STEPS = [
    ("create", "create tenants"),
    ("insert", f"insert {ROWS} rows per tenant (one transaction)"),
    ("branch", "create branch"),
    ("add_column", "add a column on the branch"),
    ("branch_change", "branch + first change (one step)"),
    ("merge", "merge the branch into main (apply)"),
    ("queries", f"{QUERIES:,} point queries on one tenant"),
]

_COMMON = """
import json, sys, time
from pathlib import Path
work, n = Path(sys.argv[1]), int(sys.argv[2])
ROWS, QUERIES, QUERY_ROUNDS = ROWS_, QUERIES_, QUERY_ROUNDS_
names = [f"t{i:05d}" for i in range(n)]
out = {}
def row(t, i):
    return {"name": f"user {i} of {t}", "email": f"u{i}@{t}.example"}
class timed:
    def __init__(self, key):
        self.key = key
    def __enter__(self):
        self.start = time.perf_counter()
    def __exit__(self, *exc):
        out[self.key] = time.perf_counter() - self.start
def best_of(rounds, work):
    # Point queries take milliseconds: one timing is mostly noise, the best of a few is not.
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best
""".replace("ROWS_", str(ROWS)).replace("QUERY_ROUNDS_", str(QUERY_ROUNDS)).replace(
    "QUERIES_", str(QUERIES))

CINCH = _COMMON + """
import cinch
from cinch.engine.branches import create_branch
from cinch.engine.merge import merge
p = cinch.init(work / "cinch")
p.database().create_table("users", ["name:TEXT", "email:TEXT"])
with timed("create"):
    for i in range(0, n, 1000):
        p.tenants.create_many("main", "main", names[i:i + 1000])
# Each step ends by closing the pooled connections (their checkpoints), as the floor closes
# every file it opened.
with timed("insert"):
    for t in names:
        tenant = p.tenant(t)
        with tenant.transaction():
            for i in range(ROWS):
                tenant.insert("users", row(t, i))
        tenant.close()
    p.tenants.pool.close_all()
with timed("branch"):
    create_branch(p, "feature", start="main")
with timed("add_column"):
    p.database(branch="feature").add_column("users", "age:INTEGER")
    p.tenants.pool.close_all()
with timed("merge"):
    merge(p, "feature", "main")
    p.tenants.pool.close_all()
tenant = p.tenant(names[0])
ids = [r["id"] for r in tenant.rows("SELECT id FROM users")]
def queries():
    for q in range(QUERIES):
        tenant.rows("SELECT * FROM users WHERE id = ?", [ids[q % len(ids)]])
out["queries"] = best_of(QUERY_ROUNDS, queries)
print(json.dumps(out))
"""

CINCHDB_WORKFLOW = _COMMON + """
from cinchdb import connect
from cinchdb.core.initializer import init_project
from cinchdb.models import Column
root = work / "cinchdb"
root.mkdir()
init_project(root)
db = connect("main", project_dir=root)
db.create_table("users", [Column(name="name", type="TEXT"), Column(name="email", type="TEXT")])
with timed("create"):
    for t in names:
        db.create_tenant(t)
with timed("insert"):
    for t in names:
        c = connect("main", tenant=t, project_dir=root)
        c.insert("users", *[row(t, i) for i in range(ROWS)])
        c.close()
with timed("branch"):
    db.create_branch("feature")
with timed("add_column"):
    connect("main", branch="feature", project_dir=root).add_column(
        "users", Column(name="age", type="INTEGER"))
with timed("merge"):
    db.merge_branches("feature", "main")
c = connect("main", tenant=names[0], project_dir=root)
ids = [r["id"] for r in c.query("SELECT id FROM users")]
def queries():
    for q in range(QUERIES):
        c.query("SELECT * FROM users WHERE id = ?", [ids[q % len(ids)]])
out["queries"] = best_of(QUERY_ROUNDS, queries)
print(json.dumps(out))
"""

FLOOR = _COMMON + """
import shutil, sqlite3, uuid
def connect(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
main, feature = work / "floor" / "main", work / "floor" / "feature"
NOW = "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
USERS = ("CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT, email TEXT, "
         f"created_at TEXT NOT NULL {NOW}, updated_at TEXT NOT NULL {NOW})")
main.mkdir(parents=True)
files = [main / f"{t}.db" for t in names]
with timed("create"):
    for f in files:
        conn = connect(f)
        conn.execute(USERS)
        conn.close()
with timed("insert"):
    for t, f in zip(names, files):
        conn = connect(f)
        conn.execute("BEGIN IMMEDIATE")
        for i in range(ROWS):
            r = row(t, i)
            conn.execute("INSERT INTO users (id, name, email) VALUES (?, ?, ?)",
                         (str(uuid.uuid4()), r["name"], r["email"]))
        conn.execute("COMMIT")
        conn.close()
def alter(folder):
    for t in names:
        conn = connect(folder / f"{t}.db")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ALTER TABLE users ADD COLUMN age INTEGER")
        conn.execute("COMMIT")
        conn.close()
with timed("branch"):
    feature.mkdir()
    for t, f in zip(names, files):
        shutil.copyfile(f, feature / f"{t}.db")
with timed("add_column"):
    alter(feature)
with timed("merge"):
    alter(main)
conn = connect(files[0])
ids = [r[0] for r in conn.execute("SELECT id FROM users")]
def queries():
    for q in range(QUERIES):
        conn.execute("SELECT * FROM users WHERE id = ?", (ids[q % len(ids)],)).fetchall()
out["queries"] = best_of(QUERY_ROUNDS, queries)
print(json.dumps(out))
"""


def install_cinchdb(work: Path) -> Path | None:
    """The virtualenv's python with cinchdb installed, or None (and why, on stderr)."""
    venv = work / "cinchdb-venv"
    python = venv / "bin" / "python"
    marker = venv / ".cinchdb-installed"
    if marker.exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True,
                       capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", CINCHDB], check=True,
                       capture_output=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"cinchdb skipped: `pip install {CINCHDB}` failed ({exc}); "
              f"{detail.decode(errors='replace').strip()[-400:]}", file=sys.stderr)
        return None
    marker.touch()
    return python


def run(python: Path | str, script: str, work: Path, n: int) -> dict[str, float] | None:
    env = dict(os.environ)
    env.setdefault("CINCH_AUTHOR_NAME", "bench")
    env.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    work.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(python), "-c", script, str(work), str(n)], capture_output=True,
                          text=True, env=env, cwd=work)
    if proc.returncode != 0:
        print(f"failed ({python}):\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["branch_change"] = figures["branch"] + figures["add_column"]
    return figures


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def report(n: int, cinch: dict[str, float], floor: dict[str, float],
           cinchdb: dict[str, float] | None, runs: int) -> None:
    print(f"\n### {n:,} tenants, {ROWS} rows each (best of {runs} run(s) per step)")
    print("| step | cinchdb 0.1.24 | cinch | sqlite3 floor | cinch / cinchdb | cinch / floor |")
    print("|---|---|---|---|---|---|")
    for key, label in STEPS:
        other = cinchdb.get(key) if cinchdb else None
        print(f"| {label} | {f'{other:.3f} s' if other is not None else '-'} | "
              f"{cinch[key]:.3f} s | {floor[key]:.3f} s | {ratio(cinch[key], other)} | "
              f"{ratio(cinch[key], floor[key])} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, action="append",
                        help="tenant count (repeatable; default 1000)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=1,
                        help="runs of each tool, in alternating order; the best is kept")
    parser.add_argument("--no-cinchdb", action="store_true", help="cinch and the floor only")
    args = parser.parse_args()
    sizes = args.tenants or [1000]
    work = args.work or Path(tempfile.mkdtemp(prefix="cinch-vs-"))
    work.mkdir(parents=True, exist_ok=True)
    repo = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (repo, os.environ.get("PYTHONPATH", "")) if p)
    other = None if args.no_cinchdb else install_cinchdb(work)
    if other is None and not args.no_cinchdb:
        print("cinchdb could not be installed: cinch and the floor only", flush=True)
    failed = False
    try:
        for n in sizes:
            tools = [("cinch", sys.executable, CINCH), ("floor", sys.executable, FLOOR)]
            if other is not None:
                tools.insert(0, ("cinchdb", other, CINCHDB_WORKFLOW))
            best: dict[str, dict[str, float]] = {}
            loads = [os.getloadavg()[0]]
            for r in range(args.runs):
                # Alternate the order, so a load that comes and goes falls on each tool alike.
                for name, python, script in tools if r % 2 == 0 else tools[::-1]:
                    folder = work / f"n{n}" / name
                    shutil.rmtree(folder, ignore_errors=True)
                    figures = run(python, script, folder, n)
                    loads.append(os.getloadavg()[0])
                    shutil.rmtree(folder, ignore_errors=True)
                    if figures is None:
                        failed = True
                        continue
                    kept = best.setdefault(name, figures)
                    for key, value in figures.items():
                        kept[key] = min(kept[key], value)
            if "cinch" not in best or "floor" not in best:
                continue
            report(n, best["cinch"], best["floor"], best.get("cinchdb"), args.runs)
            print(f"load average {min(loads):.1f}-{max(loads):.1f} during the runs", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
