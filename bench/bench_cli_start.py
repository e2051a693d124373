"""How long the ``cinch`` command takes to start and answer on a small project.

Every command pays the interpreter's start and its imports before it does anything, so the
commands people type most (``--help``, ``status``, ``table list``) are timed whole, as a shell
runs them: wall time of the ``cinch`` console script, best of N after a warm-up run (bytecode
cached). The floor is ``python -c pass`` (the interpreter alone) and ``python -c "import typer"``
(the CLI library alone), measured in the same run. Also printed: how many modules each command
imports, and which third-party packages (tests/cli/test_startup.py holds those lists). The
warm-up run of ``status`` and ``table list`` also writes what the timed runs read from disk
for the branch head (``.cinch/cache/glance``, see cinch.engine.glance), as the first such
command after a commit does for a user.

    python bench/bench_cli_start.py              # best of 7
    python bench/bench_cli_start.py --runs 15
    python bench/bench_cli_start.py --baseline /tmp/old   # beside another checkout's cinch

With ``--baseline DIR`` (a checkout, e.g. ``git archive REV | tar -x -C DIR``) each command is
also run from DIR's ``cinch`` package, the two runs taking turns, and the ratio printed: on a
shared machine a ratio measured in one run says more than either time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = [["--help"], ["status"], ["table", "list"], ["-f", "json", "table", "list"]]
TARGET_MS = 150

_PROBE = """
import json, sys
from cinch.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
third = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] not in
                sys.stdlib_module_names and not m.startswith(("_", "cinch"))})
sys.stderr.write("@@" + json.dumps([len(sys.modules), third]))
"""


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def best_wall(argv: list[str], cwd: Path, runs: int,
              env: dict[str, str]) -> tuple[float, float, float]:
    """(best wall, median wall, best CPU) seconds of ``argv`` over ``runs`` runs, after one
    warm-up. CPU time (user + system) says the most on a machine shared with other work."""
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    times, cpu = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), _child_cpu()
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        cpu.append(_child_cpu() - cpu_start)
    times.sort()
    return times[0], times[len(times) // 2], min(cpu)


_ENTRY = "import sys; from cinch.cli.app import main; main()"


def side_by_side(args: list[str], cwd: Path, runs: int, env: dict[str, str],
                 baseline: Path) -> tuple[float, float, float, float]:
    """(best wall, best CPU) of ``cinch args`` from this checkout and from ``baseline``, their
    runs taking turns so that both meet the same load."""
    ours = [sys.executable, "-c", _ENTRY, *args]
    theirs_env = {**env, "PYTHONPATH": str(baseline)}
    walls: dict[bool, list[float]] = {True: [], False: []}
    cpus: dict[bool, list[float]] = {True: [], False: []}
    for mine in (True, False):  # warm-up: writes each checkout's bytecode
        subprocess.run(ours, cwd=cwd, env=env if mine else theirs_env, capture_output=True,
                       check=False)
    for _ in range(runs):
        for mine in (True, False):
            start, cpu_start = time.perf_counter(), _child_cpu()
            subprocess.run(ours, cwd=cwd, env=env if mine else theirs_env, capture_output=True,
                           check=False)
            walls[mine].append(time.perf_counter() - start)
            cpus[mine].append(_child_cpu() - cpu_start)
    return min(walls[True]), min(cpus[True]), min(walls[False]), min(cpus[False])


def modules(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    count, third = json.loads(proc.stderr.rsplit("@@", 1)[1])
    return count, third


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of cinch to time each command beside")
    args = parser.parse_args()
    env = {**os.environ, "CINCH_AUTHOR_NAME": "bench", "CINCH_AUTHOR_EMAIL": "bench@x.invalid",
           "COLUMNS": "100"}
    env.pop("CINCH_PROJECT", None)
    # Timed as installed: with bytecode cached (the warm-up run writes it), as pip leaves it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cinch = str(BIN / "cinch")
    with tempfile.TemporaryDirectory(prefix="cinch-bench-start-") as tmp:
        root = Path(tmp) / "acme"
        subprocess.run([cinch, "init", str(root)], env=env, capture_output=True, check=True)
        for spec in (["users", "name:TEXT", "email:TEXT:unique"], ["orders", "total:REAL"]):
            subprocess.run([cinch, "table", "create", *spec], cwd=root, env=env,
                           capture_output=True, check=True)
        subprocess.run([cinch, "tenant", "create", "t1", "t2", "t3"], cwd=root, env=env,
                       capture_output=True, check=True)
        print(f"cinch start, small project (2 tables, 4 tenants), best of {args.runs}: wall "
              f"(median wall), CPU; target {TARGET_MS} ms wall; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        floors = [("python -c pass", [sys.executable, "-c", "pass"]),
                  ("python -c 'import typer'", [sys.executable, "-c", "import typer"])]
        for label, argv in floors:
            best, median, cpu = best_wall(argv, root, args.runs, env)
            print(f"  {label:32s} {best * 1000:7.1f} ms ({median * 1000:.1f}), CPU "
                  f"{cpu * 1000:.0f} ms   floor")
        for command in COMMANDS:
            best, median, cpu = best_wall([cinch, *command], root, args.runs, env)
            count, third = modules(command, root, env)
            mark = "ok" if best * 1000 <= TARGET_MS else "over target"
            print(f"  cinch {' '.join(command):26s} {best * 1000:7.1f} ms ({median * 1000:.1f}), "
                  f"CPU {cpu * 1000:.0f} ms   {mark}; {count} modules; {' '.join(third)}")
        if args.baseline is not None:
            print(f"beside {args.baseline} (runs taking turns, best of {args.runs}): wall and "
                  f"CPU, this checkout / baseline; load average {os.getloadavg()[0]:.1f}")
            for command in COMMANDS:
                wall, cpu, base_wall, base_cpu = side_by_side(command, root, args.runs, env,
                                                              args.baseline)
                print(f"  cinch {' '.join(command):26s} wall {wall * 1000:6.1f} / "
                      f"{base_wall * 1000:6.1f} ms = {wall / base_wall:.2f}   CPU "
                      f"{cpu * 1000:4.0f} / {base_cpu * 1000:4.0f} ms = {cpu / base_cpu:.2f}")


if __name__ == "__main__":
    main()
