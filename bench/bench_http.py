"""Point queries through HTTP vs the same queries through the Python API, in one run.

    .venv/bin/python bench/bench_http.py [--seconds 5] [--connections 16] [--rows 10000]

Starts ``cinch serve`` (uvicorn, uvloop/httptools when installed) in a subprocess on a free
loopback port, then drives it from this process with a minimal keep-alive HTTP/1.1 client
(asyncio, several connections, one request in flight per connection): bounded by time and by
request count. The Python API figure is ``Tenant.query`` in a loop, in this process.
Target: >= 3,000 HTTP point queries/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
os.environ.setdefault("GIT_CONFIG_GLOBAL", os.devnull)
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")

import cinch  # noqa: E402
from cinch.server.keys import create_key  # noqa: E402
from cinch.server.state import StateStore, state_path  # noqa: E402

SQL = "SELECT id, name, n FROM items WHERE id = ?"
MAX_REQUESTS = 500_000  # a hard bound, whatever --seconds says


def make_project(folder: Path, rows: int) -> tuple[Path, list[str], str]:
    project = cinch.init(folder / "bench")
    project.database().create_table("items", ["name:TEXT", "n:INTEGER"])
    tenant = project.tenant("main")
    with tenant.transaction():
        ids = [tenant.insert("items", {"name": f"item {i}", "n": i})["id"] for i in range(rows)]
    store = StateStore(state_path(project.state_dir))
    _, secret = create_key(store, "bench", "read")
    store.close()
    project.close()
    return folder / "bench", ids, secret


def python_api(root: Path, ids: list[str], seconds: float) -> tuple[float, int]:
    with cinch.open(root) as project:
        tenant = project.tenant("main")
        done, start = 0, time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline and done < MAX_REQUESTS:
            for _ in range(200):
                tenant.query(SQL, [random.choice(ids)], read_only=True)
            done += 200
        return done / (time.perf_counter() - start), done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    cinch_bin = shutil.which("cinch", path=str(Path(sys.executable).parent))
    command = [cinch_bin] if cinch_bin else [sys.executable, "-m", "cinch.cli.app"]
    process = subprocess.Popen([*command, "-C", str(root), "serve", "--port", str(port),
                                "--rate-limit", "0", "--log-level", "warning",
                                "--workers", str(workers)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("cinch serve did not start")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its children (uvicorn workers), Linux only."""
    try:
        pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
        total = 0
        for p in pids:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def request_bytes(port: int, secret: str, item: str) -> bytes:
    body = json.dumps({"sql": SQL, "params": [item], "read_only": True}).encode()
    head = (f"POST /databases/main/tenants/main/query HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def connection(port: int, secret: str, ids: list[str], deadline: float,
                     latencies: list[float], budget: list[int]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    requests = [request_bytes(port, secret, random.choice(ids)) for _ in range(256)]
    done = 0
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            sent = time.perf_counter()
            writer.write(requests[done % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"unexpected response: {head[:200]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            if b'"rows":[[' not in body:
                raise SystemExit(f"unexpected body: {body[:200]!r}")
            latencies.append(time.perf_counter() - sent)
            done += 1
    finally:
        writer.close()
    return done


async def http_load(port: int, secret: str, ids: list[str], seconds: float,
                    connections: int) -> tuple[float, int, list[float]]:
    latencies: list[float] = []
    budget = [MAX_REQUESTS]
    # Warm up (connection pool, statement cache) before timing.
    await connection(port, secret, ids, time.perf_counter() + 0.5, [], [2000])
    start = time.perf_counter()
    counts = await asyncio.gather(*(connection(port, secret, ids, start + seconds, latencies,
                                               budget) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return sum(counts) / elapsed, sum(counts), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="cinch serve --workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, ids, secret = make_project(Path(tmp), args.rows)
        api_qps, api_n = python_api(root, ids, min(args.seconds, 3.0))
        port = free_port()
        server = start_server(root, port, args.workers)
        try:
            try:
                import uvloop

                uvloop.install()
            except ImportError:
                pass
            before = cpu_seconds(server.pid)
            qps, n, latencies = asyncio.run(http_load(port, secret, ids, args.seconds,
                                                      args.connections))
            after = cpu_seconds(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)
    latencies.sort()
    pct = {p: latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000
           for p in (50, 90, 99)}
    report = {
        "python_api_qps": round(api_qps), "python_api_queries": api_n,
        "http_qps": round(qps), "http_requests": n, "connections": args.connections,
        "server_workers": args.workers,
        "http_latency_ms": {f"p{p}": round(v, 2) for p, v in pct.items()},
        "http_mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "target_qps": 3000, "meets_target": qps >= 3000, "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    if before is not None and after is not None and n:
        # Server CPU per request (the warm-up's 2,000 requests excluded): what one core
        # sustains when nothing else competes for it, whatever the machine's load.
        per_request = (after - before) / n
        report["server_cpu_us_per_request"] = round(per_request * 1e6)
        report["server_qps_per_core"] = round(1 / per_request) if per_request else None
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
