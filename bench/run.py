"""Every benchmark, one after the other: what ``make bench`` runs.

Each script runs as a subprocess of this interpreter (a fresh process: nothing cached between
them) and prints its own figures, each beside a floor measured in the same run, as a ratio.
The machine is described first, since absolute times only mean something on it.

    python bench/run.py            # the full sizes (1,000 and 10,000 tenants, 10,000 commits)
    python bench/run.py --quick    # small sizes, a minute or two: does everything still run?
    python bench/run.py --only history --only merge_apply
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (name, script, full-size arguments, --quick arguments)
BENCHES: list[tuple[str, str, list[str], list[str]]] = [
    ("apply", "bench_apply.py", ["--tenants", "1000", "--tenants", "10000"],
     ["--tenants", "200", "--rows", "20"]),
    ("merge", "bench_merge.py", [], ["--changes", "50", "--tenants", "500", "--runs", "2"]),
    ("merge_apply", "bench_merge_apply.py", ["--tenants", "1000", "--tenants", "10000"],
     ["--tenants", "200"]),
    ("moves", "bench_moves.py", ["--tenants", "1000", "--tenants", "10000"],
     ["--tenants", "200"]),
    ("history", "bench_history.py", [], ["--commits", "1000", "--real", "60", "--runs", "1"]),
    ("tenantstore", "bench_tenantstore.py", [], ["--tenants", "500", "--queries", "2000",
                                                  "--runs", "1"]),
    ("http", "bench_http.py", [], ["--seconds", "2", "--rows", "2000"]),
    ("parallel", "bench_parallel.py", ["--tenants", "1000", "--tenants", "10000"],
     ["--tenants", "200", "--rounds", "1"]),
    ("vs_cinchdb", "bench_vs_cinchdb.py", ["--tenants", "1000"], ["--tenants", "100"]),
    ("cli_start", "bench_cli_start.py", [], ["--runs", "3"]),
    ("hooks", "bench_hooks.py", [], ["--tenants", "20", "--runs", "2"]),
    ("adopt", "bench_adopt.py", ["--files", "1000", "--files", "10000"], ["--files", "100"]),
]


def _meminfo() -> str:
    try:
        fields = dict(line.split(":", 1) for line in
                      Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    except OSError:
        return "memory unknown"
    def gib(key: str) -> str:
        kib = int(fields.get(key, "0 kB").split()[0])
        return f"{kib / 1024 / 1024:.1f} GiB"
    return f"memory {gib('MemTotal')} total, {gib('MemAvailable')} available"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    try:
        import pygit2
        git = f"pygit2 {pygit2.__version__} (libgit2 {pygit2.LIBGIT2_VERSION})"
    except ImportError:
        git = "pygit2 missing"
    return "\n".join([
        f"machine: {platform.node()}, {platform.system()} {platform.release()}",
        f"cpu: {cpu}; {os.cpu_count()} cores ({usable} usable); load average {load}",
        _meminfo(),
        f"python {platform.python_version()} ({sys.executable}), SQLite {sqlite3.sqlite_version}"
        f", {git}",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it all runs")
    parser.add_argument("--only", action="append", choices=[b[0] for b in BENCHES],
                        help="run only these (repeatable)")
    args = parser.parse_args()
    print("# cinch benchmarks" + (" (--quick: small sizes)" if args.quick else ""))
    print(machine(), flush=True)
    env = dict(os.environ)
    env.setdefault("CINCH_AUTHOR_NAME", "bench")
    env.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE.parent), env.get("PYTHONPATH", "")) if p)
    failed = []
    started = time.perf_counter()
    for name, script, full, quick in BENCHES:
        if args.only and name not in args.only:
            continue
        argv = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n## {name}: {script} {' '.join(argv[2:])}".rstrip(), flush=True)
        start = time.perf_counter()
        rc = subprocess.run(argv, env=env, cwd=HERE.parent).returncode
        took = time.perf_counter() - start
        print(f"-- {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {took:.0f} s",
              flush=True)
        if rc != 0:
            failed.append(name)
    print(f"\n# done in {time.perf_counter() - started:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
