"""Point queries through HTTP vs the same queries through the Python API, in one run.

    .venv/bin/python bench/bench_http.py [--seconds 5] [--connections 16] [--clients 2]
                                         [--rows 10000] [--workers 1]

Starts ``cinch serve`` (uvicorn, uvloop/httptools when installed) in a subprocess on a free
loopback port, then drives it from ``--clients`` other processes: a raw-socket keep-alive
HTTP/1.1 client, blocking, each process with its share of ``--connections`` and one request in
flight on each (no pipelining), bounded by time and by request count. Raw blocking sockets cost
the client a send and a receive per request (an asyncio client costs several times that), so on
a small machine the client does not cap what is measured; the report gives the CPU time of both
sides per request. The Python API figure is ``Tenant.query`` in a loop, in this process.
The project is the sample SaaS project of fixtures/saas.py (accounts, users, invoices with
foreign keys, indexes and views; a merged branch and an open one), its tenants filled with
``--rows`` invoices each; the point query reads one invoice of tenant acme by id.
Target: >= 3,000 HTTP point queries/s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CINCH_AUTHOR_NAME", "bench")
os.environ.setdefault("CINCH_AUTHOR_EMAIL", "bench@localhost")
os.environ.setdefault("GIT_CONFIG_GLOBAL", os.devnull)
os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")

import cinch  # noqa: E402
from cinch.server.keys import create_key  # noqa: E402
from cinch.server.state import StateStore, state_path  # noqa: E402
from fixtures import saas  # noqa: E402

SQL = "SELECT id, number, amount_cents, status FROM invoices WHERE id = ?"
TENANT = "acme"
MAX_REQUESTS = 500_000  # a hard bound, whatever --seconds says


def make_project(folder: Path, rows: int) -> tuple[Path, list[str], str]:
    """The sample SaaS project with about ``rows`` invoices in each tenant; the ids of
    TENANT's invoices and a read key's secret."""
    accounts = max(1, rows // 100)
    built = saas.build(folder / "bench", accounts=accounts, users_per_account=2,
                       invoices_per_account=max(1, rows // accounts))
    with cinch.open(built.root) as project:
        ids = [row[0] for row in project.tenant(TENANT).query("SELECT id FROM invoices").rows]
        store = StateStore(state_path(project.state_dir))
        _, secret = create_key(store, "bench", "read")
        store.close()
    return built.root, ids, secret


def python_api(root: Path, ids: list[str], seconds: float) -> tuple[float, int]:
    with cinch.open(root) as project:
        tenant = project.tenant(TENANT)
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
    head = (f"POST /databases/main/tenants/{TENANT}/query HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def read_response(sock: socket.socket, buf: bytearray) -> bytes:
    """One HTTP/1.1 response with a Content-Length; leaves what follows in ``buf``."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        buf += chunk
    head = bytes(buf[:end])
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"unexpected response: {head[:200]!r}")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    total = end + 4 + length
    while len(buf) < total:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        buf += chunk
    body = bytes(buf[end + 4:total])
    del buf[:total]
    if b'"rows":[[' not in body:
        raise SystemExit(f"unexpected body: {body[:200]!r}")
    return body


def client(port: int, secret: str, ids: list[str], connections: int, budget: int,
           seconds: float, ready: Any, go: Any, results: Any) -> None:
    """A client process: ``connections`` keep-alive sockets, one request in flight on each."""
    socks = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
    bufs = [bytearray() for _ in socks]
    requests = [request_bytes(port, secret, random.choice(ids)) for _ in range(256)]
    for sock, buf in zip(socks, bufs, strict=True):  # warm up each connection
        sock.sendall(requests[0])
        read_response(sock, buf)
    ready.wait()
    go.wait()
    latencies = array("d")
    done = 0
    cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while done < budget and time.perf_counter() < deadline:
        sent = time.perf_counter()
        for i, sock in enumerate(socks):
            sock.sendall(requests[(done + i) % 256])
        for sock, buf in zip(socks, bufs, strict=True):
            read_response(sock, buf)
            latencies.append(time.perf_counter() - sent)
        done += len(socks)
    elapsed = time.perf_counter() - start
    results.put((done, elapsed, time.process_time() - cpu, latencies.tobytes()))
    for sock in socks:
        sock.close()


def http_load(port: int, secret: str, ids: list[str], seconds: float, connections: int,
              clients: int, server_pid: int) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    clients = max(1, min(clients, connections))
    shares = [connections // clients + (1 if i < connections % clients else 0)
              for i in range(clients)]
    ready, go, results = ctx.Barrier(clients + 1), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=client, args=(port, secret, ids, n, MAX_REQUESTS // clients,
                                              seconds, ready, go, results), daemon=True)
             for n in shares]
    for proc in procs:
        proc.start()
    ready.wait(timeout=60)
    before = cpu_seconds(server_pid)
    start = time.perf_counter()
    go.set()
    outcome = [results.get(timeout=seconds + 60) for _ in procs]
    wall = time.perf_counter() - start
    after = cpu_seconds(server_pid)
    for proc in procs:
        proc.join(timeout=10)
    n = sum(o[0] for o in outcome)
    latencies = array("d")
    for o in outcome:
        latencies.frombytes(o[3])
    return {"requests": n, "qps": n / max(o[1] for o in outcome), "wall": wall,
            "client_cpu": sum(o[2] for o in outcome),
            "server_cpu": None if before is None or after is None else after - before,
            "latencies": sorted(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16,
                        help="keep-alive connections in all (one request in flight on each)")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="cinch serve --workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, ids, secret = make_project(Path(tmp), args.rows)
        api_qps, api_n = python_api(root, ids, min(args.seconds, 3.0))
        port = free_port()
        server = start_server(root, port, args.workers)
        try:
            load = http_load(port, secret, ids, args.seconds, args.connections, args.clients,
                             server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)
    n, qps, latencies = load["requests"], load["qps"], load["latencies"]
    pct = {p: latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000
           for p in (50, 90, 99)}
    report: dict[str, Any] = {
        "python_api_qps": round(api_qps), "python_api_queries": api_n,
        "http_qps": round(qps), "http_requests": n, "connections": args.connections,
        "client_processes": args.clients, "server_workers": args.workers,
        "http_latency_ms": {f"p{p}": round(v, 2) for p, v in pct.items()},
        "http_mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "target_qps": 3000, "meets_target": qps >= 3000, "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "client_cpu_us_per_request": round(load["client_cpu"] / n * 1e6) if n else None,
    }
    if load["server_cpu"] is not None and n:
        # Server CPU per request (warm-up excluded): what one core sustains when nothing else
        # competes for it, whatever the machine's load.
        per_request = load["server_cpu"] / n
        report["server_cpu_us_per_request"] = round(per_request * 1e6)
        report["server_qps_per_core"] = round(1 / per_request) if per_request else None
        # Both sides together: the CPU a request costs on this machine.
        report["cpu_busy_during_load"] = round(
            (load["server_cpu"] + load["client_cpu"]) / load["wall"], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
