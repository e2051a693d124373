"""Request counts and latencies, apply runs and live subscriptions, in Prometheus text format.

Hand-rolled (a few counters and one histogram) rather than a dependency; updated from the
event loop and from worker threads, hence the lock.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        # (method, route) -> [bucket counts..., +Inf count], sum
        self.latency: dict[tuple[str, str], list[int]] = {}
        self.latency_sum: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.apply_runs: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.live_subscriptions = 0
        self.live_pushes = 0

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            counts = self.latency.get((method, route))
            if counts is None:
                counts = self.latency[(method, route)] = [0] * (len(BUCKETS) + 1)
            counts[bisect_left(BUCKETS, seconds)] += 1
            self.latency_sum[(method, route)] += seconds

    def apply_run(self, kind: str, outcome: str) -> None:
        """A schema change, merge or tenant operation that ran (or failed) on tenants."""
        with self._lock:
            self.apply_runs[(kind, outcome)] += 1

    def live(self, delta: int = 0, pushed: int = 0) -> None:
        with self._lock:
            self.live_subscriptions += delta
            self.live_pushes += pushed

    def render(self) -> str:
        with self._lock:
            out = ["# HELP cinch_http_requests_total HTTP requests by method, route and status.",
                   "# TYPE cinch_http_requests_total counter"]
            for (method, route, status), n in sorted(self.requests.items()):
                out.append(f"cinch_http_requests_total"
                           f"{_labels(method=method, route=route, status=str(status))} {n}")
            out += ["# HELP cinch_http_request_duration_seconds HTTP request latency.",
                    "# TYPE cinch_http_request_duration_seconds histogram"]
            for (method, route), counts in sorted(self.latency.items()):
                running = 0
                for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                    running += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    out.append("cinch_http_request_duration_seconds_bucket"
                               f"{_labels(method=method, route=route, le=le)} {running}")
                labels = _labels(method=method, route=route)
                out.append(f"cinch_http_request_duration_seconds_sum{labels} "
                           f"{self.latency_sum[(method, route)]:.6f}")
                out.append(f"cinch_http_request_duration_seconds_count{labels} {running}")
            out += ["# HELP cinch_apply_runs_total Schema changes and merges applied to tenants.",
                    "# TYPE cinch_apply_runs_total counter"]
            for (kind, outcome), n in sorted(self.apply_runs.items()):
                out.append(f"cinch_apply_runs_total{_labels(kind=kind, outcome=outcome)} {n}")
            out += ["# HELP cinch_live_subscriptions Live query subscriptions now open.",
                    "# TYPE cinch_live_subscriptions gauge",
                    f"cinch_live_subscriptions {self.live_subscriptions}",
                    "# HELP cinch_live_pushes_total Live query results pushed after a change.",
                    "# TYPE cinch_live_pushes_total counter",
                    f"cinch_live_pushes_total {self.live_pushes}"]
            return "\n".join(out) + "\n"
